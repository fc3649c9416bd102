//! The inbox as a runner ingests it: one pass now ([`Inbox::ingest`]), and the
//! daemon's watcher ([`Inbox::watch`]) that loads new files on file events,
//! with a polling fallback, until told to stop.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use sqlx::PgPool;

use super::{CampaignsDir, IngestOptions};
use crate::wutt;

/// The drop folder of a runner, with what loading needs.
#[derive(Clone)]
pub struct Inbox {
    pub dir: CampaignsDir,
    pub opts: IngestOptions,
    pub pool: PgPool,
    pub client: Option<wutt::Client>,
}

impl Inbox {
    pub fn new(
        dir: CampaignsDir,
        opts: IngestOptions,
        pool: PgPool,
        client: Option<wutt::Client>,
    ) -> Inbox {
        Inbox {
            dir,
            opts,
            pool,
            client,
        }
    }

    /// Loads every ready file; problems are logged, never fatal to sending.
    pub async fn ingest(&self) {
        match super::ingest_inbox(&self.pool, &self.dir, &self.opts, self.client.as_ref()).await {
            Ok(s) => {
                // Each loaded campaign was logged by the loader already.
                for (file, problems) in &s.rejected {
                    tracing::warn!(%file, problems, "file rejected (see rejected/)");
                }
            }
            Err(err) => tracing::error!(error = %format!("{err:#}"), "ingesting the inbox failed"),
        }
    }

    /// Daemon: loads new inbox files on file events (after the settle time),
    /// and looks again every two settle times without one, until `stop`
    /// completes.
    pub async fn watch(self, stop: impl Future<Output = ()> + Send) {
        use notify::Watcher as _;
        let path: PathBuf = self.dir.inbox();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let watcher = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
            if ev.is_ok() {
                let _ = tx.send(());
            }
        });
        let _watcher = match watcher {
            Ok(mut w) => match w.watch(&path, notify::RecursiveMode::NonRecursive) {
                Ok(()) => Some(w),
                Err(err) => {
                    tracing::info!(inbox = %path.display(), error = %err, "not watching the inbox; polling it");
                    None
                }
            },
            Err(_) => None,
        };
        let settle = self.opts.settle.max(Duration::from_millis(500));
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = &mut stop => return,
                _ = rx.recv() => {
                    // Let the file settle before looking again.
                    tokio::time::sleep(settle).await;
                    while rx.try_recv().is_ok() {}
                }
                () = tokio::time::sleep(settle * 2) => {}
            }
            self.ingest().await;
        }
    }
}
