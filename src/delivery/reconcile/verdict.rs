//! The decision of one read-back, without I/O: given what is known of the
//! attempt and what the conversation list showed, [`decide`] says sent, not
//! sent or unknown, by which [`Rule`], and why in words.
//!
//! Times: our attempt started at `started_at` (our clock); the server's
//! clock is `offset` ahead of ours, give or take `uncertainty`, so on the
//! server's clock the attempt started no earlier than `lo = started_at +
//! offset − uncertainty`. The server writes `last_message_at` in whole
//! seconds (`L` stands for `[L, L + 1)`). So:
//! - `L + 1 ≤ lo`: the conversation last moved before the attempt → **not
//!   sent** (only for a number that was a contact before the attempt);
//! - otherwise it moved at or after the attempt's start → **sent** (a
//!   customer's reply in that moment looks the same: then we call sent what
//!   was not, which never sends twice).

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};

use crate::wutt::clock::{Offset, unix_secs};

/// What a read-back concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Sent,
    NotSent,
    Unknown,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Sent => "sent",
            Verdict::NotSent => "not_sent",
            Verdict::Unknown => "unknown",
        }
    }
}

/// Which rule decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Sent: the contact's conversation moved at or after the attempt's start.
    Moved,
    /// Not sent: the contact's conversation did not move since before the attempt.
    NotMoved,
    /// Not sent: a contact the runner made before sending has no
    /// conversation (any send that reached the server would have made one).
    NoConversation,
    /// Not sent: the runner sends a text of a `create_contacts` campaign
    /// only once it made the number a contact, and it never did — the
    /// attempt ended in the contact step (no server read needed).
    ContactStepUnfinished,
    /// Unknown: no conversation of a contact with this number (not a
    /// contact: a template to a non-contact goes to one shared conversation).
    NotAContact,
    /// Unknown: the contact may not have existed before the attempt.
    ContactNotBefore,
    /// Unknown: the conversation list was refused or unreadable.
    ListRefused,
    /// Unknown: no answer of the server carried a `Date`.
    ClockUnknown,
    /// Unknown: the clock offset is too uncertain.
    ClockUncertain,
    /// Unknown: not moved yet, but the server may still be working on it.
    TooSoon,
    /// Unknown: no record of when the attempt started.
    AttemptStartUnknown,
    /// Unknown: a time in the answer could not be read.
    UnreadableTime,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Moved => "moved",
            Rule::NotMoved => "not_moved",
            Rule::NoConversation => "contact_without_conversation",
            Rule::ContactStepUnfinished => "contact_step_unfinished",
            Rule::NotAContact => "not_a_contact",
            Rule::ContactNotBefore => "contact_not_before_attempt",
            Rule::ListRefused => "list_refused",
            Rule::ClockUnknown => "clock_unknown",
            Rule::ClockUncertain => "clock_uncertain",
            Rule::TooSoon => "too_soon",
            Rule::AttemptStartUnknown => "attempt_start_unknown",
            Rule::UnreadableTime => "unreadable_time",
        }
    }

    /// A failure that is about the server or the clock, not this recipient.
    pub fn is_systematic(self) -> bool {
        matches!(
            self,
            Rule::ListRefused | Rule::ClockUnknown | Rule::ClockUncertain
        )
    }
}

/// Where the attempt's start comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartedFrom {
    /// The send itself (`send_attempts.started_at`).
    Send,
    /// Its claim (the runner died; the lease was rescued).
    Claim,
}

impl StartedFrom {
    pub fn as_str(self) -> &'static str {
        match self {
            StartedFrom::Send => "send",
            StartedFrom::Claim => "claim",
        }
    }
}

/// What the runner itself knows of the number being a contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactStep {
    /// Nothing: the attempt was not a text of a `create_contacts` campaign.
    NotTaken,
    /// A text of a `create_contacts` campaign whose number the runner never
    /// recorded as a contact: it sends only after it has, so the attempt
    /// ended in the contact step, before any send.
    Unfinished,
    /// Made a contact (or found one) before the send, known since then.
    Done(DateTime<Utc>),
}

