//! The per-account rate limit: a token bucket per `client-id`, refilled at
//! `rate` tokens per second up to `burst`. Wall-clock based, like the real thing.

use std::collections::HashMap;
use std::time::{Duration, Instant};

pub(crate) struct RateLimiter {
    rate: Option<f64>,
    burst: u32,
    buckets: HashMap<String, Bucket>,
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// A usable rate: positive and finite; anything else means "no limit".
pub(crate) fn usable_rate(rate: Option<f64>) -> Option<f64> {
    rate.filter(|r| r.is_finite() && *r > 0.0)
}

impl RateLimiter {
    pub fn new(rate: Option<f64>, burst: u32) -> Self {
        RateLimiter {
            rate: usable_rate(rate),
            burst,
            buckets: HashMap::new(),
        }
    }

    pub fn rate(&self) -> Option<f64> {
        self.rate
    }

    pub fn burst(&self) -> u32 {
        self.effective_burst()
    }

    fn effective_burst(&self) -> u32 {
        match (self.burst, self.rate) {
            (0, Some(r)) => (r.ceil() as u32).max(1),
            (0, None) => 1,
            (b, _) => b,
        }
    }

    /// Replaces the limit; every account starts with a full bucket again.
    pub fn set(&mut self, rate: Option<f64>, burst: Option<u32>) {
        self.rate = usable_rate(rate);
        if let Some(b) = burst {
            self.burst = b;
        }
        self.buckets.clear();
    }

    /// Takes one token for `account`, or says how long until one is there.
    pub fn check(&mut self, account: &str, now: Instant) -> Result<(), Duration> {
        let Some(rate) = self.rate else {
            return Ok(());
        };
        let burst = f64::from(self.effective_burst());
        let bucket = self.buckets.entry(account.to_owned()).or_insert(Bucket {
            tokens: burst,
            last: now,
        });
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            // A tiny rate gives a huge wait; saturate instead of overflowing.
            Err(Duration::try_from_secs_f64((1.0 - bucket.tokens) / rate).unwrap_or(Duration::MAX))
        }
    }
}

/// `Retry-After` in whole seconds, rounded up, at least 1.
pub(crate) fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs_f64().ceil() as u64).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_refills() {
        let mut rl = RateLimiter::new(Some(2.0), 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(rl.check("a", t0).is_ok());
        }
        let wait = rl.check("a", t0).unwrap_err();
        assert_eq!(retry_after_secs(wait), 1);
        // Another account has its own bucket.
        assert!(rl.check("b", t0).is_ok());
        // Half a second later one token is back.
        assert!(rl.check("a", t0 + Duration::from_millis(500)).is_ok());
        assert!(rl.check("a", t0 + Duration::from_millis(500)).is_err());
    }

    #[test]
    fn no_or_bad_rate_means_unlimited() {
        for rate in [None, Some(0.0), Some(-1.0), Some(f64::NAN)] {
            let mut rl = RateLimiter::new(rate, 1);
            let t0 = Instant::now();
            assert!((0..100).all(|_| rl.check("a", t0).is_ok()));
        }
        let mut glacial = RateLimiter::new(Some(1e-300), 1);
        let t0 = Instant::now();
        assert!(glacial.check("a", t0).is_ok());
        assert_eq!(glacial.check("a", t0), Err(Duration::MAX));
        let slow = RateLimiter::new(Some(0.1), 0);
        assert_eq!(slow.burst(), 1);
        assert_eq!(retry_after_secs(Duration::from_secs_f64(9.2)), 10);
    }
}
