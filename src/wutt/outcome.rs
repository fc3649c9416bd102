//! Every send answer becomes exactly one [`Outcome`]; the rules are one table.
//!
//! [`RULES`] is read top to bottom and the first row that matches decides the
//! class; its last row matches everything, so every answer and every
//! transport failure gets exactly one class. Each row names the section of
//! `SERVER.md` (how the real server answers) it comes from. The server answers
//! nearly every refusal with HTTP 200, so rows match on `remark`, on the
//! `message` text and on WhatsApp's own error (its `(#code)` or its details
//! sentence, [`super::whatsapp`]), not on the HTTP status.
//!
//! Choices written down:
//! - `exception` + `Undefined variable $conversationId` is *success*: the
//!   server sent and stored the template, then failed on its own answer (§5).
//! - Any other `exception` text we do not know is *ambiguous*: the PHP
//!   exception may come from before WhatsApp's call or after it (§5).
//! - 500 is *ambiguous*: the controllers catch exceptions, so a 500 is a PHP
//!   error that escaped them, which can happen after WhatsApp sent (a fatal
//!   error, a time limit) (§1). 502 too: the proxy lost the application
//!   mid-request. 504: the proxy gave up waiting; the server may still send.
//!   503 is *transient*: maintenance mode and a proxy with no upstream answer
//!   before the application runs (§1).
//! - A redirect, or a 404/405 that is not an envelope (a web server's page),
//!   means the base URL is wrong: the whole account is refused (§1).
//! - When the status line arrived but the body broke off, the status decides
//!   (a 2xx is then ambiguous).

use std::time::{Duration, SystemTime};

use super::envelope::Envelope;
use super::whatsapp::{self, Scope};

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
    /// How the call failed when no HTTP answer arrived.
    pub transport: Option<TransportKind>,
}

/// The class of an answer, as stored in the database (`outcome` columns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutcomeClass {
    Success,
    Rejected,
    Throttled,
    RecipientThrottled,
    Transient,
    CampaignRefused,
    AccountRefused,
    Ambiguous,
}

impl OutcomeClass {
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeClass::Success => "success",
            OutcomeClass::Rejected => "rejected",
            OutcomeClass::Throttled => "throttled",
            OutcomeClass::RecipientThrottled => "recipient_throttled",
            OutcomeClass::Transient => "transient",
            OutcomeClass::CampaignRefused => "campaign_refused",
            OutcomeClass::AccountRefused => "account_refused",
            OutcomeClass::Ambiguous => "ambiguous",
        }
    }
}

