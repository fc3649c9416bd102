//! How many requests may be in flight. The limit follows the account's rate
//! and the latency the API shows (Little's law: in flight = rate × latency),
//! with headroom, between a small floor and the ceiling `WUTT_CONCURRENCY`:
//! a fast API needs few slots, a slow one many, and nobody has to work out
//! the number by hand. When the ceiling is what holds the rate back, the
//! runner says so once, with the number to set.
//!
//! A slot is a semaphore permit, held from the claim until the answer is
//! written: when every slot is free, every send is recorded, and a crash
//! leaves at most the slots in use `unknown`. The limit moves by adding
//! permits and by forgetting free ones; a permit in use is forgotten on a
//! later adjustment, once it comes back.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;

/// Slots beyond rate × latency × [`HEADROOM`], for the claim-to-send wait
/// and the time an answer takes to be written.
const EXTRA: usize = 4;
/// Headroom over the rate × latency product.
const HEADROOM: f64 = 1.25;
/// The latency assumed before any answer was seen.
const FIRST_GUESS: Duration = Duration::from_millis(500);
/// Weight of a new latency sample in the moving average.
const ALPHA: f64 = 0.05;

/// The in-flight slots of one runner.
pub struct InFlight {
    slots: Arc<Semaphore>,
    ceiling: usize,
    state: Mutex<State>,
    warned: AtomicBool,
}

struct State {
    /// Permits that exist (free or in use).
    total: usize,
    /// Moving average of the time one send takes, in seconds.
    latency: f64,
}

/// What the limit is now and why.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Level {
    /// The slots in existence now.
    pub limit: usize,
    /// What rate × latency asks for (may exceed the ceiling).
    pub wanted: usize,
    pub latency: Duration,
}

impl InFlight {
    /// Slots for `rate` messages per second, at most `ceiling`.
    pub fn new(ceiling: usize, rate: f64) -> InFlight {
        let ceiling = ceiling.max(1);
        let first = wanted(rate, FIRST_GUESS.as_secs_f64()).min(ceiling);
        InFlight {
            slots: Arc::new(Semaphore::new(first)),
            ceiling,
            state: Mutex::new(State {
                total: first,
                latency: FIRST_GUESS.as_secs_f64(),
            }),
            warned: AtomicBool::new(false),
        }
    }

    /// The semaphore the dispatchers take their slots from.
    pub fn slots(&self) -> &Arc<Semaphore> {
        &self.slots
    }

    /// The most slots there can be (`WUTT_CONCURRENCY`).
    pub fn ceiling(&self) -> usize {
        self.ceiling
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Slots in use now.
    pub fn in_use(&self) -> usize {
        let total = self.state().total;
        total.saturating_sub(self.slots.available_permits())
    }

    /// Notes how long one send took (the HTTP call).
    pub fn observe(&self, took: Duration) {
        let mut st = self.state();
        st.latency += ALPHA * (took.as_secs_f64() - st.latency);
    }

    /// Moves the limit towards what `rate` and the observed latency ask for.
    /// `busy` says whether work is waiting for slots (the ceiling then holds
    /// the rate back, which is said once).
    pub fn adjust(&self, rate: f64, busy: bool) -> Level {
        let mut st = self.state();
        let want = wanted(rate, st.latency);
        let target = want.min(self.ceiling);
        if target > st.total {
            self.slots.add_permits(target - st.total);
            st.total = target;
        } else if target < st.total {
            st.total -= self.slots.forget_permits(st.total - target);
        }
        let level = Level {
            limit: st.total,
            wanted: want,
            latency: Duration::from_secs_f64(st.latency.max(0.0)),
        };
        drop(st);
        if busy && want > self.ceiling && !self.warned.swap(true, Ordering::SeqCst) {
            let reach = self.ceiling as f64 / level.latency.as_secs_f64().max(1e-3);
            tracing::warn!(
                "WUTT_CONCURRENCY={} holds sending to about {:.0} messages/s: the API takes {} ms to answer and WUTT_RATE allows {rate}/s; set WUTT_CONCURRENCY={want} (or more) to reach it",
                self.ceiling,
                reach,
                level.latency.as_millis(),
            );
        }
        crate::metrics::set_in_flight_limit(level.limit);
        level
    }

    /// Waits until every slot in existence is free (every send answered and
    /// recorded). Call once nothing adjusts the limit any more.
    pub async fn drain(&self) {
        let total = self.state().total;
        let _ = self.slots.acquire_many(total as u32).await;
    }
}

/// Slots for `rate` per second at `latency` seconds each, with headroom.
fn wanted(rate: f64, latency: f64) -> usize {
    let product = if rate.is_finite() && latency.is_finite() {
        (rate.max(0.0) * latency.max(0.0) * HEADROOM).ceil()
    } else {
        0.0
    };
    (product.min(1e6) as usize) + EXTRA
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_follows_rate_times_latency_up_to_the_ceiling() {
        let f = InFlight::new(2000, 1000.0);
        assert_eq!(f.adjust(1000.0, false).limit, 629, "first guess: 500 ms");
        for _ in 0..200 {
            f.observe(Duration::from_millis(300));
        }
        let level = f.adjust(1000.0, true);
        assert!(
            (378..=395).contains(&level.limit),
            "about 1000 × 0.3 × 1.25 + 4: {level:?}"
        );
        assert_eq!(f.slots().available_permits(), level.limit);
        let small = f.adjust(20.0, false);
        assert!(small.limit < 20, "{small:?}");
        let capped = InFlight::new(16, 1000.0);
        for _ in 0..200 {
            capped.observe(Duration::from_millis(300));
        }
        let level = capped.adjust(1000.0, true);
        assert_eq!(level.limit, 16);
        assert!(level.wanted > 300);
    }

    #[tokio::test]
    async fn slots_in_use_are_forgotten_once_they_come_back() {
        let f = InFlight::new(100, 100.0);
        let level = f.adjust(100.0, false);
        let held = f
            .slots()
            .clone()
            .acquire_many_owned(level.limit as u32)
            .await
            .unwrap();
        for _ in 0..500 {
            f.observe(Duration::from_millis(10));
        }
        assert_eq!(f.adjust(100.0, false).limit, level.limit, "all in use");
        assert_eq!(f.in_use(), level.limit);
        drop(held);
        let lower = f.adjust(100.0, false);
        assert!(lower.limit < level.limit, "{lower:?}");
        assert_eq!(f.in_use(), 0);
        f.drain().await;
    }

    #[test]
    fn nonsense_rates_and_latencies_give_the_floor() {
        assert_eq!(wanted(f64::NAN, 0.3), EXTRA);
        assert_eq!(wanted(1000.0, f64::INFINITY), EXTRA);
        assert_eq!(wanted(-5.0, 0.3), EXTRA);
    }
}
