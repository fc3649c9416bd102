//! Header roles and per-row verdicts.

use super::*;

fn headers(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

fn row(fields: &[&str]) -> CsvRow {
    CsvRow {
        row_number: 1,
        line_number: 2,
        fields: fields.iter().map(|f| f.to_string()).collect(),
    }
}

fn text(message: &str) -> Manifest {
    Manifest {
        message: Some(message.into()),
        ..Manifest::default()
    }
}

fn invalid(planned: &PlannedRecipient) -> &str {
    match &planned.verdict {
        Verdict::Invalid(reason) => reason,
        Verdict::Ready(n) => panic!("ready for {n}"),
    }
}

#[test]
fn renders_the_message_and_keeps_the_raw_phone() {
    let planner = Planner::new(
        &text("Hi {{ FirstName }}"),
        &headers(&[" Phone ", "firstname", "city"]),
    )
    .unwrap();
    assert!(!planner.uses_template());
    let p = planner.plan(&row(&["+880 1988-123456", "José", "Dhaka"]));
    assert_eq!(
        p.verdict,
        Verdict::Ready(PhoneNumber::from_canonical(880, "1988123456"))
    );
    assert_eq!(p.message.as_deref(), Some("Hi José"));
    assert_eq!(p.raw_phone, "+880 1988-123456");
}

#[test]
fn split_phone_columns() {
    let planner = Planner::new(&text("Hi"), &headers(&["Mobile Code", "mobile", "name"])).unwrap();
    let p = planner.plan(&row(&["880", "01988123456", "Zoë"]));
    assert_eq!(p.raw_phone, "880 01988123456");
    assert!(matches!(p.verdict, Verdict::Ready(_)));
}

#[test]
fn header_problems_are_all_reported() {
    let problems =
        Planner::new(&text("{{first}} {{last}}"), &headers(&["name", "city"])).unwrap_err();
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems[0].reason.contains("no phone column"));
    let problems = Planner::new(&Manifest::default(), &headers(&["phone"])).unwrap_err();
    assert!(problems[0].reason.contains("nothing to send"));
    assert!(Planner::new(&text("x"), &headers(&["phone", "whatsapp"])).is_err());
    assert!(Planner::new(&text("x"), &headers(&["phone", "mobile_code", "mobile"])).is_err());
    assert!(Planner::new(&text("x"), &headers(&["mobile"])).is_err());
}

#[test]
fn per_row_overrides() {
    let manifest = Manifest {
        template_id: Some(7),
        from_number: Some("+8801700000000".into()),
        ..Manifest::default()
    };
    let planner = Planner::new(
        &manifest,
        &headers(&["phone", "template_id", "message", "from_number", "name"]),
    )
    .unwrap();
    assert!(planner.uses_template());
    let p = planner.plan(&row(&["+8801988123456", "", "", "", "A"]));
    assert_eq!((p.template_id, p.message.as_deref()), (Some(7), None));
    assert_eq!(p.from_number.as_deref(), Some("+8801700000000"));
    let p = planner.plan(&row(&[
        "+8801988123456",
        "",
        "Dear {{name}}",
        "+8801711111111",
        "A",
    ]));
    assert_eq!(
        (p.template_id, p.message.as_deref()),
        (None, Some("Dear A"))
    );
    assert_eq!(p.from_number.as_deref(), Some("+8801711111111"));
    let p = planner.plan(&row(&["+8801988123456", "12", "", "", "A"]));
    assert_eq!(p.template_id, Some(12));
    assert!(
        invalid(&planner.plan(&row(&["+8801988123456", "x1", "", "", "A"])))
            .contains("positive whole number")
    );
    assert!(
        invalid(&planner.plan(&row(&["+8801988123456", "-3", "", "", "A"]))).contains("positive")
    );
    assert!(invalid(&planner.plan(&row(&["+8801988123456", "3", "hi", "", "A"]))).contains("both"));
    assert!(
        invalid(&planner.plan(&row(&["+8801988123456", "", "{{nope}}", "", "A"])))
            .contains("names no column")
    );
}

#[test]
fn invalid_rows_say_why() {
    let planner = Planner::new(
        &Manifest::default(),
        &headers(&["phone", "message", "name"]),
    )
    .unwrap();
    let cases = [
        (
            vec!["+8801988123456", "hi"],
            "row has 2 fields, header has 3",
        ),
        (vec!["+8801988123456", "hi", "A", "shifted"], "not quoted"),
        (vec!["", "hi", "A"], "no phone number"),
        (vec!["01988123456", "hi", "A"], "international form"),
        (vec!["+8801988123456", "", "A"], "nothing to send"),
        (
            vec!["+8801988123456", "{{name}}", ""],
            "empty once placeholders",
        ),
    ];
    for (fields, reason) in cases {
        let p = planner.plan(&row(&fields));
        assert!(invalid(&p).contains(reason), "{fields:?}: {:?}", p.verdict);
    }
    let long = "x".repeat(MAX_MESSAGE_CHARS + 1);
    assert!(invalid(&planner.plan(&row(&["+8801988123456", &long, "A"]))).contains("4096"));
    // Trailing empty fields from a spreadsheet are harmless.
    let p = planner.plan(&row(&["+8801988123456", "hi", "A", "", ""]));
    assert!(matches!(p.verdict, Verdict::Ready(_)));
}

#[test]
fn media_needs_no_text() {
    let manifest = Manifest {
        image: Some("a.png".into()),
        ..Manifest::default()
    };
    let planner = Planner::new(&manifest, &headers(&["phone"])).unwrap();
    let p = planner.plan(&row(&["+8801988123456"]));
    assert!(matches!(p.verdict, Verdict::Ready(_)));
    assert_eq!(p.message, None);
}