/// The meaning of one send call for the recipient and the campaign. The caller
/// must handle every kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The message was sent: `status: success`, or an answer the server is
    /// known to give after sending (§5: `Undefined variable $conversationId`).
    Success(Reply),
    /// Refused for this recipient (blocked, number refused, not a contact for
    /// a text, WhatsApp could not deliver). Also returned, with
    /// `http_status: None`, for a request the client refused to send (bad
    /// media, missing fields): nothing reached the API.
    Rejected(Reply),
    /// The account's pace is too high (WhatsApp's throughput limit, a proxy's
    /// 429): slow the account down and retry; no attempt spent.
    Throttled {
        retry_after: Option<Duration>,
        reply: Reply,
    },
    /// Too many messages to this one number (WhatsApp 131056): retry this
    /// recipient later; no attempt spent, the account's pace unchanged.
    RecipientThrottled(Reply),
    /// The request never reached the server, or the server failed before
    /// acting, or WhatsApp failed for a moment: safe to retry.
    Transient(Reply),
    /// This campaign cannot go on (its template is missing, unapproved,
    /// paused; its sending number is unknown; its interactive element is
    /// missing or not in the plan; WhatsApp flags its number's quality):
    /// pause the campaign.
    CampaignRefused(Reply),
    /// The account itself was refused (credentials, IP whitelist, plan, API
    /// not in the plan, WhatsApp not connected, WhatsApp account errors):
    /// pause every campaign of the account.
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
            Outcome::RecipientThrottled(_) => OutcomeClass::RecipientThrottled,
            Outcome::Transient(_) => OutcomeClass::Transient,
            Outcome::CampaignRefused(_) => OutcomeClass::CampaignRefused,
            Outcome::AccountRefused(_) => OutcomeClass::AccountRefused,
            Outcome::Ambiguous(_) => OutcomeClass::Ambiguous,
        }
    }

    pub fn reply(&self) -> &Reply {
        match self {
            Outcome::Success(r)
            | Outcome::Rejected(r)
            | Outcome::RecipientThrottled(r)
            | Outcome::Transient(r)
            | Outcome::CampaignRefused(r)
            | Outcome::AccountRefused(r)
            | Outcome::Ambiguous(r) => r,
            Outcome::Throttled { reply, .. } => reply,
        }
    }

    /// The answer, taken out of the outcome.
    pub fn into_reply(self) -> Reply {
        match self {
            Outcome::Throttled { reply, .. } => reply,
            Outcome::Success(r)
            | Outcome::Rejected(r)
            | Outcome::RecipientThrottled(r)
            | Outcome::Transient(r)
            | Outcome::CampaignRefused(r)
            | Outcome::AccountRefused(r)
            | Outcome::Ambiguous(r) => r,
        }
    }

    /// Builds the outcome of a class (`retry_after` is kept only for throttling).
    pub fn new(class: OutcomeClass, reply: Reply, retry_after: Option<Duration>) -> Outcome {
        match class {
            OutcomeClass::Success => Outcome::Success(reply),
            OutcomeClass::Rejected => Outcome::Rejected(reply),
            OutcomeClass::Throttled => Outcome::Throttled { retry_after, reply },
            OutcomeClass::RecipientThrottled => Outcome::RecipientThrottled(reply),
            OutcomeClass::Transient => Outcome::Transient(reply),
            OutcomeClass::CampaignRefused => Outcome::CampaignRefused(reply),
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
        mut reply: Reply,
        retry_after: Option<Duration>,
    ) -> Outcome {
        reply.transport = reply.transport.or(transport);
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
    /// Where the row comes from: the section of SERVER.md.
    pub source: &'static str,
    /// `Some`: matches only this transport failure; `None`: only HTTP answers.
    pub transport: Option<TransportKind>,
    /// Inclusive HTTP status range.
    pub status: (u16, u16),
    pub body: Body,
    /// The envelope's `remark`, compared case-insensitively.
    pub remark: Option<&'static str>,
    /// A substring of one of the envelope's `message` lines, case-insensitive.
    pub message: Option<&'static str>,
    /// WhatsApp's error in the message lines is of this scope ([`whatsapp::find`]).
    pub whatsapp: Option<Scope>,
    pub class: OutcomeClass,
    /// What a person should do about it, for pause reasons and reports.
    pub hint: Option<&'static str>,
}

const ANY: (u16, u16) = (0, u16::MAX);

impl Rule {
    const fn new(name: &'static str, source: &'static str, class: OutcomeClass) -> Rule {
        Rule {
            name,
            source,
            transport: None,
            status: ANY,
            body: Body::Any,
            remark: None,
            message: None,
            whatsapp: None,
            class,
            hint: None,
        }
    }

    const fn transport(name: &'static str, kind: TransportKind, class: OutcomeClass) -> Rule {
        let mut r = Rule::new(name, "transport", class);
        r.transport = Some(kind);
        r
    }

    const fn status(
        name: &'static str,
        source: &'static str,
        lo: u16,
        hi: u16,
        class: OutcomeClass,
    ) -> Rule {
        let mut r = Rule::new(name, source, class);
        r.status = (lo, hi);
        r
    }

    /// An error envelope with this remark (any HTTP status).
    const fn remark(
        name: &'static str,
        source: &'static str,
        remark: &'static str,
        class: OutcomeClass,
    ) -> Rule {
        let mut r = Rule::new(name, source, class);
        r.body = Body::Error;
        r.remark = Some(remark);
        r
    }

    /// An error envelope with this remark and a message line containing `text`.
    const fn said(
        name: &'static str,
        source: &'static str,
        remark: &'static str,
        text: &'static str,
        class: OutcomeClass,
    ) -> Rule {
        let mut r = Rule::remark(name, source, remark, class);
        r.message = Some(text);
        r
    }

    /// An `exception` carrying a WhatsApp error of this scope.
    const fn whatsapp(name: &'static str, scope: Scope, class: OutcomeClass) -> Rule {
        let mut r = Rule::remark(name, "SERVER.md §6", "exception", class);
        r.whatsapp = Some(scope);
        r
    }

    const fn body(mut self, body: Body) -> Rule {
        self.body = body;
        self
    }

    const fn hint(mut self, hint: &'static str) -> Rule {
        self.hint = Some(hint);
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
                    (Body::Error, Some(e)) => !e.is_success(),
                    (Body::Success | Body::Error, None) => false,
                };
                body_ok
                    && self.remark.is_none_or(|r| {
                        envelope.is_some_and(|e| e.remark.trim().eq_ignore_ascii_case(r))
                    })
                    && self.message.is_none_or(|m| {
                        envelope.is_some_and(|e| {
                            e.message.iter().any(|line| line.to_lowercase().contains(m))
                        })
                    })
                    && self.whatsapp.is_none_or(|scope| {
                        envelope.is_some_and(|e| {
                            e.message
                                .iter()
                                .any(|line| whatsapp::find(line).is_some_and(|(_, s)| s == scope))
                        })
                    })
            }
        }
    }
}

