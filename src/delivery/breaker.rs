//! The error-rate circuit breaker: per campaign, over a sliding window of the
//! last N results, if at least a share of them failed *the same way* (same
//! outcome class and remark or HTTP status), the campaign is paused. A window,
//! not a lifetime count: a campaign that had a bad minute an hour ago is not
//! punished for it now.

use std::collections::{HashMap, VecDeque};

use crate::wutt::{Outcome, OutcomeClass};

/// Breaker settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerConfig {
    /// How many recent results are looked at (the window must be full to trip).
    pub window: usize,
    /// Share of the window (0..=1) that must have failed the same way.
    pub threshold: f64,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            window: 50,
            threshold: 0.8,
        }
    }
}

/// How a result failed, for counting "the same way". `None` for results that
/// say nothing about the campaign (success, throttling, account refusal —
/// which pauses on its own).
pub fn failure_key(outcome: &Outcome) -> Option<String> {
    let class = outcome.class();
    match class {
        OutcomeClass::Success
        | OutcomeClass::Throttled
        | OutcomeClass::RecipientThrottled
        | OutcomeClass::CampaignRefused
        | OutcomeClass::AccountRefused => None,
        OutcomeClass::Rejected | OutcomeClass::Transient | OutcomeClass::Ambiguous => {
            let reply = outcome.reply();
            let detail = reply
                .envelope
                .as_ref()
                .map(|e| {
                    if e.remark.is_empty() {
                        e.message.join(" ")
                    } else {
                        e.remark.clone()
                    }
                })
                .or_else(|| reply.http_status.map(|s| format!("HTTP {s}")))
                .unwrap_or_else(|| "no answer".into());
            Some(format!("{} ({detail})", class.as_str()))
        }
    }
}

/// The sliding window of one campaign.
#[derive(Debug, Clone)]
pub struct Breaker {
    config: BreakerConfig,
    recent: VecDeque<Option<String>>,
    counts: HashMap<String, usize>,
}

impl Breaker {
    pub fn new(config: BreakerConfig) -> Self {
        Breaker {
            config: BreakerConfig {
                window: config.window.max(1),
                threshold: config.threshold.clamp(0.0, 1.0),
            },
            recent: VecDeque::new(),
            counts: HashMap::new(),
        }
    }

    /// Records one result (`None` = not a failure). Returns the pause reason
    /// when the window is full and one failure kind reaches the threshold.
    pub fn record(&mut self, key: Option<String>) -> Option<String> {
        if let Some(k) = &key {
            *self.counts.entry(k.clone()).or_default() += 1;
        }
        self.recent.push_back(key);
        if self.recent.len() > self.config.window
            && let Some(Some(old)) = self.recent.pop_front()
            && let Some(c) = self.counts.get_mut(&old)
        {
            *c -= 1;
            if *c == 0 {
                self.counts.remove(&old);
            }
        }
        if self.recent.len() < self.config.window {
            return None;
        }
        let (kind, n) = self.counts.iter().max_by_key(|(_, n)| **n)?;
        let share = *n as f64 / self.recent.len() as f64;
        (share >= self.config.threshold && *n > 0).then(|| {
            format!(
                "circuit breaker: {n} of the last {} sends failed the same way: {kind}",
                self.recent.len()
            )
        })
    }

    /// Forgets the window (after the campaign is resumed).
    pub fn reset(&mut self) {
        self.recent.clear();
        self.counts.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> BreakerConfig {
        BreakerConfig {
            window: 10,
            threshold: 0.8,
        }
    }

    #[test]
    fn trips_on_a_full_window_of_the_same_failure() {
        let mut b = Breaker::new(cfg());
        for _ in 0..7 {
            assert_eq!(b.record(Some("rejected (invalid)".into())), None);
        }
        assert_eq!(b.record(None), None);
        assert_eq!(b.record(None), None, "window not full yet");
        assert_eq!(b.record(None), None, "7 of 10 is below 80%");
        let tripped = b.record(Some("rejected (invalid)".into()));
        assert_eq!(
            tripped, None,
            "the oldest failure left the window: still 7 of 10"
        );
        let mut b = Breaker::new(cfg());
        b.record(None);
        b.record(None);
        let mut tripped = None;
        for _ in 0..8 {
            tripped = b.record(Some("rejected (invalid)".into()));
        }
        assert!(tripped.unwrap().contains("8 of the last 10"));
    }

    #[test]
    fn different_failures_and_old_failures_do_not_trip() {
        let mut b = Breaker::new(cfg());
        for i in 0..10 {
            let k = if i % 2 == 0 {
                "transient (HTTP 500)"
            } else {
                "rejected (x)"
            };
            assert_eq!(b.record(Some(k.into())), None);
        }
        let mut b = Breaker::new(cfg());
        for _ in 0..7 {
            b.record(Some("rejected (x)".into()));
        }
        for _ in 0..100 {
            assert_eq!(b.record(None), None, "a window, not a lifetime count");
        }
    }
}
