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

/// One case per row of [`RULES`] (and the vendor's and the simulator's texts).
fn cases() -> Vec<(&'static str, Case)> {
    use Case::*;
    use TransportKind::*;
    let err = |r: &str, m: &[&str]| Some(env("error", r, m));
    vec![
        ("not-built", T(Build)),
        ("no-connection", T(Connect)),
        ("timeout-after-connect", T(Timeout)),
        ("connection-dropped", T(Dropped)),
        (
            "success",
            A(
                200,
                Some(env(
                    "success",
                    "message_sent",
                    &["Message sent successfully"],
                )),
            ),
        ),
        ("too-many-requests", A(429, err("too_many_requests", &[]))),
        ("too-many-requests", A(429, None)),
        ("gateway-timeout", A(504, None)),
        (
            "server-error",
            A(500, err("server_error", &["Server error"])),
        ),
        ("server-error", A(502, None)),
        ("server-error", A(503, None)),
        ("request-timeout", A(408, None)),
        ("unauthorized", A(401, None)),
        (
            "unauthorized",
            A(401, err("Unauthorized", &["The client secret is required"])),
        ),
        (
            "ip-not-whitelisted",
            A(
                403,
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
            "ip-not-on-white-list",
            A(
                200,
                err("denied", &["Please add your IP to the white list"]),
            ),
        ),
        (
            "invalid-credentials",
            A(200, err("x", &["Invalid client credentials"])),
        ),
        (
            "secret-required",
            A(200, err("x", &["The client secret is required"])),
        ),
        (
            "id-required",
            A(400, err("x", &["The client id is required"])),
        ),
        ("remark-unauthorized", A(422, err("Unauthorized", &[]))),
        (
            "whatsapp-not-connected",
            A(403, err("whatsapp_not_connected", &[])),
        ),
        (
            "account-not-connected",
            A(422, err("x", &["Your WhatsApp account is not connected"])),
        ),
        (
            "must-be-connected",
            A(
                422,
                err("x", &["The WhatsApp account must be connected first"]),
            ),
        ),
        ("plan-inactive", A(403, err("plan_inactive", &[]))),
        (
            "needs-active-plan",
            A(
                422,
                err("x", &["Interactive messages require an active plan"]),
            ),
        ),
        (
            "template-not-found",
            A(
                422,
                err(
                    "template_not_found",
                    &["The selected template does not exist"],
                ),
            ),
        ),
        (
            "template-does-not-exist",
            A(422, err("x", &["The selected template does not exist"])),
        ),
        (
            "template-id-invalid",
            A(
                422,
                err(
                    "validation_error",
                    &["The selected template id is invalid."],
                ),
            ),
        ),
        (
            "template-not-approved",
            A(
                422,
                err(
                    "template_not_approved",
                    &["The selected template is not approved"],
                ),
            ),
        ),
        (
            "template-text-not-approved",
            A(422, err("x", &["This template is not approved yet"])),
        ),
        ("forbidden", A(403, None)),
        ("redirected", A(302, None)),
        ("no-such-endpoint", A(404, None)),
        ("no-such-endpoint", A(405, None)),
        (
            "invalid-number",
            A(
                422,
                err("invalid_number", &["The mobile number is invalid"]),
            ),
        ),
        (
            "blocked-contact",
            A(422, err("blocked_contact", &["This contact is blocked"])),
        ),
        (
            "contact-is-blocked",
            A(400, err("x", &["This contact is blocked"])),
        ),
        (
            "validation-error",
            A(
                422,
                err("validation_error", &["The mobile field is required."]),
            ),
        ),
        ("client-error", A(404, err("not_found", &["Not found"]))),
        ("client-error", A(413, None)),
        ("client-error", A(400, err("bad", &[]))),
        ("error-envelope", A(200, err("something_new", &["Nope"]))),
        ("unreadable-2xx", A(200, None)),
        ("unreadable-2xx", A(202, Some(env("queued", "", &[])))),
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
    assert_eq!(class(200, Some(env("error", "", &[]))), Rejected);
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
