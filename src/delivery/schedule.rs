//! The send window: a campaign's daily `start`–`end` in its own timezone.
//! Outside it nothing is claimed and no request leaves; [`SendWindow::at`]
//! says when it opens next. A window
//! whose end is before its start runs overnight (22:00–06:00).

use chrono::{DateTime, Days, NaiveTime, TimeZone as _, Utc};
use chrono_tz::Tz;

/// Whether a campaign may send now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// Inside the window (or the campaign has none).
    Open,
    /// Outside: opens at this instant.
    ClosedUntil(DateTime<Utc>),
}

/// A campaign's daily send window, parsed once: `start`..`end` local time in
/// `tz`. A campaign without one (or with `start == end`) has none:
/// [`SendWindow::parse`] gives `None` and it is always open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendWindow {
    start: NaiveTime,
    end: NaiveTime,
    tz: Tz,
}

impl SendWindow {
    /// The window of a campaign row. An unknown timezone is an error (the
    /// campaign should be paused, not sent at the wrong hour).
    pub fn parse(
        start: Option<NaiveTime>,
        end: Option<NaiveTime>,
        tz: Option<&str>,
    ) -> Result<Option<SendWindow>, String> {
        let (Some(start), Some(end)) = (start, end) else {
            return Ok(None);
        };
        if start == end {
            return Ok(None);
        }
        let tz: Tz = match tz.map(str::trim).filter(|t| !t.is_empty()) {
            None => Tz::UTC,
            Some(name) => name.parse().map_err(|_| {
                format!("send window timezone {name:?} is not a known IANA timezone")
            })?,
        };
        Ok(Some(SendWindow { start, end, tz }))
    }

    /// Whether `now` is inside the window, and if not, when it opens next.
    pub fn at(&self, now: DateTime<Utc>) -> Window {
        let SendWindow { start, end, tz } = *self;
        let local = now.with_timezone(&tz);
        let t = local.time();
        let open = if start < end {
            t >= start && t < end
        } else {
            t >= start || t < end
        };
        if open {
            return Window::Open;
        }
        // Next opening: today at `start` if still ahead, else tomorrow.
        let today = local.date_naive();
        for day in [today, today + Days::new(1), today + Days::new(2)] {
            let naive = day.and_time(start);
            // A start inside a DST gap opens at the first valid instant after it.
            let at = match tz.from_local_datetime(&naive).earliest() {
                Some(at) => at.with_timezone(&Utc),
                None => match tz
                    .from_local_datetime(&(naive + chrono::Duration::hours(1)))
                    .earliest()
                {
                    Some(at) => at.with_timezone(&Utc),
                    None => continue,
                },
            };
            if at > now {
                return Window::ClosedUntil(at);
            }
        }
        Window::ClosedUntil(now + chrono::Duration::hours(1))
    }
}

/// The window state at `now` of an optional window (none is always open).
pub fn state(window: Option<&SendWindow>, now: DateTime<Utc>) -> Window {
    window.map_or(Window::Open, |w| w.at(now))
}

/// The window state at `now` for `start`..`end` in timezone `tz` (an IANA
/// name), parsing the three on the spot.
pub fn window(
    now: DateTime<Utc>,
    start: Option<NaiveTime>,
    end: Option<NaiveTime>,
    tz: Option<&str>,
) -> Result<Window, String> {
    Ok(state(SendWindow::parse(start, end, tz)?.as_ref(), now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: u32, m: u32) -> Option<NaiveTime> {
        NaiveTime::from_hms_opt(h, m, 0)
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn no_window_is_open() {
        assert_eq!(window(Utc::now(), None, t(9, 0), None), Ok(Window::Open));
    }

    #[test]
    fn day_window_in_a_timezone() {
        // 09:00–17:00 in Dhaka (UTC+6): 02:00 UTC is 08:00 local → opens 03:00 UTC.
        let w = window(
            utc("2026-03-02T02:00:00Z"),
            t(9, 0),
            t(17, 0),
            Some("Asia/Dhaka"),
        );
        assert_eq!(w, Ok(Window::ClosedUntil(utc("2026-03-02T03:00:00Z"))));
        let w = window(
            utc("2026-03-02T05:00:00Z"),
            t(9, 0),
            t(17, 0),
            Some("Asia/Dhaka"),
        );
        assert_eq!(w, Ok(Window::Open));
        // 18:00 local → tomorrow 09:00 local.
        let w = window(
            utc("2026-03-02T12:00:00Z"),
            t(9, 0),
            t(17, 0),
            Some("Asia/Dhaka"),
        );
        assert_eq!(w, Ok(Window::ClosedUntil(utc("2026-03-03T03:00:00Z"))));
    }

    #[test]
    fn overnight_window_and_bad_timezone() {
        let w = window(utc("2026-03-02T23:30:00Z"), t(22, 0), t(6, 0), Some("UTC"));
        assert_eq!(w, Ok(Window::Open));
        let w = window(utc("2026-03-02T12:00:00Z"), t(22, 0), t(6, 0), None);
        assert_eq!(w, Ok(Window::ClosedUntil(utc("2026-03-02T22:00:00Z"))));
        assert!(window(Utc::now(), t(1, 0), t(2, 0), Some("Mars/Olympus")).is_err());
    }

    #[test]
    fn start_in_a_dst_gap_opens_after_it() {
        // Europe/Berlin skips 02:00–03:00 on 2026-03-29.
        let w = window(
            utc("2026-03-28T23:00:00Z"),
            t(2, 30),
            t(5, 0),
            Some("Europe/Berlin"),
        );
        match w {
            Ok(Window::ClosedUntil(at)) => assert!(at > utc("2026-03-28T23:00:00Z")),
            other => panic!("{other:?}"),
        }
    }
}
