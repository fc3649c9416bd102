//! WhatsApp's own errors, as the Wutt server passes them on in an `exception`
//! answer (SERVER.md sections 5 and 6): one table of Meta's Cloud API error
//! codes with their title, the details sentence, and what each means for a
//! campaign.
//!
//! The server forwards them in two forms. `send-message` gives WhatsApp's
//! `error.message`, which carries the code: `(#131047) Re-engagement message`.
//! `send-template-message` prefers `error_data.details`, a sentence without
//! the code. [`find`] reads either. The simulator writes both forms from this
//! same table ([`WhatsAppError::text_form`], [`WhatsAppError::template_form`]).

/// Who a WhatsApp error is about, and so what the runner does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The WhatsApp account itself (token, permissions, payment, lock):
    /// pause every campaign of the account.
    Account,
    /// The template or the sending number's quality: pause this campaign.
    Campaign,
    /// This recipient cannot be reached: the recipient fails.
    Recipient,
    /// The account's throughput: slow down, retry, no attempt spent.
    AccountThrottle,
    /// Too many messages to this one number: retry this recipient later,
    /// no attempt spent, the account's pace unchanged.
    RecipientThrottle,
    /// WhatsApp failed for a moment: retry.
    Transient,
}

/// One row of Meta's error list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WhatsAppError {
    pub code: u32,
    /// Meta's title, as in the `(#code) title` form.
    pub title: &'static str,
    /// The details sentence (`error_data.details`), as the template form carries it.
    pub details: &'static str,
    /// Lower-case fragments that identify the details sentence (the first is
    /// a part of `details`; others are known variants).
    pub fragments: &'static [&'static str],
    pub scope: Scope,
}

impl WhatsAppError {
    /// What `send-message` answers: `(#CODE) Title`.
    pub fn text_form(&self) -> String {
        format!("(#{}) {}", self.code, self.title)
    }

    /// What `send-template-message` answers: the details sentence.
    pub fn template_form(&self) -> &'static str {
        self.details
    }
}

const fn e(
    code: u32,
    title: &'static str,
    details: &'static str,
    fragments: &'static [&'static str],
    scope: Scope,
) -> WhatsAppError {
    WhatsAppError {
        code,
        title,
        details,
        fragments,
        scope,
    }
}

use Scope::{Account, AccountThrottle, Campaign, Recipient, RecipientThrottle, Transient};

/// Meta's Cloud API errors that a send can meet, by code. A code outside the
/// table (and in none of the ranges of [`scope_of_code`]) is not classified
/// here: the answer stays ambiguous.
pub static ERRORS: &[WhatsAppError] = &[
    // Throughput.
    e(
        130429,
        "Rate limit hit",
        "Message failed to send because there were too many messages sent from this phone number in a short period of time",
        &["too many messages sent from this phone number in a short period"],
        AccountThrottle,
    ),
    e(
        131056,
        "(Business Account, Consumer Account) pair rate limit hit",
        "Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time",
        &[
            "to the same phone number in a short period",
            "to the same recipient phone number",
        ],
        RecipientThrottle,
    ),
    e(
        4,
        "Application request limit reached",
        "The app has reached its API call rate limit",
        &["reached its api call rate limit"],
        AccountThrottle,
    ),
    e(
        80007,
        "Rate limit issues",
        "The WhatsApp Business Account has reached its rate limit",
        &["business account has reached its rate limit"],
        AccountThrottle,
    ),
    // Quality of the sending number.
    e(
        131048,
        "Spam rate limit hit",
        "Message failed to send because there are restrictions on how many messages can be sent from this phone number. This may be because too many previous messages were blocked or flagged as spam",
        &[
            "flagged as spam",
            "restrictions on how many messages can be sent",
        ],
        Campaign,
    ),
    // This recipient.
    e(
        131026,
        "Message undeliverable",
        "Message failed to send because the recipient is unable to receive messages: the number may not be on WhatsApp, may not have accepted the latest terms, or may use an old version of WhatsApp",
        &[
            "recipient is unable to receive",
            "unable to deliver message",
        ],
        Recipient,
    ),
    e(
        131047,
        "Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer last replied to this number",
        &["more than 24 hours have passed"],
        Recipient,
    ),
    e(
        131030,
        "Recipient phone number not in allowed list",
        "Recipient phone number not in allowed list: add the recipient phone number to the recipient list and try again",
        &["not in allowed list"],
        Recipient,
    ),
    e(
        131051,
        "Unsupported message type",
        "Message type is not currently supported",
        &["message type is not currently supported"],
        Recipient,
    ),
    e(
        131052,
        "Media download error",
        "Unable to download the media sent by the user",
        &["unable to download the media"],
        Transient,
    ),
    e(
        131053,
        "Media upload error",
        "Unable to upload the media used in the message",
        &["unable to upload the media"],
        Transient,
    ),
    e(
        100,
        "Invalid parameter",
        "The request included one or more unsupported or misspelled parameters",
        &["unsupported or misspelled parameters"],
        Recipient,
    ),
    e(
        131008,
        "Required parameter is missing",
        "The request is missing a required parameter",
        &["missing a required parameter"],
        Recipient,
    ),
    e(
        132018,
        "There was an issue with the parameters in your template",
        "There was an issue with the parameters in your template: a parameter is empty or has new-line or tab characters or more than 4 consecutive spaces",
        &["issue with the parameters in your template"],
        Recipient,
    ),
    // The template: the campaign cannot go on.
    e(
        132000,
        "Number of parameters does not match the expected number of params",
        "The number of variable parameter values included in the request did not match the number of variable parameters defined in the template",
        &[
            "did not match the number of variable parameters",
            "does not match the expected number of params",
        ],
        Campaign,
    ),
    e(
        132001,
        "Template name does not exist in the translation",
        "The template does not exist in the specified language or the template has not been approved",
        &[
            "template does not exist in the specified language",
            "does not exist in the translation",
        ],
        Campaign,
    ),
    e(
        132005,
        "Template Hydrated Text Too Long",
        "Translated text is too long",
        &["translated text is too long"],
        Campaign,
    ),
    e(
        132007,
        "Template Format Character Policy Violated",
        "Template content violates a WhatsApp policy",
        &["violates a whatsapp policy"],
        Campaign,
    ),
    e(
        132012,
        "Template Parameter Format Mismatch",
        "Variable parameter values formatted incorrectly",
        &["parameter values formatted incorrectly"],
        Campaign,
    ),
    e(
        132015,
        "Template is Paused",
        "Template is paused due to low quality so it cannot be sent in a template message",
        &["template is paused"],
        Campaign,
    ),
    e(
        132016,
        "Template is Disabled",
        "Template has been paused too many times due to low quality and is now permanently disabled",
        &["permanently disabled"],
        Campaign,
    ),
    // The WhatsApp account.
    e(
        0,
        "AuthException",
        "We were unable to authenticate the app user",
        &["unable to authenticate the app user"],
        Account,
    ),
    e(
        190,
        "Access token has expired",
        "Error validating access token: Session has expired",
        &["error validating access token", "access token has expired"],
        Account,
    ),
    e(
        3,
        "API Method",
        "Capability or permissions issue",
        &["capability or permissions issue"],
        Account,
    ),
    e(
        10,
        "Permission Denied",
        "Permission is either not granted or has been removed",
        &["permission is either not granted or has been removed"],
        Account,
    ),
    e(
        131031,
        "Account has been locked",
        "The WhatsApp Business Account has been locked",
        &["has been locked"],
        Account,
    ),
    e(
        131042,
        "Business eligibility payment issue",
        "Message failed to send because there were one or more errors related to your payment method",
        &["related to your payment method"],
        Account,
    ),
    e(
        133010,
        "Phone number not registered",
        "Phone number not registered on the WhatsApp Business Platform",
        &["not registered on the whatsapp business platform"],
        Account,
    ),
    e(
        368,
        "Temporarily blocked for policies violations",
        "The WhatsApp Business Account associated with the app has been restricted or disabled for violating a platform policy",
        &["for violating a platform policy"],
        Account,
    ),
    // WhatsApp's own hiccups.
    e(
        131000,
        "Something went wrong",
        "Message failed to send due to an unknown error",
        &["due to an unknown error"],
        Transient,
    ),
    e(
        131016,
        "Service unavailable",
        "A service is temporarily unavailable",
        &["service is temporarily unavailable"],
        Transient,
    ),
    e(
        1,
        "API Unknown",
        "Invalid request or possible server error",
        &["invalid request or possible server error"],
        Transient,
    ),
    e(
        2,
        "API Service",
        "Temporary due to downtime or due to being overloaded",
        &["downtime or due to being overloaded"],
        Transient,
    ),
];

