//! Progress of a run: an indicatif bar on a terminal (sent / failed / left,
//! rate, ETA), plain log lines every few seconds otherwise (cron, systemd).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use super::shared::Stats;

pub struct Progress {
    bar: Option<ProgressBar>,
    started: Instant,
    last_log: Instant,
    every: Duration,
}

impl Progress {
    /// A bar when `tty`, log lines every `every` otherwise.
    pub fn new(tty: bool, every: Duration) -> Self {
        let bar = tty.then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:30} {pos}/{len} {msg} [{elapsed_precise}, ETA {eta}]",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        Progress {
            bar,
            started: Instant::now(),
            last_log: Instant::now(),
            every,
        }
    }

    /// Shows the counters; `left` is what is still due now.
    pub fn update(&mut self, stats: &Stats, left: i64) {
        let sent = stats.sent.load(Ordering::Relaxed);
        let failed = stats.failed.load(Ordering::Relaxed);
        let unknown = stats.unknown.load(Ordering::Relaxed);
        let retrying = stats.retrying.load(Ordering::Relaxed);
        let done = sent + failed + unknown;
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let rate = stats.answered() as f64 / secs;
        let left = u64::try_from(left).unwrap_or(0);
        let msg = format!(
            "sent {sent} failed {failed} unknown {unknown} retrying {retrying} left {left} ({rate:.1}/s)"
        );
        match &self.bar {
            Some(bar) => {
                bar.set_length(done + left);
                bar.set_position(done);
                bar.set_message(msg);
            }
            None => {
                if self.last_log.elapsed() >= self.every {
                    self.last_log = Instant::now();
                    tracing::info!("progress: {msg}");
                }
            }
        }
    }

    pub fn finish(&mut self, stats: &Stats) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
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
