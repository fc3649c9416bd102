//! The drop folder: scanning the inbox, settle time, hashing, the atomic load,
//! moving files.
//!
//! - [`ingest_inbox`]: what `run --once` (and the daemon on each rescan) calls;
//!   [`watch::Inbox`]: the daemon's watcher of the inbox.
//! - [`load_file`]: one file now (`load FILE`); [`dry_run`]: the same, writing
//!   and moving nothing.
//! - [`folder`]: `inbox/`, `processed/`, `rejected/`, readiness, safe moves.
//! - [`source`], [`stream`], [`classify`]: reading, streaming and deciding states.
//! - [`templates`]: `template_id`s and template variables checked against
//!   the account's template list; [`media`]: captured media.

pub mod classify;
pub mod dry_run;
pub mod folder;
pub mod loader;
pub mod media;
pub mod problems;
pub mod progress;
pub mod source;
pub mod stream;
pub mod templates;
pub mod watch;

use std::time::Duration;

use sqlx::PgPool;

use crate::wutt;

pub use classify::StateCounts;
pub use dry_run::{DryRunReport, dry_run};
pub use folder::CampaignsDir;
pub use loader::{LoadError, LoadOutcome, Loaded, load_file};
pub use problems::ProblemList;
pub use watch::Inbox;

/// How files are ingested.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// A file is ready once unchanged for this long (default 5 s).
    pub settle: Duration,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            settle: Duration::from_secs(5),
        }
    }
}

/// What one pass over the inbox did.
#[derive(Debug, Default)]
pub struct IngestSummary {
    pub loaded: Vec<Loaded>,
    /// File name and number of problems.
    pub rejected: Vec<(String, u64)>,
    /// File name and the campaign it duplicates.
    pub duplicates: Vec<(String, i64)>,
    /// Files another runner was handling at the same time.
    pub taken_by_others: usize,
    /// Files still changing (picked up by a later pass).
    pub unsettled: usize,
    /// Files left in the inbox because of a runtime error (retried next pass).
    pub errors: Vec<(String, String)>,
}

/// Ingests every ready file of the inbox, creating the folders when missing.
/// A runtime error on one file (database gone, disk full) leaves that file in
/// the inbox for the next pass and is reported in `errors`.
pub async fn ingest_inbox(
    pool: &PgPool,
    dir: &CampaignsDir,
    opts: &IngestOptions,
    client: Option<&wutt::Client>,
) -> anyhow::Result<IngestSummary> {
    use anyhow::Context as _;
    dir.ensure()
        .with_context(|| format!("creating the drop folder {}", dir.root.display()))?;
    let scan = dir
        .scan(opts.settle)
        .with_context(|| format!("reading {}", dir.inbox().display()))?;
    let mut summary = IngestSummary {
        unsettled: scan.unsettled,
        ..Default::default()
    };
    // Each outcome is logged once, here or by the runner (which logs the
    // rejected files of the summary).
    for (path, reason) in scan.hostile {
        let name = display_name(&path);
        tracing::debug!(file = %name, %reason, "rejected");
        if loader::reject_hostile(dir, &path, &reason)?.is_some() {
            summary.rejected.push((name, 1));
        }
    }
    for (csv, _manifest) in scan.ready {
        let name = display_name(&csv);
        match load_file(pool, dir, &csv, opts, client).await {
            Ok(LoadOutcome::Loaded(l)) => {
                log_loaded(&name, &l);
                summary.loaded.push(l)
            }
            Ok(LoadOutcome::Rejected { problems, .. }) => {
                summary.rejected.push((name, problems.total()))
            }
            Ok(LoadOutcome::Duplicate { campaign_id, .. }) => {
                tracing::warn!(file = %name, campaign = campaign_id,
                    "same content as an existing campaign; not loaded again (see rejected/)");
                summary.duplicates.push((name, campaign_id))
            }
            Ok(LoadOutcome::TakenByOther { .. } | LoadOutcome::Gone) => {
                summary.taken_by_others += 1
            }
            Err(e) => {
                tracing::error!(file = %name, error = %e, "not loaded; will retry");
                summary.errors.push((name, e.to_string()));
            }
        }
    }
    Ok(summary)
}

/// One line per loaded campaign with its counts, then its warnings.
fn log_loaded(file: &str, l: &Loaded) {
    let c = &l.counts;
    tracing::info!(campaign = l.campaign_id, name = %l.name, %file, queued = c.queued,
        invalid = c.invalid, duplicate = c.duplicate, suppressed = c.suppressed,
        "campaign loaded");
    for w in &l.warnings {
        tracing::warn!(campaign = l.campaign_id, %file, "{w}");
    }
    if c.invalid > 0 && loader::mostly_invalid(c).is_some() {
        tracing::warn!(campaign = l.campaign_id, %file,
            "the invalid rows and why: wutt-campaign report id:{} --recipients --state invalid",
            l.campaign_id);
    }
}

fn display_name(p: &std::path::Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}
