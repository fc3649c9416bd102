//! When a campaign will be done: the recipients left at the rate it gets,
//! sent only from its start and inside its daily send window.

use chrono::{DateTime, Duration, NaiveTime, TimeZone as _, Utc};
use chrono_tz::Tz;

/// Daily hours in a timezone (end before start: over midnight).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub tz: Tz,
}

impl Window {
    /// The window of a campaign's stored columns, when it has a valid one.
    pub fn of(
        start: Option<NaiveTime>,
        end: Option<NaiveTime>,
        tz: Option<&str>,
    ) -> Option<Window> {
        Some(Window {
            start: start?,
            end: end?,
            tz: tz?.parse().ok()?,
        })
    }

    /// The open interval that contains `t`, or the next one after it.
    pub fn next_open(&self, t: DateTime<Utc>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let day = t.with_timezone(&self.tz).date_naive();
        for offset in -1..=2i64 {
            let d = day + Duration::days(offset);
            let end_day = if self.end > self.start {
                d
            } else {
                d + Duration::days(1)
            };
            let open = self
                .tz
                .from_local_datetime(&d.and_time(self.start))
                .earliest();
            let close = self
                .tz
                .from_local_datetime(&end_day.and_time(self.end))
                .earliest();
            if let (Some(open), Some(close)) = (open, close) {
                let (open, close) = (open.with_timezone(&Utc), close.with_timezone(&Utc));
                if close > t && close > open {
                    return Some((open.max(t), close));
                }
            }
        }
        None
    }

    pub fn is_open(&self, t: DateTime<Utc>) -> bool {
        self.next_open(t).is_some_and(|(open, _)| open <= t)
    }

    /// The longest one open interval can last, in seconds: the window's
    /// length on the clock plus a change of the clock inside it (at most an
    /// hour; three allowed).
    fn longest_secs(&self) -> f64 {
        let length = (self.end - self.start).num_seconds();
        let length = if length > 0 { length } else { length + 86_400 };
        (length + 3 * 3600) as f64
    }
}

/// How many open intervals [`finish_at`] walks through before giving up.
const MAX_INTERVALS: usize = 800;

/// When `left` recipients are sent at `rate` per second, from `not_before`
/// (or `now`), within `window`. `None`: nothing to estimate (no rate), or
/// more than a year away.
pub fn finish_at(
    left: i64,
    rate: f64,
    now: DateTime<Utc>,
    not_before: DateTime<Utc>,
    window: Option<&Window>,
) -> Option<DateTime<Utc>> {
    if left <= 0 {
        return Some(now);
    }
    if !(rate.is_finite() && rate > 0.0) {
        return None;
    }
    let mut t = now.max(not_before);
    let mut secs_left = left as f64 / rate;
    let Some(w) = window else {
        return Some(t + Duration::milliseconds((secs_left * 1000.0) as i64));
    };
    // Each interval holds at most `longest_secs`: when all of them together
    // cannot, the walk below would end without an answer (the same `None`,
    // without walking 800 days of a time zone per campaign and request).
    if secs_left > MAX_INTERVALS as f64 * w.longest_secs() {
        return None;
    }
    for _ in 0..MAX_INTERVALS {
        let (open, close) = w.next_open(t)?;
        let avail = (close - open).num_milliseconds() as f64 / 1000.0;
        if secs_left <= avail {
            return Some(open + Duration::milliseconds((secs_left * 1000.0) as i64));
        }
        secs_left -= avail;
        t = close;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn without_a_window_it_is_left_over_rate() {
        let now = at("2026-03-01T10:00:00Z");
        assert_eq!(
            finish_at(1200, 20.0, now, now, None),
            Some(at("2026-03-01T10:01:00Z"))
        );
        assert_eq!(finish_at(0, 0.0, now, now, None), Some(now));
        assert_eq!(finish_at(5, 0.0, now, now, None), None);
        // Scheduled: counted from the start.
        let start = at("2026-03-01T12:00:00Z");
        assert_eq!(
            finish_at(60, 1.0, now, start, None),
            Some(at("2026-03-01T12:01:00Z"))
        );
    }

    #[test]
    fn the_window_stretches_it_over_days() {
        // 09:00-17:00 in Dhaka (UTC+6) = 03:00-11:00 UTC; 8 h a day.
        let w = Window::of(
            NaiveTime::from_hms_opt(9, 0, 0),
            NaiveTime::from_hms_opt(17, 0, 0),
            Some("Asia/Dhaka"),
        )
        .unwrap();
        let now = at("2026-03-01T10:00:00Z"); // 16:00 in Dhaka: one hour left today
        assert!(w.is_open(now));
        // Two hours of sending: one today, one tomorrow from 09:00.
        let done = finish_at(7200, 1.0, now, now, Some(&w)).unwrap();
        assert_eq!(done, at("2026-03-02T04:00:00Z"));
        // Closed now: it starts at the next opening.
        let night = at("2026-03-01T20:00:00Z");
        assert!(!w.is_open(night));
        assert_eq!(
            finish_at(60, 1.0, night, night, Some(&w)),
            Some(at("2026-03-02T03:01:00Z"))
        );
    }

    #[test]
    fn a_window_over_midnight() {
        let w = Window::of(
            NaiveTime::from_hms_opt(22, 0, 0),
            NaiveTime::from_hms_opt(2, 0, 0),
            Some("UTC"),
        )
        .unwrap();
        assert!(w.is_open(at("2026-03-01T23:00:00Z")));
        assert!(w.is_open(at("2026-03-02T01:00:00Z")));
        assert!(!w.is_open(at("2026-03-02T03:00:00Z")));
        let done = finish_at(
            3600,
            1.0,
            at("2026-03-02T01:30:00Z"),
            at("2026-03-01T00:00:00Z"),
            Some(&w),
        );
        assert_eq!(done, Some(at("2026-03-02T22:30:00Z")));
    }

    #[test]
    fn too_far_away_is_none_with_or_without_the_walk() {
        // Five minutes a day: 800 days hold 240,000 s (the walk's limit).
        let w = Window::of(
            NaiveTime::from_hms_opt(9, 0, 0),
            NaiveTime::from_hms_opt(9, 5, 0),
            Some("Asia/Dhaka"),
        )
        .unwrap();
        let now = at("2026-03-01T10:00:00Z");
        // Past the bound: answered without walking.
        assert!(800.0 * w.longest_secs() < 1e9);
        assert_eq!(finish_at(1_000_000_000, 1.0, now, now, Some(&w)), None);
        // Under the bound but over the walk: the walk says None too.
        assert_eq!(finish_at(300 * 801, 1.0, now, now, Some(&w)), None);
        // Within the walk: an answer, 799 days on.
        let done = finish_at(300 * 800, 1.0, now, now, Some(&w)).unwrap();
        assert_eq!(done, at("2026-03-02T03:05:00Z") + Duration::days(799));
        // Over midnight, and start = end (all day).
        let night = Window::of(
            NaiveTime::from_hms_opt(22, 0, 0),
            NaiveTime::from_hms_opt(2, 0, 0),
            Some("UTC"),
        )
        .unwrap();
        assert_eq!(night.longest_secs(), (4 * 3600 + 3 * 3600) as f64);
        let all_day = Window::of(
            NaiveTime::from_hms_opt(0, 0, 0),
            NaiveTime::from_hms_opt(0, 0, 0),
            Some("UTC"),
        )
        .unwrap();
        assert_eq!(all_day.longest_secs(), (27 * 3600) as f64);
    }
}
