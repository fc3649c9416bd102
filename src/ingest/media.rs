//! Capturing a campaign's media when it is loaded: the manifest's paths are
//! checked by [`Manifest::media`] (inside the campaign's folder, accepted type,
//! size limit) and read here, so the drop folder can change afterwards without
//! changing what is sent.

use std::path::Path;

use crate::campaign::Problem;
use crate::campaign::manifest::Manifest;
use crate::queue::load::NewMedia;

/// Reads every media file the manifest names; all problems are returned.
pub fn capture(manifest: &Manifest, dir: &Path) -> Result<Vec<NewMedia>, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut media = Vec::new();
    for m in manifest.media(dir)? {
        match std::fs::read(&m.path) {
            Ok(content) => media.push(NewMedia {
                kind: m.kind.field(),
                file_name: m.file_name,
                mime_type: m.mime_type,
                content,
            }),
            Err(e) => problems.push(Problem {
                manifest: None,
                line: None,
                column: Some(m.kind.field().into()),
                value: Some(m.path.display().to_string()),
                reason: format!("cannot read: {e}"),
            }),
        }
    }
    if problems.is_empty() {
        Ok(media)
    } else {
        Err(problems)
    }
}
