//! The server's clock as its answers show it: the offset between the Wutt
//! server's clock and ours, estimated from the `Date` header of every answer
//! the client receives (one estimate per client, that is per base URL).
//!
//! A `Date` says the server's time in whole seconds, at some moment between
//! the request leaving and the answer arriving. So one answer says: the
//! offset (server − ours) lies in `[date − received, date + 1 − sent]`. Every
//! answer gives such an interval; the true offset lies in all of them, so
//! the estimate is their intersection, walked from the newest answer back as
//! long as they agree (a server whose clock jumped starts a new estimate).
//! [`Offset::uncertainty`] is half the width of what is left: about half a
//! second after one answer, less after many.

use std::collections::VecDeque;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

/// Answers kept.
const KEEP: usize = 64;

/// Answers older than this (relative to the newest) no longer narrow the
/// estimate: clocks drift, and a server may be replaced.
const MAX_AGE_SECS: i64 = 900;

/// Added to each side of an answer's interval: a server or proxy may write
/// a `Date` read from a clock cached a few milliseconds earlier.
const SLACK_SECS: f64 = 0.05;

/// The measured offset of the server's clock.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Offset {
    /// Seconds the server's clock is ahead of ours (negative: behind).
    pub secs: f64,
    /// Half-width of the interval the offset is known to lie in, seconds.
    pub uncertainty: f64,
    /// Answers the estimate rests on.
    pub samples: usize,
    /// When the newest of them arrived (our clock).
    pub measured_at: DateTime<Utc>,
}

impl Offset {
    /// Our time `t` on the server's clock, in (fractional) Unix seconds.
    pub fn server_secs(&self, t: DateTime<Utc>) -> f64 {
        unix_secs(t) + self.secs
    }

    /// The earliest our time `t` can have been on the server's clock.
    pub fn server_secs_earliest(&self, t: DateTime<Utc>) -> f64 {
        self.server_secs(t) - self.uncertainty
    }

    /// The latest our time `t` can have been on the server's clock.
    pub fn server_secs_latest(&self, t: DateTime<Utc>) -> f64 {
        self.server_secs(t) + self.uncertainty
    }
}

