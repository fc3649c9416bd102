//! Progress of a run: on a terminal one indicatif bar per campaign being sent
//! (done of total, sent / failed / left, rate, ETA); otherwise (cron, systemd)
//! plain log lines every few seconds, one per campaign.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::shared::Stats;

/// A campaign of the current pass: its name, what is still due now, and its
/// counters in this run.
pub struct CampaignLeft {
    pub id: i64,
    pub name: String,
    pub left: i64,
    pub stats: Arc<Stats>,
}

/// What is shown of one campaign.
struct Shown {
    name: String,
    left: u64,
    stats: Arc<Stats>,
    since: Instant,
    bar: Option<ProgressBar>,
}

impl Shown {
    fn line(&self) -> Line {
        let sent = self.stats.sent.load(Ordering::Relaxed);
        let failed = self.stats.failed.load(Ordering::Relaxed);
        let unknown = self.stats.unknown.load(Ordering::Relaxed);
        let retrying = self.stats.retrying.load(Ordering::Relaxed);
        let secs = self.since.elapsed().as_secs_f64().max(0.001);
        Line {
            done: sent + failed + unknown,
            msg: format!(
                "sent {sent} failed {failed} unknown {unknown} retrying {retrying} left {} ({:.1}/s)",
                self.left,
                self.stats.answered() as f64 / secs
            ),
        }
    }
}

struct Line {
    done: u64,
    msg: String,
}

pub struct Progress {
    /// The bars, on a terminal.
    multi: Option<MultiProgress>,
    campaigns: BTreeMap<i64, Shown>,
    /// When each campaign was first shown (its rate is counted from there).
    first_seen: HashMap<i64, Instant>,
    started: Instant,
    last_log: Instant,
    every: Duration,
}

impl Progress {
    /// Bars when `tty`, log lines every `every` otherwise.
    pub fn new(tty: bool, every: Duration) -> Self {
        Self::with(tty.then(MultiProgress::new), every)
    }

    fn with(multi: Option<MultiProgress>, every: Duration) -> Self {
        Progress {
            multi,
            campaigns: BTreeMap::new(),
            first_seen: HashMap::new(),
            started: Instant::now(),
            last_log: Instant::now(),
            every,
        }
    }

    fn bar(multi: &MultiProgress, name: &str) -> ProgressBar {
        let bar = multi.add(ProgressBar::new(0));
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:20!} {bar:30} {pos}/{len} {msg} [{elapsed_precise}, ETA {eta}]",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_prefix(name.to_string());
        bar
    }

    /// Shows the counters of each campaign. `campaigns` is what the pass saw
    /// (`left` = still due now); `None` when the pass stopped early (the
    /// account's Retry-After, the daily budget): the campaigns shown stay,
    /// with what was last known to be left.
    pub fn update(&mut self, campaigns: Option<Vec<CampaignLeft>>) {
        if let Some(list) = campaigns {
            let mut seen = BTreeMap::new();
            for c in list {
                let shown = self.campaigns.remove(&c.id).unwrap_or_else(|| Shown {
                    bar: self.multi.as_ref().map(|m| Self::bar(m, &c.name)),
                    name: c.name.clone(),
                    left: 0,
                    stats: c.stats.clone(),
                    since: *self.first_seen.entry(c.id).or_insert_with(Instant::now),
                });
                seen.insert(
                    c.id,
                    Shown {
                        left: u64::try_from(c.left).unwrap_or(0),
                        stats: c.stats,
                        ..shown
                    },
                );
            }
            // Campaigns no longer sent by this process: their bars go.
            for shown in std::mem::replace(&mut self.campaigns, seen).into_values() {
                if let Some(bar) = shown.bar {
                    bar.finish_and_clear();
                }
            }
        }
        let log = self.multi.is_none() && self.last_log.elapsed() >= self.every;
        if log {
            self.last_log = Instant::now();
        }
        for shown in self.campaigns.values() {
            let line = shown.line();
            match &shown.bar {
                Some(bar) => {
                    bar.set_length(line.done + shown.left);
                    bar.set_position(line.done);
                    bar.set_message(line.msg);
                }
                None if log => {
                    tracing::info!(campaign = %shown.name, "progress: {}", line.msg);
                }
                None => {}
            }
        }
    }

    pub fn finish(&mut self, stats: &Stats) {
        for shown in std::mem::take(&mut self.campaigns).into_values() {
            if let Some(bar) = shown.bar {
                bar.finish_and_clear();
            }
        }
        if let Some(multi) = self.multi.take() {
            let _ = multi.clear();
        }
        tracing::info!(
            sent = stats.sent.load(Ordering::Relaxed),
            failed = stats.failed.load(Ordering::Relaxed),
            unknown = stats.unknown.load(Ordering::Relaxed),
            retrying = stats.retrying.load(Ordering::Relaxed),
            requeued = stats.requeued.load(Ordering::Relaxed),
            released = stats.released.load(Ordering::Relaxed),
            seconds = self.started.elapsed().as_secs_f64(),
            "run finished"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::claim::Resolution;
    use indicatif::ProgressDrawTarget;

    fn left(id: i64, left: i64, stats: &Arc<Stats>) -> CampaignLeft {
        CampaignLeft {
            id,
            name: format!("c{id}"),
            left,
            stats: stats.clone(),
        }
    }

    #[test]
    fn one_bar_per_running_campaign_with_its_own_counts() {
        let hidden = MultiProgress::with_draw_target(ProgressDrawTarget::hidden());
        let mut p = Progress::with(Some(hidden), Duration::ZERO);
        let (a, b) = (Arc::new(Stats::default()), Arc::new(Stats::default()));
        for _ in 0..3 {
            a.count(&Resolution::Sent);
        }
        b.count(&Resolution::Failed);
        p.update(Some(vec![left(1, 7, &a), left(2, 1, &b)]));
        let bar = |p: &Progress, id| p.campaigns[&id].bar.clone().unwrap();
        assert_eq!((bar(&p, 1).position(), bar(&p, 1).length()), (3, Some(10)));
        assert_eq!(bar(&p, 1).prefix(), "c1");
        assert!(
            bar(&p, 1)
                .message()
                .starts_with("sent 3 failed 0 unknown 0 retrying 0 left 7")
        );
        assert!(bar(&p, 2).message().starts_with("sent 0 failed 1"));
        // A pass that stopped early keeps what is shown; a full pass drops
        // the campaigns no longer running.
        p.update(None);
        assert_eq!(p.campaigns.len(), 2);
        a.count(&Resolution::Sent);
        p.update(Some(vec![left(1, 6, &a)]));
        assert_eq!(p.campaigns.keys().copied().collect::<Vec<_>>(), vec![1]);
        assert_eq!((bar(&p, 1).position(), bar(&p, 1).length()), (4, Some(10)));
        p.finish(&Stats::default());
        assert!(p.campaigns.is_empty());
    }
}