/// What is known of the attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub mobile_code: String,
    pub mobile: String,
    /// When it started (our clock), and from what.
    pub started: Option<(DateTime<Utc>, StartedFrom)>,
    /// When it ended: the answer, or the lease rescue (our clock).
    pub ended_at: DateTime<Utc>,
    /// Whether the application answered (its processing is over). Our
    /// timeout, a gateway's 502/504 and a dead runner did not: the server
    /// may still be working on the request.
    pub answered: bool,
    /// The runner's own contact step, if it had one.
    pub contact_step: ContactStep,
}

/// What the read showed.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// When the answer arrived (our clock).
    pub read_at: DateTime<Utc>,
    /// Every conversation the search found (all pages), or why none could be read.
    pub conversations: Result<Vec<Value>, String>,
    /// The clock estimate after the read.
    pub clock: Option<Offset>,
}

/// The limits of a decision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// No decision when the clock offset is less certain than this (seconds).
    pub max_uncertainty: f64,
    /// "Not moved" needs the attempt to have ended this long ago.
    pub delay: chrono::Duration,
    /// …and, when the application did not answer, to have started this long ago.
    pub quiet_unanswered: chrono::Duration,
    /// An undecided read is tried again this much later.
    pub retry_after: chrono::Duration,
    /// Items of a full page of the list (fewer: the list had one page).
    pub page_size: usize,
}

/// A conversation of the recipient's number, as read.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    pub conversation_id: Option<i64>,
    /// Server's clock, whole seconds; `None`: it never moved.
    pub last_message_at: Option<DateTime<Utc>>,
    pub contact_id: Option<i64>,
    pub contact_created_at: Option<DateTime<Utc>>,
}

/// The decision and its evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub verdict: Verdict,
    pub rule: Rule,
    /// Reading again could not change it.
    pub final_: bool,
    /// When an undecided read is worth trying again.
    pub retry_at: Option<DateTime<Utc>>,
    /// Why, in words.
    pub detail: String,
    /// The decisive conversation (the latest to move of the exact matches).
    pub decisive: Option<Match>,
    /// For `Sent`: about when (our clock).
    pub sent_at: Option<DateTime<Utc>>,
    /// What was read, for the record.
    pub seen: Value,
}

/// A time as stored: RFC 3339 (Laravel writes `2026-12-02T10:11:12.000000Z`).
fn server_time(v: Option<&Value>) -> Result<Option<DateTime<Utc>>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => DateTime::parse_from_rfc3339(s.trim())
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| format!("cannot read the time {s:?}")),
        Some(other) => Err(format!("cannot read the time {other}")),
    }
}

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// The conversations whose contact has exactly this number (the search is
/// a substring match on names and mobile).
fn exact(items: &[Value], code: &str, mobile: &str) -> Result<Vec<Match>, String> {
    let mut out = Vec::new();
    for item in items {
        let Some(contact) = item.get("contact").filter(|c| c.is_object()) else {
            continue;
        };
        if text(contact.get("mobile_code")) != code || text(contact.get("mobile")) != mobile {
            continue;
        }
        out.push(Match {
            conversation_id: item.get("id").and_then(Value::as_i64),
            last_message_at: server_time(item.get("last_message_at"))?,
            contact_id: contact.get("id").and_then(Value::as_i64),
            contact_created_at: server_time(contact.get("created_at"))?,
        });
    }
    Ok(out)
}

/// Fractional Unix seconds as an RFC 3339 time (milliseconds).
fn at(secs: f64) -> String {
    let whole = secs.floor();
    let nanos = ((secs - whole) * 1e9).clamp(0.0, 999_999_999.0) as u32;
    Utc.timestamp_opt(whole as i64, nanos).single().map_or_else(
        || format!("{secs:.3}"),
        |t| t.format("%H:%M:%S%.3f").to_string(),
    )
}

fn stamp(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "never".into(),
        |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    )
}

fn match_json(m: &Match) -> Value {
    json!({
        "conversation_id": m.conversation_id,
        "last_message_at": m.last_message_at,
        "contact_id": m.contact_id,
        "contact_created_at": m.contact_created_at,
    })
}

