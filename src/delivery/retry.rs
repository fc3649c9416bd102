//! The retry policy: what each [`Outcome`] means for its recipient
//! ([`Resolution`]), and exponential backoff with jitter for transient
//! failures. A small pure function rather than `backon`: the durable wait is
//! `next_attempt_at` in the database, so all that is needed is "how long".

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::queue::claim::Resolution;
use crate::wutt::Outcome;

/// Backoff parameters for transient failures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Delay before the second attempt (doubles with every attempt).
    pub base: Duration,
    /// Upper bound of one delay.
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_secs(2),
            max: Duration::from_secs(600),
        }
    }
}

impl RetryPolicy {
    /// Delay after failed attempt number `attempt` (1-based): `base × 2^(attempt-1)`
    /// capped at `max`, then "equal jitter" — half fixed, half drawn from
    /// `jitter` ∈ [0, 1) — so retries of a batch that failed together spread out.
    pub fn delay(&self, attempt: i32, jitter: f64) -> Duration {
        let exp = attempt.clamp(1, 31) - 1;
        let full = self
            .base
            .checked_mul(1u32 << exp.min(30))
            .unwrap_or(self.max)
            .min(self.max);
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.5
        };
        full / 2 + full.mul_f64(jitter / 2.0)
    }
}

/// What the runner does with an answer, besides writing the recipient's row.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub resolution: Resolution,
    /// Stored in the recipient's `error` column.
    pub error: Option<String>,
    /// The account was refused: pause the campaign with this reason.
    pub pause_reason: Option<String>,
    /// HTTP 429: slow the account down and claim nothing until then.
    pub throttled_until: Option<DateTime<Utc>>,
}

/// Maps one send answer onto the recipient's next state.
pub fn decide(
    outcome: &Outcome,
    attempt: i32,
    max_attempts: i32,
    policy: &RetryPolicy,
    now: DateTime<Utc>,
    jitter: f64,
) -> Decision {
    let reply = outcome.reply();
    let words = describe(outcome);
    let mut d = Decision {
        resolution: Resolution::Sent,
        error: None,
        pause_reason: None,
        throttled_until: None,
    };
    match outcome {
        Outcome::Success(_) => {}
        Outcome::Rejected(_) => {
            d.resolution = Resolution::Failed;
            d.error = Some(words);
        }
        Outcome::Throttled { retry_after, .. } => {
            let wait = retry_after.unwrap_or_else(|| policy.delay(1, jitter));
            let at = now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX / 2);
            d.resolution = Resolution::Retry { at, refund: true };
            d.error = Some(words);
            d.throttled_until = Some(at);
        }
        Outcome::Transient(_) => {
            if attempt >= max_attempts {
                d.resolution = Resolution::Failed;
                d.error = Some(format!("gave up after {attempt} attempts: {words}"));
            } else {
                let wait = policy.delay(attempt, jitter);
                let at =
                    now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX / 2);
                d.resolution = Resolution::Retry { at, refund: false };
                d.error = Some(words);
            }
        }
        Outcome::Ambiguous(_) => {
            d.resolution = Resolution::Unknown;
            d.error = Some(format!("may have been sent: {words}"));
        }
        Outcome::AccountRefused(_) => {
            d.resolution = Resolution::Requeue;
            let reason = reply
                .envelope
                .as_ref()
                .map(|e| e.message.join(" "))
                .filter(|m| !m.trim().is_empty())
                .unwrap_or_else(|| words.clone());
            d.pause_reason = Some(format!("account refused: {reason}"));
            d.error = Some(words);
        }
    }
    d
}

/// One line saying what came back: HTTP status, remark and messages, or the
/// transport error.
pub fn describe(outcome: &Outcome) -> String {
    let reply = outcome.reply();
    let mut parts = vec![outcome.class().as_str().to_string()];
    if let Some(s) = reply.http_status {
        parts.push(format!("HTTP {s}"));
    }
    if let Some(env) = &reply.envelope {
        if !env.remark.is_empty() {
            parts.push(env.remark.clone());
        }
        if !env.message.is_empty() {
            parts.push(env.message.join(" "));
        }
    } else if let Some(ex) = &reply.body_excerpt {
        let ex: String = ex.chars().take(120).collect();
        parts.push(format!("body: {ex}"));
    }
    if let Some(e) = &reply.error {
        parts.push(e.clone());
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wutt::{Envelope, Reply};

    fn env(status: &str, remark: &str, msg: &str) -> Reply {
        Reply {
            http_status: Some(401),
            envelope: Some(Envelope {
                status: status.into(),
                remark: remark.into(),
                message: vec![msg.into()],
                data: None,
            }),
            ..Reply::default()
        }
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(1, 0.0), Duration::from_secs(1));
        assert_eq!(p.delay(1, 1.0), Duration::from_secs(2));
        assert_eq!(p.delay(3, 0.0), Duration::from_secs(4));
        assert_eq!(p.delay(30, 1.0), Duration::from_secs(600));
        assert_eq!(p.delay(-5, f64::NAN), p.delay(1, 0.5));
        assert_eq!(p.delay(i32::MAX, 0.0), Duration::from_secs(300));
    }

    #[test]
    fn every_outcome_has_a_resolution() {
        let p = RetryPolicy::default();
        let now = Utc::now();
        let r = Reply::default();
        assert_eq!(
            decide(&Outcome::Success(r.clone()), 1, 5, &p, now, 0.0).resolution,
            Resolution::Sent
        );
        assert_eq!(
            decide(&Outcome::Rejected(r.clone()), 1, 5, &p, now, 0.0).resolution,
            Resolution::Failed
        );
        assert_eq!(
            decide(&Outcome::Ambiguous(r.clone()), 1, 5, &p, now, 0.0).resolution,
            Resolution::Unknown
        );
        let t = decide(&Outcome::Transient(r.clone()), 2, 5, &p, now, 0.0);
        assert_eq!(
            t.resolution,
            Resolution::Retry {
                at: now + chrono::Duration::seconds(2),
                refund: false
            }
        );
        let last = decide(&Outcome::Transient(r.clone()), 5, 5, &p, now, 0.0);
        assert_eq!(last.resolution, Resolution::Failed);
        assert!(last.error.unwrap().contains("5 attempts"));
        let th = decide(
            &Outcome::Throttled {
                retry_after: Some(Duration::from_secs(7)),
                reply: r.clone(),
            },
            9,
            5,
            &p,
            now,
            0.0,
        );
        let at = now + chrono::Duration::seconds(7);
        assert_eq!(th.resolution, Resolution::Retry { at, refund: true });
        assert_eq!(th.throttled_until, Some(at));
        let refused = decide(
            &Outcome::AccountRefused(env(
                "error",
                "Unauthorized",
                "The client secret is required",
            )),
            1,
            5,
            &p,
            now,
            0.0,
        );
        assert_eq!(refused.resolution, Resolution::Requeue);
        assert_eq!(
            refused.pause_reason.as_deref(),
            Some("account refused: The client secret is required")
        );
    }
}
