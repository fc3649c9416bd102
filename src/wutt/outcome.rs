//! Every send answer becomes exactly one [`Outcome`]; the rules are one table.
//!
//! [`RULES`] is read top to bottom and the first row that matches decides the
//! class; its last row matches everything, so every answer and every
//! transport failure gets exactly one class. A new vendor message is a new row.
//!
//! Deliberate choices where the vendor is silent:
//! - 504 (gateway timeout) is *ambiguous*: the gateway gave up waiting, but the
//!   upstream may still have sent the message.
//! - A 2xx whose body is not a readable envelope is *ambiguous*: the server
//!   said yes to something we cannot read.
//! - A redirect, or a 404/405 that is not an envelope (a web server's own
//!   "not found" page), means the base URL is wrong: the whole account is
//!   affected, so it is *account refused* (stop the campaign) rather than a
//!   failure charged to one recipient.
//! - When the status line arrived but the body broke off, the status decides
//!   (a 2xx is then ambiguous, a 5xx transient).

use std::time::{Duration, SystemTime};

use super::envelope::Envelope;

/// What came back from one HTTP call, whatever its shape. Recorded verbatim in
/// the attempts table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reply {
    /// `None` when no HTTP response arrived (connection refused, timeout, …).
    pub http_status: Option<u16>,
    /// The parsed envelope, when the body was one.
    pub envelope: Option<Envelope>,
    /// A bounded excerpt of the body when it was not an envelope.
    pub body_excerpt: Option<String>,
    /// Transport or parse error, in words (never contains credentials).
    pub error: Option<String>,
}

/// The class of an answer, as stored in the database (`outcome` columns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutcomeClass {
    Success,
    Rejected,
    Throttled,
    Transient,
    AccountRefused,
    Ambiguous,
}

impl OutcomeClass {
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeClass::Success => "success",
            OutcomeClass::Rejected => "rejected",
            OutcomeClass::Throttled => "throttled",
            OutcomeClass::Transient => "transient",
            OutcomeClass::AccountRefused => "account_refused",
            OutcomeClass::Ambiguous => "ambiguous",
        }
    }
}

/// The meaning of one send call for the recipient and the campaign. The caller
/// must handle every kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `status: success`: the message was accepted.
    Success(Reply),
    /// Refused for this recipient (invalid number, blocked contact, validation).
    /// Also returned, with `http_status: None`, for a request the client
    /// refused to send (bad media, missing fields): nothing reached the API.
    Rejected(Reply),
    /// Rate-limited; retry after the given delay (when the server gave one).
    Throttled {
        retry_after: Option<Duration>,
        reply: Reply,
    },
    /// The request never reached the server or the server failed before acting
    /// (5xx, connection refused, DNS, TLS handshake): safe to retry.
    Transient(Reply),
    /// The account itself was refused (credentials, IP whitelist, template,
    /// plan, WhatsApp not connected): stop the campaign.
    AccountRefused(Reply),
    /// The request may have been acted on but no usable answer came back
    /// (timeout or reset after the request was written): never resent automatically.
    Ambiguous(Reply),
}

impl Outcome {
    pub fn class(&self) -> OutcomeClass {
        match self {
            Outcome::Success(_) => OutcomeClass::Success,
            Outcome::Rejected(_) => OutcomeClass::Rejected,
            Outcome::Throttled { .. } => OutcomeClass::Throttled,
            Outcome::Transient(_) => OutcomeClass::Transient,
            Outcome::AccountRefused(_) => OutcomeClass::AccountRefused,
            Outcome::Ambiguous(_) => OutcomeClass::Ambiguous,
        }
    }

    pub fn reply(&self) -> &Reply {
        match self {
            Outcome::Success(r)
            | Outcome::Rejected(r)
            | Outcome::Transient(r)
            | Outcome::AccountRefused(r)
            | Outcome::Ambiguous(r) => r,
            Outcome::Throttled { reply, .. } => reply,
        }
    }

    /// The answer, taken out of the outcome.
    pub fn into_reply(self) -> Reply {
        match self {
            Outcome::Success(r)
            | Outcome::Rejected(r)
            | Outcome::Transient(r)
            | Outcome::AccountRefused(r)
            | Outcome::Ambiguous(r) => r,
            Outcome::Throttled { reply, .. } => reply,
        }
    }

    /// Builds the outcome of a class (`retry_after` is kept only for throttling).
    pub fn new(class: OutcomeClass, reply: Reply, retry_after: Option<Duration>) -> Outcome {
        match class {
            OutcomeClass::Success => Outcome::Success(reply),
            OutcomeClass::Rejected => Outcome::Rejected(reply),
            OutcomeClass::Throttled => Outcome::Throttled { retry_after, reply },
            OutcomeClass::Transient => Outcome::Transient(reply),
            OutcomeClass::AccountRefused => Outcome::AccountRefused(reply),
            OutcomeClass::Ambiguous => Outcome::Ambiguous(reply),
        }
    }

