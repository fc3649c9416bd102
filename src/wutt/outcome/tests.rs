//! The classification table: one case per row (the vendor's and the
//! simulator's texts among them), unique row names, and `Retry-After`.

use super::*;
use std::collections::HashSet;

fn env(status: &str, remark: &str, messages: &[&str]) -> Envelope {
    Envelope {
        status: status.into(),
        remark: remark.into(),
        message: messages.iter().map(|s| s.to_string()).collect(),
        data: None,
    }
}

enum Case {
    T(TransportKind),
    A(u16, Option<Envelope>),
}

/// One case per row of [`RULES`], with the real server's texts (SERVER.md).
fn cases() -> Vec<(&'static str, Case)> {
    use Case::*;
    use TransportKind::*;
    let err = |r: &str, m: &[&str]| Some(env("error", r, m));
    let wa = |code: u32| crate::wutt::whatsapp::by_code(code).unwrap();
    vec![
        ("not-built", T(Build)),
        ("no-connection", T(Connect)),
        ("timeout-after-connect", T(Timeout)),
        ("connection-dropped", T(Dropped)),
        (
            "success",
            A(
                200,
                Some(env("success", "success", &["Message sent successfully"])),
            ),
        ),
        (
            "success",
            A(
                200,
                Some(env(
                    "success",
                    "template_sent",
                    &["Message sent successfully"],
                )),
            ),
        ),
        (
            "template-sent-answer-defect",
            A(
                200,
                err("exception", &["Undefined variable $conversationId"]),
            ),
        ),
        ("unauthorized", A(401, None)),
        (
            "unauthorized",
            A(401, err("Unauthorized", &["The client secret is required"])),
        ),
        (
            "unauthorized",
            A(
                401,
                err(
                    "Unauthorized",
                    &[
                        "Access to this API endpoint is restricted to IP addresses that have been explicitly whitelisted.",
                        "In order to access this API endpoint, please add your IP address (1.2.3.4) to the white list from the user dashboard.",
                    ],
                ),
            ),
        ),
        (
            "remark-unauthorized",
            A(200, err("Unauthorized", &["Invalid credentials"])),
        ),
        (
            "no-active-plan",
            A(
                200,
                err(
                    "subscription_required",
                    &[
                        "Your plan has expired. Please renew or purchase a new plan to regain access.",
                    ],
                ),
            ),
        ),
        (
            "api-not-in-plan",
            A(
                200,
                err(
                    "not_available",
                    &["Your current plan does not support API access. Please upgrade your plan."],
                ),
            ),
        ),
        (
            "no-user",
            A(
                200,
                err("user_error", &["No user found for provided credentials"]),
            ),
        ),
        (
            "whatsapp-not-connected",
            A(
                200,
                err("not_found", &["Please connect your whatsapp account first"]),
            ),
        ),
        (
            "unknown-from-number",
            A(
                200,
                err("not_found", &["The whatsapp account is not found"]),
            ),
        ),
        (
            "template-not-found",
            A(200, err("not_found", &["The template is not found"])),
        ),
        (
            "blocked-contact",
            A(
                200,
                err(
                    "not_found",
                    &[
                        "You cannot send or receive messages with this contact because they have been blocked.",
                    ],
                ),
            ),
        ),
        (
            "cta-url-not-found",
            A(200, err("not_found", &["The cta url is not found"])),
        ),
        (
            "list-not-found",
            A(
                200,
                err("not_found", &["The interactive list is not found"]),
            ),
        ),
        (
            "interactive-not-in-plan",
            A(
                200,
                err(
                    "not_found",
                    &[
                        "Your current plan does not support interactive messages. Please upgrade your plan.",
                    ],
                ),
            ),
        ),
        (
            "no-such-route",
            A(
                200,
                err(
                    "not_found",
                    &["The route external-api/v1/inbox/send-message could not be found."],
                ),
            ),
        ),
        (
            "method-not-supported",
            A(
                200,
                err(
                    "exception",
                    &[
                        "The GET method is not supported for route external-api/inbox/send-message. Supported methods: POST.",
                    ],
                ),
            ),
        ),
        (
            "other-not-found",
            A(200, err("not_found", &["Conversation not found"])),
        ),
        (
            "mobile-refused",
            A(
                200,
                err("validation_error", &["The mobile format is invalid."]),
            ),
        ),
        (
            "request-refused",
            A(
                200,
                err("validation_error", &["The template id field is required."]),
            ),
        ),
        (
            "text-to-non-contact",
            A(
                200,
                err(
                    "exception",
                    &["Attempt to read property \"mobileNumber\" on null"],
                ),
            ),
        ),
        (
            "whatsapp-account",
            A(
                200,
                err(
                    "exception",
                    &[
                        "Error validating access token: Session has expired on Tuesday, 01-Dec-26 10:00:00 PST.",
                    ],
                ),
            ),
        ),
        (
            "whatsapp-account",
            A(200, err("exception", &["(#200) Permissions error"])),
        ),
        (
            "whatsapp-campaign",
            A(200, err("exception", &[wa(132015).template_form()])),
        ),
        (
            "whatsapp-campaign",
            A(200, err("exception", &[&wa(131048).text_form()])),
        ),
        (
            "whatsapp-recipient",
            A(200, err("exception", &["(#131047) Re-engagement message"])),
        ),
        (
            "whatsapp-recipient",
            A(200, err("exception", &[wa(131026).template_form()])),
        ),
        (
            "whatsapp-throughput",
            A(200, err("exception", &["(#130429) Rate limit hit"])),
        ),
        (
            "whatsapp-throughput",
            A(
                200,
                err(
                    "exception",
                    &[
                        "Message failed to send because there were too many messages sent from this phone number in a short period of time",
                    ],
                ),
            ),
        ),
        (
            "whatsapp-pair-rate",
            A(200, err("exception", &[&wa(131056).text_form()])),
        ),
        (
            "whatsapp-pair-rate",
            A(200, err("exception", &[wa(131056).template_form()])),
        ),
        (
            "whatsapp-transient",
            A(200, err("exception", &["(#131000) Something went wrong"])),
        ),
        (
            "unknown-exception",
            A(200, err("exception", &["Something went wrong"])),
        ),
        (
            "unknown-exception",
            A(200, err("exception", &["Message sending failed"])),
        ),
        (
            "unknown-exception",
            A(
                200,
                err(
                    "exception",
                    &[
                        "cURL error 28: Operation timed out after 30001 milliseconds with 0 bytes received",
                    ],
                ),
            ),
        ),
        (
            "unknown-exception",
            A(200, err("exception", &["(#999999) New"])),
        ),
        ("too-many-requests", A(429, err("too_many_requests", &[]))),
        ("too-many-requests", A(429, None)),
        ("maintenance", A(503, None)),
        ("server-error", A(500, None)),
        ("server-error", A(502, None)),
        ("server-error", A(504, None)),
        ("request-timeout", A(408, None)),
        ("forbidden", A(403, None)),
        ("redirected", A(302, None)),
        ("no-such-endpoint", A(404, None)),
        ("no-such-endpoint", A(405, None)),
        ("client-error", A(400, None)),
        ("client-error", A(413, None)),
        (
            "contact-limit",
            A(
                200,
                err(
                    "contact_limit_error",
                    &[
                        "You\u{2019}ve reached your  contact limit. Please upgrade your plan to continue.",
                    ],
                ),
            ),
        ),
        ("unreadable-2xx", A(200, None)),
        ("unreadable-2xx", A(200, err("something_new", &["Nope"]))),
        ("anything-else", A(101, None)),
    ]
}

