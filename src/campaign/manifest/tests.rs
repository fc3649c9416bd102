//! Manifest parsing and validation; media paths are tested with real files in
//! `tests/campaign_files.rs`.

use chrono::{TimeZone, Utc};

use super::read::line_of;
use super::*;

fn problems(text: &str) -> Vec<Problem> {
    Manifest::parse(text).expect_err("should be refused")
}

fn columns(text: &str) -> Vec<String> {
    problems(text)
        .into_iter()
        .filter_map(|p| p.column)
        .collect()
}

#[test]
fn a_full_manifest_parses() {
    let m = Manifest::parse(
        r#"
name = "Eid offer"
message = "Hi {{firstname}}"
from_number = "+8801700000000"
start_at = 2026-12-01T09:00:00+06:00
expires_at = "2026-12-03T00:00:00Z"
rate_per_second = 5.5
max_attempts = 3
image = "banner.png"
latitude = 23.8
longitude = 90.4
send_window = { start = "09:00", end = "21:00", timezone = "Asia/Dhaka" }
"#,
    )
    .unwrap();
    assert_eq!(
        m.start_at,
        Some(Utc.with_ymd_and_hms(2026, 12, 1, 3, 0, 0).unwrap())
    );
    assert!(m.has_non_text_content());
    let window = m.send_window.unwrap();
    assert!(window.allows(Utc.with_ymd_and_hms(2026, 12, 1, 4, 0, 0).unwrap()));
    assert!(!window.allows(Utc.with_ymd_and_hms(2026, 12, 1, 16, 0, 0).unwrap()));
}

#[test]
fn an_empty_manifest_is_the_default() {
    assert_eq!(Manifest::parse("").unwrap(), Manifest::default());
}

#[test]
fn unknown_keys_are_errors_with_a_line() {
    let p = problems("name = \"x\"\ntemplte_id = 4\n");
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].line, Some(2));
    assert!(p[0].reason.contains("templte_id"), "{}", p[0].reason);
    assert!(
        !problems("[send_window]\nstart = \"09:00\"\nend = \"10:00\"\ntz = \"UTC\"\n").is_empty()
    );
}

#[test]
fn every_problem_is_reported_with_its_key() {
    let cols = columns(
        r#"
name = " "
template_id = 0
message = "hi"
rate_per_second = 0
max_attempts = 101
start_at = "2026-12-02T00:00:00Z"
expires_at = "2026-12-01T00:00:00Z"
latitude = 91
send_window = { start = "9am", end = "25:00", timezone = "Mars/Olympus" }
"#,
    );
    for key in [
        "name",
        "template_id",
        "message",
        "rate_per_second",
        "max_attempts",
        "expires_at",
        "latitude",
        "longitude",
        "send_window.start",
        "send_window.end",
        "send_window.timezone",
    ] {
        assert!(cols.iter().any(|c| c == key), "{key} missing from {cols:?}");
    }
}

#[test]
fn template_excludes_text_content() {
    let cols = columns("template_id = 7\nmessage = \"hi\"\nimage = \"a.png\"\n");
    assert_eq!(cols, ["message", "image"]);
    assert!(Manifest::parse("template_id = 7\nfrom_number = \"+1\"\n").is_ok());
}

#[test]
fn datetimes_need_an_offset() {
    let p = problems("start_at = 2026-12-01T09:00:00\n");
    assert!(p[0].reason.contains("UTC offset"), "{}", p[0].reason);
    assert!(!problems("start_at = \"tomorrow\"\n").is_empty());
}

#[test]
fn overnight_windows_wrap_midnight() {
    let w = SendWindow {
        start: "22:00".into(),
        end: "06:00".into(),
        timezone: "UTC".into(),
    };
    assert!(w.check().is_ok());
    assert!(w.allows(Utc.with_ymd_and_hms(2026, 1, 1, 23, 0, 0).unwrap()));
    assert!(w.allows(Utc.with_ymd_and_hms(2026, 1, 1, 5, 59, 0).unwrap()));
    assert!(!w.allows(Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap()));
    let empty = SendWindow {
        end: "22:00".into(),
        ..w
    };
    assert!(empty.check().is_err());
}