struct Builder<'a> {
    a: &'a Attempt,
    r: &'a Reading,
    limits: &'a Limits,
    seen: Value,
}

impl Builder<'_> {
    fn done(&self, verdict: Verdict, rule: Rule, detail: String) -> Decision {
        Decision {
            verdict,
            rule,
            final_: verdict != Verdict::Unknown || !(rule.is_systematic() || rule == Rule::TooSoon),
            retry_at: None,
            detail,
            decisive: None,
            sent_at: None,
            seen: self.seen.clone(),
        }
    }

    fn retry(&self, rule: Rule, detail: String, at: Option<DateTime<Utc>>) -> Decision {
        Decision {
            retry_at: Some(at.unwrap_or(self.r.read_at + self.limits.retry_after)),
            ..self.done(Verdict::Unknown, rule, detail)
        }
    }

    /// Not moved: not sent, unless the server may still be working on it.
    fn not_sent(&self, rule: Rule, started: DateTime<Utc>, detail: String) -> Decision {
        let mut wait_until = self.a.ended_at + self.limits.delay;
        if !self.a.answered {
            wait_until = wait_until.max(started + self.limits.quiet_unanswered);
        }
        if self.r.read_at < wait_until {
            return self.retry(
                Rule::TooSoon,
                format!(
                    "{detail} — but the attempt ended too recently to say it was not sent (the server may still be working on it); reading again at {}",
                    stamp(Some(wait_until))
                ),
                Some(wait_until),
            );
        }
        self.done(Verdict::NotSent, rule, detail)
    }
}

/// The decision that needs no read of the server, if there is one: an
/// attempt that ended in the runner's contact step never sent; an attempt
/// with no known start cannot be compared with anything.
pub fn before_reading(a: &Attempt) -> Option<Decision> {
    let (verdict, rule, detail) = match (a.contact_step, a.started) {
        (ContactStep::Unfinished, _) => (
            Verdict::NotSent,
            Rule::ContactStepUnfinished,
            format!(
                "+{}{} was never recorded as a contact, and the runner sends a text of a create_contacts campaign only after it has: the attempt ended in the contact step, before any send",
                a.mobile_code, a.mobile
            ),
        ),
        (_, None) => (
            Verdict::Unknown,
            Rule::AttemptStartUnknown,
            "no record of when the attempt started".to_owned(),
        ),
        _ => return None,
    };
    Some(Decision {
        verdict,
        rule,
        final_: true,
        retry_at: None,
        detail,
        decisive: None,
        sent_at: None,
        seen: json!({ "search": null }),
    })
}