#[test]
fn each_case_hits_its_row() {
    for (expected, case) in cases() {
        let rule = match &case {
            Case::T(k) => classify(Observation::Transport(*k)),
            Case::A(s, e) => classify(Observation::Answer {
                http_status: *s,
                envelope: e.as_ref(),
            }),
        };
        assert_eq!(rule.name, expected, "case for {expected}");
    }
}

#[test]
fn every_row_has_a_case_and_a_unique_name() {
    let covered: HashSet<&str> = cases().iter().map(|(n, _)| *n).collect();
    let mut names = HashSet::new();
    for rule in RULES {
        assert!(names.insert(rule.name), "duplicate rule name {}", rule.name);
        assert!(
            covered.contains(rule.name),
            "no test case for {}",
            rule.name
        );
        if let Some(m) = rule.message {
            assert_eq!(
                m,
                m.to_ascii_lowercase(),
                "{}: message must be lower case",
                rule.name
            );
        }
    }
}

#[test]
fn brief_classes() {
    let class = |s, e: Option<Envelope>| {
        classify(Observation::Answer {
            http_status: s,
            envelope: e.as_ref(),
        })
        .class
    };
    assert_eq!(class(200, Some(env("success", "", &[]))), Success);
    assert_eq!(class(200, Some(env("error", "", &[]))), Ambiguous);
    assert_eq!(class(200, None), Ambiguous);
    assert_eq!(class(401, Some(env("success", "", &[]))), AccountRefused);
    assert_eq!(class(503, None), Transient);
    assert_eq!(class(504, None), Ambiguous);
    assert_eq!(
        classify(Observation::Transport(TransportKind::Connect)).class,
        Transient
    );
}

#[test]
fn outcome_keeps_retry_after_only_when_throttled() {
    let reply = Reply {
        http_status: Some(429),
        ..Reply::default()
    };
    let o = Outcome::classify(None, reply, Some(Duration::from_secs(7)));
    assert_eq!(o.class(), Throttled);
    assert!(matches!(o, Outcome::Throttled { retry_after: Some(d), .. } if d.as_secs() == 7));
    let o = Outcome::classify(Some(TransportKind::Dropped), Reply::default(), None);
    assert_eq!(o.class(), Ambiguous);
    assert_eq!(Outcome::not_sent("x").class(), Rejected);
}

#[test]
fn retry_after_seconds_and_dates() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
    assert_eq!(
        parse_retry_after(" 12 ", now),
        Some(Duration::from_secs(12))
    );
    assert_eq!(
        parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now),
        Some(Duration::from_secs(30))
    );
    assert_eq!(
        parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
        Some(Duration::ZERO)
    );
    assert_eq!(parse_retry_after("soon", now), None);
    assert_eq!(parse_retry_after("-3", now), None);
    assert_eq!(parse_retry_after("", now), None);
    for junk in ["1e30", "-5", "NaN", "inf", "2.5", "0x10", "7 s", "٣"] {
        assert_eq!(parse_retry_after(junk, now), None, "{junk:?}");
    }
}

#[test]
fn huge_retry_after_is_capped_not_overflowed() {
    let now = SystemTime::now();
    for huge in [
        "86401",
        "18446744073709551615",
        "99999999999999999999999999999999",
        "Fri, 31 Dec 9999 23:59:59 GMT",
    ] {
        let wait = parse_retry_after(huge, now).unwrap();
        assert_eq!(wait, MAX_RETRY_AFTER, "{huge}");
        // What a scheduler does with it must not panic.
        let _ = std::time::Instant::now() + wait;
    }
    assert_eq!(
        parse_retry_after("86400", now),
        Some(Duration::from_secs(86_400))
    );
    assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
}
