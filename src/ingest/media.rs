//! Capturing a campaign's media when it is loaded: each path of the manifest is
//! checked (relative, inside the campaign's folder, even through symlinks; an
//! accepted type within its size limit) and read, so the drop folder can change
//! afterwards without changing what is sent.
//!
//! TODO: switch to `Manifest::media(dir)` once the campaign domain provides it;
//! these checks are the same contract.

use std::path::{Component, Path};

use crate::campaign::Problem;
use crate::campaign::manifest::Manifest;
use crate::queue::load::NewMedia;
use crate::wutt::MediaKind;

/// Reads every media file the manifest names; all problems are returned.
pub fn capture(manifest: &Manifest, dir: &Path) -> Result<Vec<NewMedia>, Vec<Problem>> {
    let mut media = Vec::new();
    let mut problems = Vec::new();
    let entries = [
        (MediaKind::Image, &manifest.image),
        (MediaKind::Document, &manifest.document),
        (MediaKind::Video, &manifest.video),
        (MediaKind::Audio, &manifest.audio),
    ];
    for (kind, path) in entries {
        let Some(rel) = path else { continue };
        match capture_one(kind, rel, dir) {
            Ok(m) => media.push(m),
            Err(reason) => problems.push(Problem {
                line: None,
                column: Some(kind.field().into()),
                value: Some(rel.display().to_string()),
                reason,
            }),
        }
    }
    if problems.is_empty() {
        Ok(media)
    } else {
        Err(problems)
    }
}

fn capture_one(kind: MediaKind, rel: &Path, dir: &Path) -> Result<NewMedia, String> {
    if rel.is_absolute() {
        return Err("an absolute path; give a path relative to the manifest".into());
    }
    if rel
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err("a path that leaves the campaign's folder (`..`)".into());
    }
    let folder = dir
        .canonicalize()
        .map_err(|e| format!("cannot resolve the campaign's folder: {e}"))?;
    let full = folder
        .join(rel)
        .canonicalize()
        .map_err(|e| format!("cannot open: {e}"))?;
    if !full.starts_with(&folder) {
        return Err("a symlink that leads outside the campaign's folder".into());
    }
    let file_name = full
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or("the file name is not valid UTF-8")?
        .to_string();
    let mime = kind.mime_for(&file_name).ok_or_else(|| {
        let exts: Vec<&str> = kind.accepted().iter().map(|(e, _)| *e).collect();
        format!(
            "not an accepted {} type ({})",
            kind.field(),
            exts.join(", ")
        )
    })?;
    let size = std::fs::metadata(&full)
        .map_err(|e| format!("cannot open: {e}"))?
        .len();
    if size > kind.max_bytes() {
        return Err(format!(
            "{size} bytes is over the {} limit of {} bytes",
            kind.field(),
            kind.max_bytes()
        ));
    }
    let content = std::fs::read(&full).map_err(|e| format!("cannot read: {e}"))?;
    Ok(NewMedia {
        kind: kind.field(),
        file_name,
        mime_type: mime.to_string(),
        content,
    })
}
