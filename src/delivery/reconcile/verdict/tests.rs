//! Each rule of [`decide`], at the edges of the whole-second resolution and
//! the clock's uncertainty.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};

use super::*;

fn t(secs: f64) -> DateTime<Utc> {
    let whole = secs.floor();
    Utc.timestamp_opt(whole as i64, ((secs - whole) * 1e9) as u32)
        .single()
        .unwrap()
}

fn iso(secs: i64) -> String {
    t(secs as f64)
        .format("%Y-%m-%dT%H:%M:%S.000000Z")
        .to_string()
}

/// Half a second: exact in binary, so sums of it compare equal.
const START: f64 = 1_000_000.5;

fn attempt() -> Attempt {
    Attempt {
        mobile_code: "880".into(),
        mobile: "1712345678".into(),
        started: Some((t(START), StartedFrom::Send)),
        ended_at: t(START + 1.0),
        answered: true,
        contact_step: ContactStep::NotTaken,
    }
}

fn limits() -> Limits {
    Limits {
        max_uncertainty: 2.0,
        delay: chrono::Duration::seconds(3),
        quiet_unanswered: chrono::Duration::seconds(60),
        retry_after: chrono::Duration::seconds(5),
        page_size: 100,
    }
}

fn clock(offset: f64, uncertainty: f64) -> Option<Offset> {
    Some(Offset {
        secs: offset,
        uncertainty,
        samples: 3,
        measured_at: t(START),
    })
}

/// A conversation of `code`/`mobile` whose contact was created at
/// `created` and which last moved at `last` (server seconds).
fn conv(id: i64, code: &str, mobile: &str, created: i64, last: Option<i64>) -> Value {
    json!({
        "id": id,
        "last_message_at": last.map(iso),
        "contact": {
            "id": id + 100,
            "mobile_code": code,
            "mobile": mobile,
            "created_at": iso(created),
        },
    })
}

fn reading(items: Vec<Value>, clock: Option<Offset>) -> Reading {
    Reading {
        read_at: t(START + 10.0),
        conversations: Ok(items),
        clock,
    }
}

fn old_contact(last: Option<i64>) -> Vec<Value> {
    vec![conv(1, "880", "1712345678", 900_000, last)]
}

#[test]
fn moved_at_or_after_the_start_is_sent() {
    // The start is 1_000_000.5 ± 0.3: it can have been as early as .2, so a
    // move stamped 1_000_000 (standing for [.0, 1.0)) can be after it.
    for last in [1_000_000, 1_000_001, 1_000_050] {
        let d = decide(
            &attempt(),
            &reading(old_contact(Some(last)), clock(0.0, 0.3)),
            &limits(),
        );
        assert_eq!((d.verdict, d.rule), (Verdict::Sent, Rule::Moved), "{last}");
        assert!(d.final_);
        let sent = d.sent_at.unwrap();
        assert!(sent >= t(START) && sent <= t(START + 10.0), "{sent}");
    }
}

#[test]
fn not_moved_since_before_the_start_is_not_sent() {
    for last in [Some(999_999), Some(950_000), None] {
        let d = decide(
            &attempt(),
            &reading(old_contact(last), clock(0.0, 0.3)),
            &limits(),
        );
        assert_eq!(
            (d.verdict, d.rule),
            (Verdict::NotSent, Rule::NotMoved),
            "{last:?}"
        );
        assert_eq!(d.decisive.unwrap().conversation_id, Some(1));
    }
}

#[test]
fn the_second_of_the_start_is_sent_when_the_clock_is_unsure() {
    // Start .5 ± 0.6 on the server: as early as 999_999.9, so a move in
    // second 999_999 may be after it — never call that "not sent".
    let d = decide(
        &attempt(),
        &reading(old_contact(Some(999_999)), clock(0.0, 0.6)),
        &limits(),
    );
    assert_eq!(d.verdict, Verdict::Sent);
}

