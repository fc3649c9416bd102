//! Progress of a long load: a spinner with the row count on a terminal, else a
//! log line every 5 seconds or 100,000 rows (cron mails stay short).

use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// Rows processed so far, reported as the terminal or the log prefers.
pub struct Progress {
    file: String,
    bar: Option<ProgressBar>,
    rows: u64,
    last_log: Instant,
    last_logged_rows: u64,
}

impl Progress {
    pub fn new(file: &str) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} {pos} rows ({per_sec}, {elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_message(file.to_string());
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Progress {
            file: file.to_string(),
            bar,
            rows: 0,
            last_log: Instant::now(),
            last_logged_rows: 0,
        }
    }

    /// One more row.
    pub fn row(&mut self) {
        self.rows += 1;
        if !self.rows.is_multiple_of(4096) {
            return;
        }
        if let Some(bar) = &self.bar {
            bar.set_position(self.rows);
        } else if self.rows - self.last_logged_rows >= 100_000
            || self.last_log.elapsed() >= Duration::from_secs(5)
        {
            tracing::info!(file = %self.file, rows = self.rows, "loading");
            self.last_log = Instant::now();
            self.last_logged_rows = self.rows;
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
