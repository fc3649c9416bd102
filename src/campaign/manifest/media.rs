//! Media files named by a manifest, checked before anything is queued: the
//! path stays inside the manifest's folder (relative, no `..`, no symbolic
//! link leading out), names a regular file with an accepted extension and
//! respects the kind's documented size limit.

use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};

use super::Manifest;
use crate::campaign::Problem;
use crate::campaign::media::MediaKind;

/// A media file that passed every check, located by its canonical path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedMedia {
    pub kind: MediaKind,
    /// Canonical (symbolic links resolved), inside the manifest's folder.
    pub path: PathBuf,
    /// The file's own name, as uploaded.
    pub file_name: String,
    pub mime_type: String,
    pub size: u64,
}

impl Manifest {
    /// The manifest's media paths, resolved against `manifest_dir` (the folder
    /// the manifest is in). Every problem is returned, each naming its key.
    pub fn media(&self, manifest_dir: &Path) -> Result<Vec<ResolvedMedia>, Vec<Problem>> {
        let mut found = Vec::new();
        let mut problems = Vec::new();
        for kind in MediaKind::ALL {
            let Some(path) = self.media_path(kind) else {
                continue;
            };
            match resolve(kind, path, manifest_dir) {
                Ok(media) => found.push(media),
                Err(reason) => problems.push(Problem {
                    manifest: None,
                    line: None,
                    column: Some(kind.field().to_string()),
                    value: Some(path.display().to_string()),
                    reason,
                }),
            }
        }
        if problems.is_empty() {
            Ok(found)
        } else {
            Err(problems)
        }
    }

    /// The path written for `kind`, if any.
    pub fn media_path(&self, kind: MediaKind) -> Option<&Path> {
        match kind {
            MediaKind::Image => self.image.as_deref(),
            MediaKind::Document => self.document.as_deref(),
            MediaKind::Video => self.video.as_deref(),
            MediaKind::Audio => self.audio.as_deref(),
        }
    }
}

fn resolve(kind: MediaKind, path: &Path, dir: &Path) -> Result<ResolvedMedia, String> {
    if path.as_os_str().is_empty() {
        return Err("is empty".into());
    }
    if path.has_root() || path.is_absolute() {
        return Err(
            "must be a path relative to the manifest's folder, not an absolute path".into(),
        );
    }
    if path.components().any(|c| c == Component::ParentDir) {
        return Err("must not contain `..`: media must stay inside the campaign's folder".into());
    }
    let folder = dir
        .canonicalize()
        .map_err(|e| format!("cannot open the manifest's folder: {e}"))?;
    let target = folder
        .join(path)
        .canonicalize()
        .map_err(|e| match e.kind() {
            ErrorKind::NotFound => "file not found (or a symbolic link to nothing)".to_string(),
            _ => format!("cannot open: {e}"),
        })?;
    if !target.starts_with(&folder) {
        return Err("leads outside the campaign's folder through a symbolic link".into());
    }
    let meta = target.metadata().map_err(|e| format!("cannot open: {e}"))?;
    if !meta.is_file() {
        return Err("is not a regular file".into());
    }
    let file_name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let accepted = || {
        let exts: Vec<_> = kind.accepted().iter().map(|(ext, _)| *ext).collect();
        exts.join(", ")
    };
    let mime_type = kind.mime_for(&file_name).ok_or_else(|| {
        format!(
            "{file_name:?} is not an accepted {} type (accepted: {})",
            kind.field(),
            accepted()
        )
    })?;
    let size = meta.len();
    if size == 0 {
        return Err("the file is empty".into());
    }
    if size > kind.max_bytes() {
        return Err(format!(
            "the file is {size} bytes; the limit for {} is {} bytes",
            kind.field(),
            kind.max_bytes()
        ));
    }
    Ok(ResolvedMedia {
        kind,
        path: target,
        file_name,
        mime_type: mime_type.to_string(),
        size,
    })
}