    /// A request the client refused to send: nothing reached the API.
    pub fn not_sent(why: impl Into<String>) -> Outcome {
        Outcome::Rejected(Reply {
            error: Some(format!("not sent: {}", why.into())),
            ..Reply::default()
        })
    }

    /// Classifies what one call observed, by [`RULES`].
    pub fn classify(
        transport: Option<TransportKind>,
        reply: Reply,
        retry_after: Option<Duration>,
    ) -> Outcome {
        let rule = match transport {
            Some(kind) => classify(Observation::Transport(kind)),
            None => classify(Observation::Answer {
                http_status: reply.http_status.unwrap_or(0),
                envelope: reply.envelope.as_ref(),
            }),
        };
        Outcome::new(rule.class, reply, retry_after)
    }
}

/// How a call failed when no HTTP status line arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// The request could not be built; nothing was sent.
    Build,
    /// No connection: refused, DNS failure, TLS handshake failure, connect timeout.
    Connect,
    /// The total timeout expired after the connection was made.
    Timeout,
    /// The connection broke after it was made (reset, closed before the answer).
    Dropped,
}

impl TransportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Build => "build",
            TransportKind::Connect => "connect",
            TransportKind::Timeout => "timeout",
            TransportKind::Dropped => "dropped",
        }
    }
}

/// What one call observed, as the rules see it.
#[derive(Debug, Clone, Copy)]
pub enum Observation<'a> {
    Transport(TransportKind),
    Answer {
        http_status: u16,
        envelope: Option<&'a Envelope>,
    },
}

/// Which bodies a rule accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    Any,
    /// Any envelope.
    Envelope,
    /// An envelope with `status: success`.
    Success,
    /// An envelope with `status: error`.
    Error,
    /// Not an envelope (HTML, empty, truncated, other JSON).
    NotEnvelope,
}

/// One row of the classification table.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Stable name of the row (tests and logs refer to it).
    pub name: &'static str,
    /// `Some`: matches only this transport failure; `None`: only HTTP answers.
    pub transport: Option<TransportKind>,
    /// Inclusive HTTP status range.
    pub status: (u16, u16),
    pub body: Body,
    /// The envelope's `remark`, compared case-insensitively.
    pub remark: Option<&'static str>,
    /// A substring of one of the envelope's `message` lines, case-insensitive.
    pub message: Option<&'static str>,
    pub class: OutcomeClass,
}

const ANY: (u16, u16) = (0, u16::MAX);

impl Rule {
    const fn transport(name: &'static str, kind: TransportKind, class: OutcomeClass) -> Rule {
        Rule {
            name,
            transport: Some(kind),
            status: ANY,
            body: Body::Any,
            remark: None,
            message: None,
            class,
        }
    }

    const fn status(name: &'static str, lo: u16, hi: u16, class: OutcomeClass) -> Rule {
        Rule {
            name,
            transport: None,
            status: (lo, hi),
            body: Body::Any,
            remark: None,
            message: None,
            class,
        }
    }

    const fn remark(name: &'static str, remark: &'static str, class: OutcomeClass) -> Rule {
        Rule::status(name, 0, u16::MAX, class)
            .body(Body::Envelope)
            .with_remark(remark)
    }

    const fn message(name: &'static str, text: &'static str, class: OutcomeClass) -> Rule {
        Rule::status(name, 0, u16::MAX, class)
            .body(Body::Envelope)
            .with_message(text)
    }

    const fn body(mut self, body: Body) -> Rule {
        self.body = body;
        self
    }

    const fn with_remark(mut self, remark: &'static str) -> Rule {
        self.remark = Some(remark);
        self
    }

    const fn with_message(mut self, text: &'static str) -> Rule {
        self.message = Some(text);
        self
    }

    /// Whether this row matches the observation.
    pub fn matches(&self, obs: Observation<'_>) -> bool {
        match obs {
            Observation::Transport(kind) => self.transport == Some(kind),
            Observation::Answer {
                http_status,
                envelope,
            } => {
                if self.transport.is_some()
                    || http_status < self.status.0
                    || http_status > self.status.1
                {
                    return false;
                }
                let body_ok = match (self.body, envelope) {
                    (Body::Any, _) => true,
                    (Body::NotEnvelope, e) => e.is_none(),
                    (Body::Envelope, e) => e.is_some(),
                    (Body::Success, Some(e)) => e.is_success(),
                    (Body::Error, Some(e)) => e.status.eq_ignore_ascii_case("error"),
                    (Body::Success | Body::Error, None) => false,
                };
                body_ok
                    && self.remark.is_none_or(|r| {
                        envelope.is_some_and(|e| e.remark.trim().eq_ignore_ascii_case(r))
                    })
                    && self.message.is_none_or(|m| {
                        envelope.is_some_and(|e| {
                            e.message
                                .iter()
                                .any(|line| line.to_ascii_lowercase().contains(m))
                        })
                    })
            }
        }
    }
}

