//! The server's clock: it may run ahead of or behind ours
//! ([`SimClock::offset_secs`]), which moves every `Date` header and every
//! timestamp the server writes (`last_message_at`, `created_at`, the 24-hour
//! window); and the `Date` header can be left out. Also Laravel's way of
//! writing times.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::listener::NO_DATE;
use super::state::{Shared, lock};

/// Body of `GET/PUT /__sim/clock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimClock {
    /// Seconds the server's clock is ahead of ours (negative: behind).
    pub offset_secs: i64,
    /// Whether answers carry a `Date` header.
    pub date_header: bool,
}

impl Default for SimClock {
    fn default() -> Self {
        SimClock {
            offset_secs: 0,
            date_header: true,
        }
    }
}

/// A `PUT /__sim/clock` body: the keys given replace the current ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClockPatch {
    pub offset_secs: Option<i64>,
    pub date_header: Option<bool>,
}

/// The largest offset accepted (about 100 years).
const MAX_OFFSET_SECS: i64 = 3_200_000_000;

impl SimClock {
    /// The server's time now.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::seconds(self.offset_secs)
    }

    pub(crate) fn patched(self, patch: ClockPatch) -> Result<SimClock, String> {
        let next = SimClock {
            offset_secs: patch.offset_secs.unwrap_or(self.offset_secs),
            date_header: patch.date_header.unwrap_or(self.date_header),
        };
        if next.offset_secs.abs() > MAX_OFFSET_SECS {
            return Err(format!("offset_secs must be within ±{MAX_OFFSET_SECS}"));
        }
        Ok(next)
    }
}

/// The server's time in whole seconds (what a `datetime` column keeps).
pub(crate) fn now_secs(shared: &Shared) -> i64 {
    lock(&shared.clock).now().timestamp()
}

/// A stored time as Laravel serialises a date: `2026-12-02T10:11:12.000000Z`.
pub(crate) fn iso(secs: i64) -> String {
    match Utc.timestamp_opt(secs, 0).single() {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S.000000Z").to_string(),
        None => "1970-01-01T00:00:00.000000Z".into(),
    }
}

/// A Carbon instant serialised as is (microseconds kept).
pub(crate) fn iso_micros(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S.%6fZ").to_string()
}

/// The HTTP date form: `Wed, 02 Dec 2026 10:11:12 GMT`.
pub(crate) fn http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Outermost middleware: every answer gets the server's `Date`, or none.
pub(crate) async fn date_header(
    State(shared): State<Arc<Shared>>,
    req: Request,
    next: Next,
) -> Response {
    let mut resp = next.run(req).await;
    let clock = *lock(&shared.clock);
    let value = if clock.date_header {
        HeaderValue::from_str(&http_date(clock.now())).ok()
    } else {
        Some(HeaderValue::from_static(NO_DATE))
    };
    if let Some(value) = value {
        resp.headers_mut().insert(header::DATE, value);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn laravel_and_http_forms() {
        assert_eq!(iso(1_796_206_272), "2026-12-02T10:11:12.000000Z");
        let t = Utc.timestamp_opt(1_796_206_272, 5_000).single().unwrap();
        assert_eq!(iso_micros(t), "2026-12-02T10:11:12.000005Z");
        assert_eq!(http_date(t), "Wed, 02 Dec 2026 10:11:12 GMT");
        let c = SimClock::default();
        let moved = c
            .patched(ClockPatch {
                offset_secs: Some(-60),
                date_header: None,
            })
            .unwrap();
        assert_eq!((moved.offset_secs, moved.date_header), (-60, true));
        assert!(
            c.patched(ClockPatch {
                offset_secs: Some(i64::MAX),
                date_header: None
            })
            .is_err()
        );
    }
}
