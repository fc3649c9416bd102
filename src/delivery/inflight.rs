//! How many requests may be in flight. The limit follows the account's rate
//! and the latency the API shows (Little's law: in flight = rate × latency),
//! with headroom, between a small floor and the ceiling `WUTT_CONCURRENCY`:
//! a fast API needs few slots, a slow one many, and nobody has to work out
//! the number by hand. When the ceiling is what holds the rate back, the
//! runner says so once, with the number to set.
//!
//! A [`Slot`] is a semaphore permit, held by one request from the moment the
//! dispatch gate lets it go until its answer is handed to the recorder: the
//! slots bound what the API sees at once, and when every slot is free every
//! answer is with the recorder. "Latency" here is how long the HTTP call
//! took ([`Slot::answered`]), the API's own time, which is what Little's law
//! counts for requests in flight.
//! The claim, the gate and the writing of answers are database work, bounded
//! elsewhere (a claim is one batch; the recorder's backlog is bounded). The
//! limit moves by adding permits and by forgetting free ones; a permit in
//! use is forgotten on a later adjustment, once it comes back.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// Slots beyond rate × latency × [`HEADROOM`], for the moments between a
/// slot coming back and the next request taking it.
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
    /// Notified whenever a slot comes back.
    returned: Arc<Notify>,
    ceiling: usize,
    state: Arc<Mutex<State>>,
    warned: AtomicBool,
}

/// One in-flight slot. Dropping it gives the slot back and notes how long
/// it was held.
pub struct Slot {
    permit: Option<OwnedSemaphorePermit>,
    since: Instant,
    /// How long the request took, once it was answered.
    took: Option<f64>,
    state: Arc<Mutex<State>>,
    returned: Arc<Notify>,
}

impl Slot {
    /// Notes that the request was answered: the latency the limit follows
    /// is the API's, not the wait for the answer to be written.
    pub fn answered(&mut self) {
        self.took.get_or_insert(self.since.elapsed().as_secs_f64());
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let held = self
            .took
            .unwrap_or_else(|| self.since.elapsed().as_secs_f64());
        drop(self.permit.take());
        {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            st.latency += ALPHA * (held - st.latency);
        }
        self.returned.notify_waiters();
    }
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
            returned: Arc::new(Notify::new()),
            ceiling,
            state: Arc::new(Mutex::new(State {
                total: first,
                latency: FIRST_GUESS.as_secs_f64(),
            })),
            warned: AtomicBool::new(false),
        }
    }

    /// Waits for a free slot (`None` once the slots are closed).
    pub async fn acquire(&self) -> Option<Slot> {
        let permit = self.slots.clone().acquire_owned().await.ok()?;
        Some(self.slot(permit))
    }

    /// A free slot, if there is one now.
    pub fn try_acquire(&self) -> Option<Slot> {
        let permit = self.slots.clone().try_acquire_owned().ok()?;
        Some(self.slot(permit))
    }

    fn slot(&self, permit: OwnedSemaphorePermit) -> Slot {
        Slot {
            permit: Some(permit),
            since: Instant::now(),
            took: None,
            state: self.state.clone(),
            returned: self.returned.clone(),
        }
    }

    /// Free slots now.
    pub fn available(&self) -> usize {
        self.slots.available_permits()
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

    /// Moves the limit towards what `rate` and the observed latency ask for.
    /// `busy` says whether work is waiting for slots (the ceiling then holds
    /// the rate back, which is said once).
    pub fn adjust(&self, rate: f64, busy: bool) -> Level {
        let mut st = self.state();
        let want = wanted(rate, st.latency);
        // Every slot taken: the latency is only learnt when slots come back,
        // so a slow API would hold the rate down for a round trip or two.
        // Grow by half meanwhile, as a slow start does; the throttle still
        // bounds what is sent, and the limit settles once answers arrive.
        let grown = if busy { st.total + st.total / 2 } else { 0 };
        let target = want.max(grown).min(self.ceiling);
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

    /// Waits until no slot is in use (takes none: a send may start again
    /// right after).
    pub async fn idle(&self) {
        loop {
            let returned = self.returned.notified();
            if self.in_use() == 0 {
                return;
            }
            returned.await;
        }
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

    /// Notes `n` slots held for `took` each, as dropped slots would.
    fn held_for(f: &InFlight, took: Duration, n: usize) {
        let mut st = f.state();
        for _ in 0..n {
            st.latency += ALPHA * (took.as_secs_f64() - st.latency);
        }
    }

    #[test]
    fn the_limit_follows_rate_times_latency_up_to_the_ceiling() {
        let f = InFlight::new(2000, 1000.0);
        assert_eq!(f.adjust(1000.0, false).limit, 629, "first guess: 500 ms");
        held_for(&f, Duration::from_millis(300), 200);
        let level = f.adjust(1000.0, false);
        assert!(
            (378..=395).contains(&level.limit),
            "about 1000 × 0.3 × 1.25 + 4: {level:?}"
        );
        let grown = f.adjust(1000.0, true);
        assert_eq!(
            grown.limit,
            level.limit * 3 / 2,
            "every slot taken: grow by half"
        );
        assert_eq!(
            f.adjust(1000.0, false).limit,
            level.limit,
            "and settle back"
        );
        assert_eq!(f.available(), level.limit);
        let small = f.adjust(20.0, false);
        assert!(small.limit < 20, "{small:?}");
        let capped = InFlight::new(16, 1000.0);
        held_for(&capped, Duration::from_millis(300), 200);
        let level = capped.adjust(1000.0, true);
        assert_eq!(level.limit, 16);
        assert!(level.wanted > 300);
    }

    #[tokio::test]
    async fn slots_in_use_are_forgotten_once_they_come_back() {
        let f = InFlight::new(100, 100.0);
        let level = f.adjust(100.0, false);
        let held: Vec<Slot> = (0..level.limit).map(|_| f.try_acquire().unwrap()).collect();
        assert!(f.try_acquire().is_none());
        held_for(&f, Duration::from_millis(10), 500);
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