#[test]
fn the_offset_is_applied_both_ways() {
    // Server 90 s ahead: our start is 1_000_090.5 there.
    let ahead = clock(90.0, 0.4);
    let moved = decide(
        &attempt(),
        &reading(old_contact(Some(1_000_090)), ahead),
        &limits(),
    );
    assert_eq!(moved.verdict, Verdict::Sent);
    let before = decide(
        &attempt(),
        &reading(old_contact(Some(1_000_060)), ahead),
        &limits(),
    );
    assert_eq!(before.verdict, Verdict::NotSent, "{}", before.detail);
    // Server 90 s behind: a send stamped 999_910 is ours, not "before".
    let behind = clock(-90.0, 0.4);
    let d = decide(
        &attempt(),
        &reading(old_contact(Some(999_910)), behind),
        &limits(),
    );
    assert_eq!(d.verdict, Verdict::Sent, "{}", d.detail);
}

#[test]
fn only_the_exact_number_counts() {
    let items = vec![
        conv(1, "880", "17123456789", 900_000, Some(999_000)),
        conv(2, "1", "1712345678", 900_000, Some(999_000)),
        json!({"id": 3, "last_message_at": iso(1_000_005), "contact": null}),
    ];
    let d = decide(&attempt(), &reading(items, clock(0.0, 0.3)), &limits());
    assert_eq!(
        (d.verdict, d.rule, d.final_),
        (Verdict::Unknown, Rule::NotAContact, true)
    );
    // Numbers as numbers, padded texts: still the same number.
    let items = vec![json!({
        "id": 4, "last_message_at": iso(999_000),
        "contact": {"id": 9, "mobile_code": 880, "mobile": " 1712345678 ", "created_at": iso(1)},
    })];
    let d = decide(&attempt(), &reading(items, clock(0.0, 0.3)), &limits());
    assert_eq!(d.verdict, Verdict::NotSent);
}

#[test]
fn a_contact_made_after_the_start_decides_nothing() {
    let items = vec![conv(1, "880", "1712345678", 1_000_000, None)];
    let d = decide(&attempt(), &reading(items, clock(0.0, 0.3)), &limits());
    assert_eq!(
        (d.verdict, d.rule, d.final_),
        (Verdict::Unknown, Rule::ContactNotBefore, true)
    );
    // Not even a move: the conversation may have moved for the new contact.
    let items = vec![conv(1, "880", "1712345678", 1_000_005, Some(1_000_005))];
    let d = decide(&attempt(), &reading(items, clock(0.0, 0.3)), &limits());
    assert_eq!(d.rule, Rule::ContactNotBefore);
}

#[test]
fn a_contact_the_runner_made_before_sending_counts() {
    let mut a = attempt();
    a.contact_step = ContactStep::Done(t(START + 0.2));
    // Made within the attempt (after its start, before the send).
    let items = vec![conv(1, "880", "1712345678", 1_000_000, None)];
    let d = decide(&a, &reading(items, clock(0.0, 0.3)), &limits());
    assert_eq!((d.verdict, d.rule), (Verdict::NotSent, Rule::NotMoved));
    // Without a conversation at all: nothing reached the server.
    let d = decide(&a, &reading(vec![], clock(0.0, 0.3)), &limits());
    assert_eq!(
        (d.verdict, d.rule),
        (Verdict::NotSent, Rule::NoConversation)
    );
    // A full page could hide it: no decision.
    let many: Vec<Value> = (0..100)
        .map(|i| conv(i, "880", &format!("9{i}1712345678"), 1, None))
        .collect();
    let d = decide(&a, &reading(many, clock(0.0, 0.3)), &limits());
    assert_eq!(d.rule, Rule::NotAContact);
    // A contact created surely after the attempt ended is another contact.
    let items = vec![conv(1, "880", "1712345678", 1_000_020, None)];
    let d = decide(&a, &reading(items, clock(0.0, 0.3)), &limits());
    assert_eq!(d.rule, Rule::ContactNotBefore);
}