use OutcomeClass::{
    AccountRefused, Ambiguous, CampaignRefused, RecipientThrottled, Rejected, Success, Throttled,
    Transient,
};

/// The classification table. First match wins; the last row matches all.
/// `message` texts are lower case (matching is case-insensitive).
pub static RULES: &[Rule] = &[
    // No HTTP answer at all.
    Rule::transport("not-built", TransportKind::Build, Transient),
    Rule::transport("no-connection", TransportKind::Connect, Transient),
    Rule::transport("timeout-after-connect", TransportKind::Timeout, Ambiguous),
    Rule::transport("connection-dropped", TransportKind::Dropped, Ambiguous),
    // Sent.
    Rule::status("success", "SERVER.md §4", 200, 299, Success).body(Body::Success),
    Rule::said(
        "template-sent-answer-defect",
        "SERVER.md §5 template step 9",
        "exception",
        "undefined variable $conversationid",
        Success,
    ),
    // Authentication, plan (SERVER.md §2): the account.
    Rule::status("unauthorized", "SERVER.md §2", 401, 401, AccountRefused).hint(
        "check WUTT_CLIENT_ID / WUTT_CLIENT_SECRET and the IP whitelist in the Wutt dashboard",
    ),
    Rule::remark(
        "remark-unauthorized",
        "SERVER.md §2",
        "unauthorized",
        AccountRefused,
    )
    .hint("check WUTT_CLIENT_ID / WUTT_CLIENT_SECRET and the IP whitelist in the Wutt dashboard"),
    Rule::remark(
        "no-active-plan",
        "SERVER.md §2",
        "subscription_required",
        AccountRefused,
    )
    .hint("renew or buy a Wutt plan, then resume the paused campaigns"),
    Rule::remark(
        "api-not-in-plan",
        "SERVER.md §2",
        "not_available",
        AccountRefused,
    )
    .hint("upgrade the Wutt plan to one with API access, then resume the paused campaigns"),
    Rule::remark("no-user", "SERVER.md §3", "user_error", AccountRefused)
        .hint("check the credentials: they belong to no active Wutt user"),
    // Not found before sending (SERVER.md §5): the account or the campaign.
    Rule::said(
        "whatsapp-not-connected",
        "SERVER.md §5 template step 6",
        "not_found",
        "connect your whatsapp account",
        AccountRefused,
    )
    .hint("connect a WhatsApp number in the Wutt dashboard, then resume the paused campaigns"),
    Rule::said(
        "unknown-from-number",
        "SERVER.md §5 text step 2",
        "not_found",
        "whatsapp account is not found",
        CampaignRefused,
    )
    .hint("from_number must be one of the account's WhatsApp numbers exactly as Wutt stores it (or leave it out); fix the manifest or row, then resume"),
    Rule::said(
        "template-not-found",
        "SERVER.md §5 template step 5",
        "not_found",
        "template is not found",
        CampaignRefused,
    )
    .hint("the template is missing or no longer approved: check `wutt-campaign templates list`; resume once it is approved"),
    Rule::said(
        "blocked-contact",
        "SERVER.md §5 step 4",
        "not_found",
        "have been blocked",
        Rejected,
    ),
    Rule::said(
        "cta-url-not-found",
        "SERVER.md §5 text step 5",
        "not_found",
        "cta url is not found",
        CampaignRefused,
    )
    .hint("cta_url_id names no CTA of the account: fix the manifest"),
    Rule::said(
        "list-not-found",
        "SERVER.md §5 text step 5",
        "not_found",
        "interactive list is not found",
        CampaignRefused,
    )
    .hint("interactive_list_id names no list of the account: fix the manifest"),
    Rule::said(
        "interactive-not-in-plan",
        "SERVER.md §5 text step 5",
        "not_found",
        "does not support interactive",
        CampaignRefused,
    )
    .hint("the Wutt plan has no interactive messages: upgrade it or send without cta_url_id / interactive_list_id"),
    Rule::said(
        "no-such-route",
        "SERVER.md §1",
        "not_found",
        "could not be found",
        AccountRefused,
    )
    .hint("check WUTT_BASE_URL: the API lives under …/external-api"),
    Rule::remark("other-not-found", "SERVER.md §3", "not_found", CampaignRefused)
        .hint("the server refused something the campaign names; read its message"),
    // Validation (SERVER.md §3, §5 step 1): the number is this recipient's;
    // any other field is the campaign's (every row would fail alike).
    Rule::said(
        "mobile-refused",
        "SERVER.md §5 step 1",
        "validation_error",
        "mobile",
        Rejected,
    ),
    Rule::remark(
        "request-refused",
        "SERVER.md §5 step 1",
        "validation_error",
        CampaignRefused,
    )
    .hint("the server refused a field of the campaign's messages; read its message and fix the manifest"),
    // A wrong method for a route: the base URL points at the wrong place.
    Rule::said(
        "method-not-supported",
        "SERVER.md §1",
        "exception",
        "method is not supported for route",
        AccountRefused,
    )
    .hint("check WUTT_BASE_URL: the API lives under …/external-api"),
    // A text to a number that is not a contact fails before sending.
    Rule::said(
        "text-to-non-contact",
        "SERVER.md §5 text step 3",
        "exception",
        "\"mobilenumber\" on null",
        Rejected,
    ),
    // WhatsApp's own errors (SERVER.md §6).
    Rule::whatsapp("whatsapp-account", Scope::Account, AccountRefused)
        .hint("WhatsApp refused the business account (token, permissions, payment, lock): fix it in Meta's and Wutt's dashboards, then resume"),
    Rule::whatsapp("whatsapp-campaign", Scope::Campaign, CampaignRefused)
        .hint("WhatsApp refused the template or flagged the number's quality: check the template in Wutt/Meta before resuming"),
    Rule::whatsapp("whatsapp-recipient", Scope::Recipient, Rejected),
    Rule::whatsapp("whatsapp-throughput", Scope::AccountThrottle, Throttled),
    Rule::whatsapp("whatsapp-pair-rate", Scope::RecipientThrottle, RecipientThrottled),
    Rule::whatsapp("whatsapp-transient", Scope::Transient, Transient),
    // Any other exception text: before or after WhatsApp's call, we cannot tell.
    Rule::remark("unknown-exception", "SERVER.md §5", "exception", Ambiguous),
    // In front of the application (SERVER.md §1): proxies, framework pages.
    Rule::status("too-many-requests", "SERVER.md §1", 429, 429, Throttled),
    Rule::status("maintenance", "SERVER.md §1", 503, 503, Transient),
    Rule::status("server-error", "SERVER.md §1", 500, 599, Ambiguous),
    Rule::status("request-timeout", "SERVER.md §1", 408, 408, Transient),
    Rule::status("forbidden", "SERVER.md §1", 403, 403, AccountRefused)
        .hint("a firewall in front of Wutt refused this machine; check the network and WUTT_BASE_URL"),
    Rule::status("redirected", "SERVER.md §1", 300, 399, AccountRefused)
        .hint("check WUTT_BASE_URL: the API lives under …/external-api"),
    Rule::status("no-such-endpoint", "SERVER.md §1", 404, 405, AccountRefused)
        .body(Body::NotEnvelope)
        .hint("check WUTT_BASE_URL: the API lives under …/external-api"),
    Rule::status("client-error", "SERVER.md §1", 400, 499, Rejected),
    // Remarks of the controllers that no send uses: a refusal we cannot place.
    Rule::remark("contact-limit", "SERVER.md §4", "contact_limit_error", CampaignRefused)
        .hint("the Wutt plan's contact limit is reached: upgrade the plan or delete contacts, then resume"),
    // A yes we cannot read, and anything else we do not understand.
    Rule::status("unreadable-2xx", "SERVER.md §3", 200, 299, Ambiguous),
    Rule::new("anything-else", "SERVER.md §3", Ambiguous),
];

/// What a body that is not the envelope looks like, in words.
pub fn body_kind(excerpt: Option<&str>) -> &'static str {
    match excerpt.map(str::trim_start) {
        None | Some("") => "an empty body",
        Some(b) if b.starts_with('<') => "an HTML page",
        Some(_) => "a body that is not the API's envelope",
    }
}

/// The row that decided an HTTP answer (`None` for transport failures).
pub fn rule_of(reply: &Reply) -> Option<&'static Rule> {
    reply.http_status.map(|http_status| {
        classify(Observation::Answer {
            http_status,
            envelope: reply.envelope.as_ref(),
        })
    })
}

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