/// The row of `code`.
pub fn by_code(code: u32) -> Option<&'static WhatsAppError> {
    ERRORS.iter().find(|e| e.code == code)
}

/// Codes outside [`ERRORS`] that Meta groups by range: 200–299 are
/// permissions of the account.
pub fn scope_of_code(code: u32) -> Option<Scope> {
    by_code(code)
        .map(|e| e.scope)
        .or_else(|| (200..=299).contains(&code).then_some(Scope::Account))
}

/// The code in a `(#CODE) …` text, wherever it stands.
pub fn code_in(text: &str) -> Option<u32> {
    let start = text.find("(#")? + 2;
    let rest = &text[start..];
    let end = rest.find(')')?;
    let digits = &rest[..end];
    (!digits.is_empty() && digits.len() <= 9 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

/// What a WhatsApp error text says: by its `(#code)` when it has one,
/// else by its details sentence. `None`: not a WhatsApp error we know.
pub fn find(text: &str) -> Option<(u32, Scope)> {
    if let Some(code) = code_in(text) {
        return scope_of_code(code).map(|s| (code, s));
    }
    let lower = text.to_lowercase();
    ERRORS
        .iter()
        .find(|e| e.fragments.iter().any(|f| lower.contains(f)))
        .map(|e| (e.code, e.scope))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_of_every_row_are_found_again() {
        for e in ERRORS {
            assert_eq!(find(&e.text_form()), Some((e.code, e.scope)), "{}", e.code);
            let details = e.template_form();
            assert_eq!(
                find(details).map(|f| f.1),
                Some(e.scope),
                "details of {}: {details}",
                e.code
            );
            assert!(
                details.to_lowercase().contains(e.fragments[0]),
                "first fragment of {} is not in its details",
                e.code
            );
        }
    }

    #[test]
    fn codes_are_unique_and_ranges_apply() {
        for (i, e) in ERRORS.iter().enumerate() {
            assert!(ERRORS[..i].iter().all(|o| o.code != e.code), "{}", e.code);
        }
        assert_eq!(scope_of_code(250), Some(Scope::Account));
        assert_eq!(scope_of_code(999_999), None);
        assert_eq!(code_in("(#130429) Rate limit hit"), Some(130429));
        assert_eq!(code_in("x (#) y"), None);
        assert_eq!(code_in("(#12a) y"), None);
        assert_eq!(find("Something went wrong"), None);
        assert_eq!(find("Message sending failed"), None);
        assert_eq!(
            find("Error validating access token: Session has expired on Tuesday"),
            Some((190, Scope::Account))
        );
    }
}
