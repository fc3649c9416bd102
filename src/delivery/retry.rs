//! The retry policy: what each [`Outcome`] means for its recipient
//! ([`Resolution`]), and exponential backoff with jitter for transient
//! failures. A small pure function rather than `backon`: the durable wait is
//! `next_attempt_at` in the database, so all that is needed is "how long".

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::queue::claim::Resolution;
use crate::wutt::outcome;
use crate::wutt::{Outcome, OutcomeClass, Reply};

/// Backoff parameters for transient failures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Delay before the second attempt (doubles with every attempt).
    pub base: Duration,
    /// Upper bound of one delay.
    pub max: Duration,
    /// How long a recipient waits after WhatsApp's pair rate limit (131056:
    /// too many messages to this number), before jitter.
    pub pair_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_secs(2),
            max: Duration::from_secs(600),
            pair_wait: Duration::from_secs(60),
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

/// How far a refusal reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PauseScope {
    /// Every campaign of the account (credentials, plan, WhatsApp account).
    Account,
    /// This campaign (its template, sending number, interactive element).
    Campaign,
}

/// A refusal that stops sending, and the words shown to people.
#[derive(Debug, Clone, PartialEq)]
pub struct Pause {
    pub scope: PauseScope,
    pub reason: String,
}

/// What the runner does with an answer, besides writing the recipient's row.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub resolution: Resolution,
    /// Stored in the recipient's `error` column (for a success: a note).
    pub error: Option<String>,
    /// The account or the campaign was refused: pause.
    pub pause: Option<Pause>,
    /// The account is sending too fast: slow it down and claim nothing until then.
    pub throttled_until: Option<DateTime<Utc>>,
}

/// The tip given with a text that reached a number that is no Wutt contact.
pub const NOT_A_CONTACT: &str = "not a Wutt contact: free-form text reaches only numbers that are already contacts of the account (with an open 24-hour window); send a template, or set create_contacts = true in the manifest";

fn at(now: DateTime<Utc>, wait: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX / 2)
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
    let words = describe(outcome);
    let mut d = Decision {
        resolution: Resolution::Sent,
        error: None,
        pause: None,
        throttled_until: None,
    };
    let rule = outcome::rule_of(outcome.reply());
    match outcome {
        Outcome::Success(reply) => {
            if reply.envelope.as_ref().is_some_and(|e| !e.is_success()) {
                d.error = Some(format!(
                    "sent: the server sent the message, then answered with an error of its own ({})",
                    reply
                        .envelope
                        .as_ref()
                        .map(|e| e.text())
                        .unwrap_or_default()
                ));
            }
        }
        Outcome::Rejected(_) => {
            d.resolution = Resolution::Failed;
            d.error = Some(match rule.map(|r| r.name) {
                Some("text-to-non-contact") => format!("{NOT_A_CONTACT} ({words})"),
                _ => words,
            });
        }
        Outcome::Throttled { retry_after, .. } => {
            let until = at(now, retry_after.unwrap_or_else(|| policy.delay(1, jitter)));
            d.resolution = Resolution::Retry {
                at: until,
                refund: true,
            };
            d.error = Some(words);
            d.throttled_until = Some(until);
        }
        Outcome::RecipientThrottled(_) => {
            let jitter = if jitter.is_finite() {
                jitter.clamp(0.0, 1.0)
            } else {
                0.5
            };
            d.resolution = Resolution::Retry {
                at: at(now, policy.pair_wait.mul_f64(0.75 + jitter / 2.0)),
                refund: true,
            };
            d.error = Some(words);
        }
        Outcome::Transient(_) => {
            if attempt >= max_attempts {
                d.resolution = Resolution::Failed;
                d.error = Some(format!("gave up after {attempt} attempts: {words}"));
            } else {
                d.resolution = Resolution::Retry {
                    at: at(now, policy.delay(attempt, jitter)),
                    refund: false,
                };
                d.error = Some(words);
            }
        }
        Outcome::Ambiguous(_) => {
            d.resolution = Resolution::Unknown;
            d.error = Some(format!("may have been sent: {words}"));
        }
        Outcome::CampaignRefused(_) | Outcome::AccountRefused(_) => {
            d.resolution = Resolution::Requeue;
            d.pause = refusal(outcome);
            d.error = Some(words);
        }
    }
    d
}

/// The pause an account or campaign refusal calls for (`None` for any other
/// outcome), with the server's words and what to do.
pub fn refusal(outcome: &Outcome) -> Option<Pause> {
    let scope = match outcome.class() {
        OutcomeClass::AccountRefused => PauseScope::Account,
        OutcomeClass::CampaignRefused => PauseScope::Campaign,
        _ => return None,
    };
    let reply = outcome.reply();
    let hint = outcome::rule_of(reply).and_then(|r| r.hint);
    Some(Pause {
        scope,
        reason: pause_reason(scope, reply, hint, &describe(outcome)),
    })
}

/// Whether the server could not find the WhatsApp number a send went from
/// (with no `from_number` given, that is the account's default: none is
/// connected).
pub fn asked_for_a_number(outcome: &Outcome) -> bool {
    outcome::rule_of(outcome.reply()).is_some_and(|r| r.name == "unknown-from-number")
}

/// "account refused: the server said "…" — what to do".
fn pause_reason(scope: PauseScope, reply: &Reply, hint: Option<&str>, words: &str) -> String {
    let who = match scope {
        PauseScope::Account => "account refused",
        PauseScope::Campaign => "campaign refused",
    };
    let said = match (&reply.envelope, reply.http_status) {
        (Some(env), _) if !env.text().trim().is_empty() => {
            format!("the server said \"{}\"", env.text().trim())
        }
        (None, Some(status)) => format!(
            "the server answered HTTP {status} with {}",
            outcome::body_kind(reply.body_excerpt.as_deref())
        ),
        _ => words.to_owned(),
    };
    match hint {
        Some(hint) => format!("{who}: {said} — {hint}"),
        None => format!("{who}: {said}"),
    }
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
        let pause = refused.pause.unwrap();
        assert_eq!(pause.scope, PauseScope::Account);
        assert!(
            pause
                .reason
                .starts_with("account refused: the server said \"The client secret is required\" — check WUTT_CLIENT_ID"),
            "{}",
            pause.reason
        );
        let pair = decide(&Outcome::RecipientThrottled(r.clone()), 3, 5, &p, now, 0.5);
        assert_eq!(
            pair.resolution,
            Resolution::Retry {
                at: now + chrono::Duration::seconds(60),
                refund: true
            }
        );
        assert_eq!(pair.throttled_until, None);
    }
}