/// Fractional Unix seconds of a time.
pub fn unix_secs(t: DateTime<Utc>) -> f64 {
    t.timestamp() as f64 + f64::from(t.timestamp_subsec_nanos()) / 1e9
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Sample {
    lo: f64,
    hi: f64,
    received: DateTime<Utc>,
}

/// The running estimate of one server's clock. Shared by clones of the client.
#[derive(Debug, Default)]
pub struct ServerClock {
    samples: Mutex<VecDeque<Sample>>,
}

impl ServerClock {
    pub fn new() -> Self {
        ServerClock::default()
    }

    /// One answer: sent at `sent`, its headers arrived at `received` (our
    /// clock), with this `Date` value, if any. An answer without a readable
    /// `Date` teaches nothing.
    pub fn observe(&self, sent: DateTime<Utc>, received: DateTime<Utc>, date: Option<&str>) {
        let Some(date) = date.and_then(parse_http_date) else {
            return;
        };
        if received < sent {
            return;
        }
        let server = date.timestamp() as f64;
        let sample = Sample {
            lo: server - unix_secs(received) - SLACK_SECS,
            hi: server + 1.0 - unix_secs(sent) + SLACK_SECS,
            received,
        };
        let mut samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        if samples.len() == KEEP {
            samples.pop_front();
        }
        samples.push_back(sample);
    }

    /// The estimate now, or `None` when no answer carried a `Date` in the
    /// last [`MAX_AGE_SECS`].
    pub fn estimate(&self) -> Option<Offset> {
        self.estimate_at(Utc::now())
    }

    fn estimate_at(&self, now: DateTime<Utc>) -> Option<Offset> {
        let samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        let newest = *samples.back()?;
        if (now - newest.received).num_seconds() > MAX_AGE_SECS {
            return None;
        }
        let (mut lo, mut hi, mut used) = (newest.lo, newest.hi, 1);
        for s in samples.iter().rev().skip(1) {
            if (newest.received - s.received).num_seconds() > MAX_AGE_SECS {
                break;
            }
            let (l, h) = (lo.max(s.lo), hi.min(s.hi));
            if l > h {
                // This answer disagrees with the newer ones: the server's
                // clock moved; what came before no longer counts.
                break;
            }
            (lo, hi, used) = (l, h, used + 1);
        }
        Some(Offset {
            secs: (lo + hi) / 2.0,
            uncertainty: (hi - lo) / 2.0,
            samples: used,
            measured_at: newest.received,
        })
    }
}

/// An HTTP date (`Wed, 02 Dec 2026 10:11:12 GMT`).
pub fn parse_http_date(value: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc2822(value.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(secs: f64) -> DateTime<Utc> {
        let whole = secs.floor();
        Utc.timestamp_opt(whole as i64, ((secs - whole) * 1e9) as u32)
            .single()
            .unwrap()
    }

    fn http(secs: i64) -> String {
        Utc.timestamp_opt(secs, 0)
            .single()
            .unwrap()
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string()
    }

    /// An answer whose Date the server wrote at our time `t` (request sent
    /// `rtt / 2` before, answer back `rtt / 2` after), its clock `offset` ahead.
    fn answer(clock: &ServerClock, t: f64, offset: f64, rtt: f64) {
        let date = http((t + offset).floor() as i64);
        clock.observe(at(t - rtt / 2.0), at(t + rtt / 2.0), Some(&date));
    }

    #[test]
    fn no_date_no_estimate() {
        let c = ServerClock::new();
        assert_eq!(c.estimate(), None);
        c.observe(at(10.0), at(10.1), None);
        c.observe(at(10.0), at(10.1), Some("yesterday"));
        assert_eq!(c.estimate(), None);
    }

    #[test]
    fn one_answer_knows_the_offset_to_about_half_a_second() {
        let c = ServerClock::new();
        answer(&c, 1_000.3, 90.0, 0.02);
        let o = c.estimate_at(at(1_000.4)).unwrap();
        assert!((o.secs - 90.0).abs() <= o.uncertainty, "{o:?}");
        assert!(o.uncertainty < 0.6, "{o:?}");
        assert_eq!(o.samples, 1);
    }

    #[test]
    fn many_answers_narrow_it_and_always_contain_the_truth() {
        for offset in [-90.0, -0.37, 0.0, 0.999, 90.25] {
            let c = ServerClock::new();
            for i in 0..40 {
                answer(&c, 5_000.0 + f64::from(i) * 0.137, offset, 0.01);
            }
            let o = c.estimate_at(at(5_010.0)).unwrap();
            assert!((o.secs - offset).abs() <= o.uncertainty, "{offset}: {o:?}");
            assert!(o.uncertainty < 0.2, "{offset}: {o:?}");
        }
    }

    #[test]
    fn a_clock_that_jumps_starts_a_new_estimate() {
        let c = ServerClock::new();
        for i in 0..10 {
            answer(&c, 100.0 + f64::from(i) * 0.3, 0.0, 0.01);
        }
        answer(&c, 104.0, 90.0, 0.01);
        let o = c.estimate_at(at(104.1)).unwrap();
        assert!((o.secs - 90.0).abs() <= o.uncertainty, "{o:?}");
        assert_eq!(o.samples, 1);
    }

    #[test]
    fn an_old_estimate_is_no_estimate() {
        let c = ServerClock::new();
        answer(&c, 100.0, 0.0, 0.01);
        assert!(
            c.estimate_at(at(100.0 + MAX_AGE_SECS as f64 - 1.0))
                .is_some()
        );
        assert_eq!(c.estimate_at(at(100.0 + MAX_AGE_SECS as f64 + 2.0)), None);
    }

    #[test]
    fn conversions() {
        let o = Offset {
            secs: 90.0,
            uncertainty: 0.5,
            samples: 1,
            measured_at: at(0.0),
        };
        assert_eq!(o.server_secs(at(10.25)), 100.25);
        assert_eq!(o.server_secs_earliest(at(10.25)), 99.75);
        assert_eq!(o.server_secs_latest(at(10.25)), 100.75);
        assert_eq!(
            parse_http_date("Wed, 02 Dec 2026 10:11:12 GMT").map(|t| t.timestamp()),
            Some(1_796_206_272)
        );
    }
}