#[test]
fn no_clock_or_an_unsure_one_decides_nothing() {
    let d = decide(&attempt(), &reading(old_contact(None), None), &limits());
    assert_eq!(
        (d.verdict, d.rule, d.final_),
        (Verdict::Unknown, Rule::ClockUnknown, false)
    );
    assert_eq!(d.retry_at, Some(t(START + 15.0)));
    let d = decide(
        &attempt(),
        &reading(old_contact(None), clock(0.0, 2.5)),
        &limits(),
    );
    assert_eq!(d.rule, Rule::ClockUncertain);
    let d = decide(
        &attempt(),
        &reading(old_contact(None), clock(0.0, f64::NAN)),
        &limits(),
    );
    assert_eq!(d.rule, Rule::ClockUncertain);
}

#[test]
fn a_refused_list_is_tried_again() {
    let r = Reading {
        read_at: t(START + 10.0),
        conversations: Err("HTTP 500".into()),
        clock: clock(0.0, 0.3),
    };
    let d = decide(&attempt(), &r, &limits());
    assert_eq!(
        (d.verdict, d.rule, d.final_),
        (Verdict::Unknown, Rule::ListRefused, false)
    );
    assert_eq!(d.seen["error"], "HTTP 500");
}

#[test]
fn not_moved_waits_while_the_server_may_still_work() {
    // Read 10 s after the start; the application did not answer (timeout).
    let mut a = attempt();
    a.answered = false;
    let d = decide(&a, &reading(old_contact(None), clock(0.0, 0.3)), &limits());
    assert_eq!(
        (d.verdict, d.rule, d.final_),
        (Verdict::Unknown, Rule::TooSoon, false)
    );
    assert_eq!(d.retry_at, Some(t(START + 60.0)));
    // A move needs no wait.
    let d = decide(
        &a,
        &reading(old_contact(Some(1_000_003)), clock(0.0, 0.3)),
        &limits(),
    );
    assert_eq!(d.verdict, Verdict::Sent);
    // Answered but read within the delay of the end.
    let mut r = reading(old_contact(None), clock(0.0, 0.3));
    r.read_at = t(START + 2.0);
    let d = decide(&attempt(), &r, &limits());
    assert_eq!(d.rule, Rule::TooSoon);
    assert_eq!(d.retry_at, Some(t(START + 4.0)));
}

#[test]
fn bad_input_never_panics() {
    let items = vec![
        json!(null),
        json!("x"),
        json!({"contact": "x"}),
        json!({"id": "x", "contact": {"mobile_code": "880", "mobile": "1712345678", "created_at": 5}}),
    ];
    let d = decide(&attempt(), &reading(items, clock(0.0, 0.3)), &limits());
    assert_eq!(d.rule, Rule::UnreadableTime);
    let mut a = attempt();
    a.started = None;
    let d = decide(&a, &reading(vec![], clock(0.0, 0.3)), &limits());
    assert_eq!(d.rule, Rule::AttemptStartUnknown);
    let d = decide(
        &attempt(),
        &reading(old_contact(Some(999_999)), clock(1e12, 0.1)),
        &limits(),
    );
    assert_eq!(d.verdict, Verdict::NotSent);
}

#[test]
fn a_text_that_never_got_past_the_contact_step_was_not_sent() {
    let mut a = attempt();
    a.contact_step = ContactStep::Unfinished;
    let d = before_reading(&a).unwrap();
    assert_eq!(
        (d.verdict, d.rule, d.final_),
        (Verdict::NotSent, Rule::ContactStepUnfinished, true)
    );
    // Whatever the list or the clock would say.
    let d = decide(&a, &reading(old_contact(Some(1_000_005)), None), &limits());
    assert_eq!(d.rule, Rule::ContactStepUnfinished);
    assert_eq!(before_reading(&attempt()), None);
}