/// Decides one read-back.
pub fn decide(a: &Attempt, r: &Reading, limits: &Limits) -> Decision {
    if let Some(d) = before_reading(a) {
        return d;
    }
    let mut b = Builder {
        a,
        r,
        limits,
        seen: json!({ "search": a.mobile }),
    };
    if let Some(o) = &r.clock {
        b.seen["clock"] = json!({
            "offset_secs": o.secs,
            "uncertainty_secs": o.uncertainty,
            "samples": o.samples,
        });
    }
    let Some((started, from)) = a.started else {
        return b.done(
            Verdict::Unknown,
            Rule::AttemptStartUnknown,
            "no record of when the attempt started".into(),
        );
    };
    let made_by_runner = match a.contact_step {
        ContactStep::Done(since) => Some(since),
        ContactStep::NotTaken | ContactStep::Unfinished => None,
    };
    let items = match &r.conversations {
        Ok(items) => items,
        Err(why) => {
            b.seen["error"] = json!(why);
            return b.retry(
                Rule::ListRefused,
                format!("the conversation list could not be read: {why}"),
                None,
            );
        }
    };
    b.seen["conversations_found"] = json!(items.len());
    let Some(clock) = r.clock else {
        return b.retry(
            Rule::ClockUnknown,
            "the server's clock is unknown (no answer carried a Date header)".into(),
            None,
        );
    };
    // NaN is not "within" either.
    let within = clock.uncertainty.partial_cmp(&limits.max_uncertainty);
    if !matches!(
        within,
        Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
    ) {
        return b.retry(
            Rule::ClockUncertain,
            format!(
                "the server's clock is known only to ±{:.1} s (at most ±{:.1} s decides)",
                clock.uncertainty, limits.max_uncertainty
            ),
            None,
        );
    }
    let matches = match exact(items, &a.mobile_code, &a.mobile) {
        Ok(m) => m,
        Err(why) => {
            return b.done(Verdict::Unknown, Rule::UnreadableTime, why);
        }
    };
    b.seen["matches"] = Value::Array(matches.iter().map(match_json).collect());
    let lo = clock.server_secs_earliest(started);
    let end_hi = clock.server_secs_latest(a.ended_at);
    b.seen["attempt_start_server"] = json!(lo);
    let start_words = format!(
        "the attempt started at {} ({}; no earlier than {} on the server's clock, which is {:+.1} ± {:.1} s ahead of ours)",
        at(unix_secs(started)),
        from.as_str(),
        at(lo),
        clock.secs,
        clock.uncertainty
    );
    if matches.is_empty() {
        if let Some(since) = made_by_runner
            && items.len() < limits.page_size
        {
            return b.not_sent(
                Rule::NoConversation,
                started,
                format!(
                    "no conversation with +{}{}, a contact the runner made before sending (known since {}): a send that reached the server would have made one; {start_words}",
                    a.mobile_code,
                    a.mobile,
                    stamp(Some(since))
                ),
            );
        }
        return b.done(
            Verdict::Unknown,
            Rule::NotAContact,
            format!(
                "no conversation of a contact with the number +{}{} ({} found by the search): not a contact, and a message to a non-contact cannot be found by number",
                a.mobile_code,
                a.mobile,
                items.len()
            ),
        );
    }
    // Only a contact that existed before the attempt tells: a contact made
    // later has a conversation that never saw the attempt.
    for m in &matches {
        let by_server = m
            .contact_created_at
            .is_some_and(|c| unix_secs(c) + 1.0 <= lo);
        let contradicted = m.contact_created_at.is_some_and(|c| unix_secs(c) > end_hi);
        let by_runner = made_by_runner.is_some() && !contradicted;
        if !(by_server || by_runner) {
            return b.done(
                Verdict::Unknown,
                Rule::ContactNotBefore,
                format!(
                    "contact {} was created at {} (server), not surely before the attempt: its conversation cannot tell; {start_words}",
                    m.contact_id.map_or_else(|| "?".into(), |i| i.to_string()),
                    stamp(m.contact_created_at)
                ),
            );
        }
    }
    let Some(latest) = matches
        .iter()
        .max_by_key(|m| (m.last_message_at, m.conversation_id))
        .cloned()
    else {
        return b.done(Verdict::Unknown, Rule::NotAContact, "no match".into());
    };
    let conv = latest
        .conversation_id
        .map_or_else(|| "?".into(), |i| i.to_string());
    match latest.last_message_at {
        Some(l) if unix_secs(l) + 1.0 > lo => {
            // Back on our clock, within the attempt and the read.
            let ours = chrono::Duration::try_milliseconds((clock.secs * 1000.0) as i64)
                .and_then(|d| l.checked_sub_signed(d))
                .unwrap_or(started);
            let sent_at = ours.clamp(started, r.read_at.max(started));
            let mut d = b.done(
                Verdict::Sent,
                Rule::Moved,
                format!(
                    "conversation {conv} last moved at {} (server), at or after the start: {start_words}",
                    stamp(Some(l))
                ),
            );
            d.decisive = Some(latest);
            d.sent_at = Some(sent_at);
            d
        }
        last => {
            let mut d = b.not_sent(
                Rule::NotMoved,
                started,
                format!(
                    "conversation {conv} last moved at {} (server), before {start_words}",
                    stamp(last)
                ),
            );
            d.decisive = Some(latest);
            d
        }
    }
}

#[cfg(test)]
mod tests;
