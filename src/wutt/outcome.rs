//! Every send answer becomes exactly one [`Outcome`]; the rules are one table.

use std::time::Duration;

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
}