use OutcomeClass::{AccountRefused, Ambiguous, Rejected, Success, Throttled, Transient};

/// The classification table. First match wins; the last row matches all.
/// `message` texts are lower case (matching is case-insensitive).
pub static RULES: &[Rule] = &[
    // No HTTP answer at all.
    Rule::transport("not-built", TransportKind::Build, Transient),
    Rule::transport("no-connection", TransportKind::Connect, Transient),
    Rule::transport("timeout-after-connect", TransportKind::Timeout, Ambiguous),
    Rule::transport("connection-dropped", TransportKind::Dropped, Ambiguous),
    // The one good answer.
    Rule::status("success", 200, 299, Success).body(Body::Success),
    Rule::status("too-many-requests", 429, 429, Throttled),
    // Server failures: 504 may hide an upstream that acted; the others did not act.
    Rule::status("gateway-timeout", 504, 504, Ambiguous),
    Rule::status("server-error", 500, 599, Transient),
    Rule::status("request-timeout", 408, 408, Transient),
    // The account is the problem: stop the campaign.
    Rule::status("unauthorized", 401, 401, AccountRefused),
    Rule::message("ip-not-whitelisted", "whitelist", AccountRefused),
    Rule::message("ip-not-on-white-list", "white list", AccountRefused),
    Rule::message(
        "invalid-credentials",
        "invalid client credentials",
        AccountRefused,
    ),
    Rule::message(
        "secret-required",
        "client secret is required",
        AccountRefused,
    ),
    Rule::message("id-required", "client id is required", AccountRefused),
    Rule::remark("remark-unauthorized", "unauthorized", AccountRefused),
    Rule::remark(
        "whatsapp-not-connected",
        "whatsapp_not_connected",
        AccountRefused,
    ),
    Rule::message(
        "account-not-connected",
        "account is not connected",
        AccountRefused,
    ),
    Rule::message("must-be-connected", "must be connected", AccountRefused),
    Rule::remark("plan-inactive", "plan_inactive", AccountRefused),
    Rule::message("needs-active-plan", "active plan", AccountRefused),
    Rule::remark("template-not-found", "template_not_found", AccountRefused),
    Rule::message(
        "template-does-not-exist",
        "selected template does not exist",
        AccountRefused,
    ),
    Rule::message(
        "template-id-invalid",
        "selected template id is invalid",
        AccountRefused,
    ),
    Rule::remark(
        "template-not-approved",
        "template_not_approved",
        AccountRefused,
    ),
    Rule::message(
        "template-text-not-approved",
        "template is not approved",
        AccountRefused,
    ),
    Rule::status("forbidden", 403, 403, AccountRefused),
    Rule::status("redirected", 300, 399, AccountRefused),
    Rule::status("no-such-endpoint", 404, 405, AccountRefused).body(Body::NotEnvelope),
    // This recipient (or this request) is the problem.
    Rule::remark("invalid-number", "invalid_number", Rejected),
    Rule::remark("blocked-contact", "blocked_contact", Rejected),
    Rule::message("contact-is-blocked", "contact is blocked", Rejected),
    Rule::remark("validation-error", "validation_error", Rejected),
    Rule::status("client-error", 400, 499, Rejected),
    Rule::status("error-envelope", 0, u16::MAX, Rejected).body(Body::Error),
    // A yes we cannot read, and anything else we do not understand.
    Rule::status("unreadable-2xx", 200, 299, Ambiguous),
    Rule::status("anything-else", 0, u16::MAX, Ambiguous),
];

/// The first rule of [`RULES`] that matches (there always is one).
pub fn classify(obs: Observation<'_>) -> &'static Rule {
    RULES
        .iter()
        .find(|r| r.matches(obs))
        .unwrap_or(&RULES[RULES.len() - 1])
}

/// The longest `Retry-After` taken at its word (a day). A server asking for
/// more is waited on this long and asked again, so a huge value can never
/// overflow the scheduling arithmetic of a caller (`Instant + Duration`).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// Parses a `Retry-After` value: delay in whole seconds, or an HTTP-date (a
/// date in the past gives zero), at most [`MAX_RETRY_AFTER`]. `None` when it
/// is neither (negative, fractional, `1e30`, `NaN`, text).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let wait = if let Ok(secs) = value.parse::<u64>() {
        Duration::from_secs(secs)
    } else if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Digits too many for a u64 still mean "very long".
        Duration::MAX
    } else {
        let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
        let at = SystemTime::from(at.with_timezone(&chrono::Utc));
        at.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests;
