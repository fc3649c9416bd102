//! A campaign's captured media, materialised once per campaign into the
//! runner's temporary cache directory (content-addressed by SHA-256) so every
//! send uploads the same bytes that were captured at load time.

use std::path::Path;

use anyhow::Context as _;
use sqlx::PgPool;

use crate::queue::control;
use crate::wutt::{MediaFile, MediaKind};

fn kind(name: &str) -> Option<MediaKind> {
    MediaKind::ALL.into_iter().find(|k| k.field() == name)
}

/// Writes the campaign's media into `cache` (once per blob) and describes them.
pub async fn materialise(
    pool: &PgPool,
    campaign_id: i64,
    cache: &Path,
) -> anyhow::Result<Vec<MediaFile>> {
    let mut files = Vec::new();
    for m in control::media(pool, campaign_id).await? {
        let Some(kind) = kind(&m.kind) else {
            anyhow::bail!(
                "campaign {campaign_id} has media of unknown kind {:?}",
                m.kind
            );
        };
        let path = cache.join(hex::encode(&m.sha256));
        if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
            let bytes = control::media_content(pool, &m.sha256).await?;
            let tmp = cache.join(format!("{}.part", hex::encode(&m.sha256)));
            tokio::fs::write(&tmp, &bytes)
                .await
                .with_context(|| format!("writing media cache {}", tmp.display()))?;
            tokio::fs::rename(&tmp, &path).await?;
        }
        files.push(MediaFile {
            kind,
            path,
            file_name: m.file_name,
            mime_type: m.mime_type,
        });
    }
    Ok(files)
}