#[test]
fn non_finite_numbers_are_refused_not_trusted() {
    for value in ["nan", "+inf", "-inf", "-nan"] {
        let text = format!("rate_per_second = {value}\nlatitude = {value}\nlongitude = {value}\n");
        let cols = columns(&text);
        for key in ["rate_per_second", "latitude", "longitude"] {
            assert!(cols.iter().any(|c| c == key), "{value}: {key} in {cols:?}");
        }
    }
}

#[test]
fn errors_after_multibyte_text_name_their_line() {
    let p = problems("name = \"Eid অফার ✨\"\n# ঈদ মোবারক\nrate_per_second = \"fast\"\n");
    assert_eq!(p[0].line, Some(3), "{p:?}");
    assert_eq!(line_of("ab\ncd", 100), 2);
    assert_eq!(line_of("é\n", 1), 1);
}

#[test]
fn an_oversized_or_special_manifest_is_refused_without_reading_it_whole() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.toml");
    let file = std::fs::File::create(&big).unwrap();
    file.set_len(MAX_MANIFEST_BYTES + 1).unwrap();
    let p = Manifest::load(&big).unwrap_err();
    assert!(p[0].reason.contains("larger than"), "{p:?}");
    let p = Manifest::load(dir.path()).unwrap_err();
    assert!(p[0].reason.contains("not a regular file"), "{p:?}");
}

#[test]
fn template_variables_and_create_contacts_parse() {
    let m = Manifest::parse(
        r#"
template_id = 12
body_variables = ["{{first_name}}", "Order {{ order_id }}"]
header_variables = ["{{first_name}}"]
create_contacts = true
"#,
    )
    .unwrap();
    assert_eq!(
        m.body_variables.as_deref(),
        Some(
            &[
                "{{first_name}}".to_string(),
                "Order {{ order_id }}".to_string()
            ][..]
        )
    );
    assert!(m.create_contacts);
    let lists: Vec<_> = m
        .variable_lists()
        .into_iter()
        .map(|(k, l)| (k, l.len()))
        .collect();
    assert_eq!(lists, [("body_variables", 2), ("header_variables", 1)]);
    // Written empty is the same as not written; create_contacts defaults to off.
    let m = Manifest::parse("template_id = 1\nbody_variables = []\n").unwrap();
    assert!(m.variable_lists().is_empty());
    assert!(!m.create_contacts);
    assert!(Manifest::parse("message = \"Hi\"\ncreate_contacts = true\n").is_ok());
}

#[test]
fn template_variables_that_can_never_be_sent_are_problems() {
    let p = problems(
        "template_id = 3\nbody_variables = [\"{{a}}\", \" \", \"a\\tb\", \"x     y\", \"line\\nbreak\"]\n",
    );
    let reasons: Vec<String> = p.iter().map(|p| p.to_string()).collect();
    assert_eq!(p.len(), 4, "{reasons:#?}");
    assert!(
        p.iter()
            .all(|p| p.column.as_deref() == Some("body_variables"))
    );
    assert!(
        reasons[0].contains("variable 2: must not be empty"),
        "{reasons:?}"
    );
    assert!(
        reasons[1].contains("variable 3") && reasons[1].contains("tab"),
        "{reasons:?}"
    );
    assert!(reasons[2].contains("more than 4 spaces"), "{reasons:?}");
    assert!(reasons[3].contains("line break"), "{reasons:?}");
    // Four spaces in a row are fine.
    assert!(Manifest::parse("template_id = 3\nbody_variables = [\"a    b\"]\n").is_ok());
}

#[test]
fn template_variables_do_not_go_with_a_text() {
    let cols =
        columns("message = \"Hi\"\nbody_variables = [\"{{a}}\"]\nheader_variables = [\"x\"]\n");
    assert_eq!(cols, ["body_variables", "header_variables"]);
    let p = problems("image = \"a.png\"\nheader_variables = [\"x\"]\n");
    assert!(p[0].reason.contains("use template_id"), "{p:?}");
}

