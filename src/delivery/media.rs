//! A campaign's captured media, materialised once per campaign into the
//! runner's temporary cache directory (content-addressed by SHA-256) so every
//! send uploads the same bytes that were captured at load time. The cache is
//! `wutt-media-<pid>-…` in the temporary directory; a runner that was killed
//! cannot remove its own, so each start sweeps those of dead processes.

use std::path::Path;

use anyhow::Context as _;
use sqlx::PgPool;

use crate::queue::control;
use crate::wutt::{MediaFile, MediaKind};

/// Prefix of the cache directories.
const PREFIX: &str = "wutt-media-";

/// Creates this runner's cache directory (removed when dropped), after
/// sweeping the caches left behind by runners that no longer exist.
pub fn cache_dir() -> std::io::Result<tempfile::TempDir> {
    sweep_stale(&std::env::temp_dir());
    tempfile::Builder::new()
        .prefix(&format!("{PREFIX}{}-", std::process::id()))
        .tempdir()
}

/// Removes `wutt-media-<pid>-*` directories in `dir` whose process is gone.
/// Directories of a foreign shape are left alone.
pub fn sweep_stale(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<i32>().ok())
        else {
            continue;
        };
        if pid > 0 && !alive(pid) && std::fs::remove_dir_all(entry.path()).is_ok() {
            removed += 1;
        }
    }
    if removed > 0 {
        tracing::info!(removed, "removed media caches of runners that were killed");
    }
    removed
}

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists; nothing is sent.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweeps_the_caches_of_dead_runners_only() {
        let tmp = tempfile::tempdir().unwrap();
        let dead = tmp.path().join(format!("{PREFIX}{}-abc", i32::MAX - 7));
        let mine = tmp
            .path()
            .join(format!("{PREFIX}{}-def", std::process::id()));
        let other = tmp.path().join("wutt-media-notapid");
        for d in [&dead, &mine, &other] {
            std::fs::create_dir(d).unwrap();
            std::fs::write(d.join("blob"), b"x").unwrap();
        }
        assert_eq!(sweep_stale(tmp.path()), 1);
        assert!(!dead.exists());
        assert!(mine.exists() && other.exists());
    }
}