#[test]
fn template_variables_and_create_contacts_have_types() {
    for (text, n) in [
        ("template_id = 1\nbody_variables = \"{{a}}\"\n", 1),
        // One problem per item that is not text.
        ("template_id = 1\nheader_variables = [1, 2]\n", 2),
        ("create_contacts = \"yes\"\n", 1),
    ] {
        let p = problems(text);
        assert_eq!(p.len(), n, "{text}: {p:?}");
        assert!(p.iter().all(|p| p.line.is_some()), "{text}: {p:?}");
    }
}

#[test]
fn a_typo_and_a_missing_timezone_are_reported_together() {
    let p = problems(
        "templte_id = 4\nmessage = \"Hi\"\nsend_window = { start = \"09:00\", end = \"20:00\" }\n",
    );
    let shown: Vec<String> = p.iter().map(|p| p.to_string()).collect();
    assert_eq!(shown.len(), 2, "{shown:#?}");
    assert_eq!(
        shown[0],
        "line 1: unknown key \"templte_id\": did you mean template_id?"
    );
    assert!(
        shown[1].starts_with("line 3, column \"send_window.timezone\": missing"),
        "{shown:#?}"
    );
    // In a [send_window] table, and a stray top-level timezone is pointed at it.
    let p = problems("timezone = \"UTC\"\n[send_window]\nstart = \"09:00\"\nend = \"10:00\"\n");
    let reasons: Vec<&str> = p.iter().map(|p| p.reason.as_str()).collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(
        reasons[0].contains("did you mean send_window.timezone?"),
        "{reasons:?}"
    );
    assert!(reasons[1].starts_with("missing"), "{reasons:?}");
}

#[test]
fn numbers_in_quotes_are_numbers_and_other_types_are_explained() {
    let m = Manifest::parse(
        "template_id = \"3\"\nrate_per_second = \"2.5\"\nmax_attempts = \" 4 \"\ncreate_contacts = \"TRUE\"\n",
    )
    .unwrap();
    assert_eq!(m.template_id, Some(3));
    assert_eq!(m.rate_per_second, Some(2.5));
    assert_eq!(m.max_attempts, Some(4));
    assert!(m.create_contacts);
    let p = problems("template_id = \"three\"\nname = 7\nlatitude = true\nlongitude = 1\n");
    let shown: Vec<String> = p.iter().map(|p| p.to_string()).collect();
    assert_eq!(
        shown,
        [
            "line 1, column \"template_id\", value \"three\": must be a whole number, e.g. template_id = 3",
            "line 2, column \"name\", value \"7\": must be text in quotes, e.g. name = \"Eid offer\"",
            "line 3, column \"latitude\", value \"true\": must be a number, e.g. latitude = 23.81",
        ]
    );
    assert!(
        problems("template_id = 3.5\n")[0]
            .reason
            .contains("whole number")
    );
    assert!(
        problems("max_attempts = -1\n")[0]
            .reason
            .contains("between 1 and 100")
    );
}

#[test]
fn window_hours_may_be_toml_times() {
    let m = Manifest::parse(
        "message = \"Hi\"\nsend_window = { start = 09:00:00, end = 21:30, timezone = \"Asia/Dhaka\" }\n",
    )
    .unwrap();
    let w = m.send_window.unwrap();
    assert_eq!((w.start.as_str(), w.end.as_str()), ("09:00", "21:30"));
    assert!(
        problems("send_window = { start = 09:00:30, end = \"10:00\", timezone = \"UTC\" }\n")
            .iter()
            .any(|p| p.column.as_deref() == Some("send_window.start"))
    );
}

#[test]
fn syntax_errors_name_their_line_with_the_unknown_keys_beside_them() {
    let p = problems("name = \"x\"\nmesage = \"Hi\"\nrate_per_second = = 3\n");
    assert!(
        p.iter()
            .any(|p| p.line == Some(3) && p.reason.starts_with("not valid TOML")),
        "{p:?}"
    );
    assert!(
        p.iter().any(|p| p.reason.contains("did you mean message?")),
        "{p:?}"
    );
}

#[test]
fn a_loaded_manifest_names_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("list.toml");
    std::fs::write(&path, "rate_per_second = \"fast\"\n").unwrap();
    let p = Manifest::load(&path).unwrap_err();
    assert_eq!(
        p[0].to_string(),
        "list.toml line 1, key \"rate_per_second\", value \"fast\": must be a number, e.g. rate_per_second = 5"
    );
}
