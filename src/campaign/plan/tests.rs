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

fn template(body: &[&str], header: &[&str]) -> Manifest {
    let list = |v: &[&str]| (!v.is_empty()).then(|| v.iter().map(|s| s.to_string()).collect());
    Manifest {
        template_id: Some(12),
        body_variables: list(body),
        header_variables: list(header),
        ..Manifest::default()
    }
}

#[test]
fn template_variables_are_rendered_per_row_and_trimmed() {
    let planner = Planner::new(
        &template(
            &["{{ First_Name }}", "Order {{order_id}} "],
            &["{{first_name}}"],
        ),
        &headers(&["phone", "first_name", "order_id", "message"]),
    )
    .unwrap();
    assert_eq!(planner.variable_counts(), (2, 1));
    assert_eq!(planner.manifest_template(), Some(12));
    assert!(planner.may_send_text(), "a message column may send text");
    let p = planner.plan(&row(&["+8801988123456", "Ann", "A-17", ""]));
    assert!(matches!(p.verdict, Verdict::Ready(_)), "{:?}", p.verdict);
    assert_eq!(
        p.body_variables,
        Some(vec!["Ann".to_string(), "Order A-17".to_string()])
    );
    assert_eq!(p.header_variables, Some(vec!["Ann".to_string()]));
    assert_eq!(
        (p.firstname.as_deref(), p.lastname.as_deref()),
        (None, None)
    );
    // A row that sends its own text sends no variables.
    let p = planner.plan(&row(&["+8801988123456", "Ann", "A-17", "Hi"]));
    assert_eq!(p.message.as_deref(), Some("Hi"));
    assert_eq!((p.body_variables, p.header_variables), (None, None));
    // No header variables: NULL, not an empty list.
    let planner = Planner::new(&template(&["{{a}}"], &[]), &headers(&["phone", "a"])).unwrap();
    let p = planner.plan(&row(&["+8801988123456", "x"]));
    assert_eq!(p.body_variables, Some(vec!["x".to_string()]));
    assert_eq!(p.header_variables, None);
    assert!(!planner.may_send_text());
}

#[test]
fn a_variable_value_the_server_would_not_send_makes_the_row_invalid() {
    let planner = Planner::new(
        &template(&["{{name}}", "{{order_id}}"], &["{{note}}"]),
        &headers(&["phone", "name", "order_id", "note"]),
    )
    .unwrap();
    let cases = [
        (
            ["Ann", "", "n"],
            "body variable 2 ({{order_id}}) is empty on this row",
        ),
        (
            ["Ann", "  ", "n"],
            "body variable 2 ({{order_id}}) is empty on this row",
        ),
        (
            ["{{ contactName }}", "1", "n"],
            "body variable 1 ({{name}}) is \"{{ contactName }}\" on this row, which holds {{…}}",
        ),
        (
            ["Ann", "1", "a\nb"],
            "header variable 1 ({{note}}) contains a line break or tab",
        ),
        (
            ["Ann", "1\t2", "n"],
            "body variable 2 ({{order_id}}) contains a line break or tab",
        ),
        (
            ["Ann", "1", "a     b"],
            "header variable 1 ({{note}}) has more than 4 spaces in a row",
        ),
    ];
    for (fields, reason) in cases {
        let mut all = vec!["+8801988123456"];
        all.extend(fields);
        let p = planner.plan(&row(&all));
        assert!(invalid(&p).contains(reason), "{fields:?}: {:?}", p.verdict);
    }
    // `{{` alone or `}}` alone is plain text to the server.
    let p = planner.plan(&row(&["+8801988123456", "a {{ b", "c }} d", "n"]));
    assert!(matches!(p.verdict, Verdict::Ready(_)), "{:?}", p.verdict);
    // A bad phone is reported first.
    let p = planner.plan(&row(&["12", "", "", ""]));
    assert!(invalid(&p).contains("phone"), "{:?}", p.verdict);
}

#[test]
fn template_variables_are_checked_against_the_header() {
    let problems = Planner::new(
        &template(&["{{first_name}}", "{{ city }}"], &["{{town}}"]),
        &headers(&["phone", "firstname", "city"]),
    )
    .unwrap_err();
    let found: Vec<(Option<&str>, &str)> = problems
        .iter()
        .map(|p| (p.column.as_deref(), p.reason.as_str()))
        .collect();
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].0, Some("body_variables"));
    assert!(
        found[0].1.starts_with(
            "variable 1 (\"{{first_name}}\"): placeholder {{first_name}} names no column"
        ),
        "{found:?}"
    );
    assert_eq!(found[1].0, Some("header_variables"));
    // Variables need some template: the manifest's or a template_id column.
    let no_template = Manifest {
        template_id: None,
        ..template(&["{{city}}"], &[])
    };
    let problems = Planner::new(&no_template, &headers(&["phone", "city", "message"])).unwrap_err();
    assert!(
        problems[0].reason.contains("nothing here sends a template"),
        "{problems:?}"
    );
    let planner = Planner::new(&no_template, &headers(&["phone", "city", "template_id"])).unwrap();
    let p = planner.plan(&row(&["+8801988123456", "Dhaka", "7"]));
    assert_eq!(p.template_id, Some(7));
    assert_eq!(p.body_variables, Some(vec!["Dhaka".to_string()]));
}

fn contacts(manifest: Manifest) -> Manifest {
    Manifest {
        create_contacts: true,
        ..manifest
    }
}

#[test]
fn create_contacts_needs_name_columns() {
    let problems =
        Planner::new(&contacts(text("Hi")), &headers(&["phone", "firstname"])).unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].reason.contains("missing: lastname"),
        "{problems:?}"
    );
    let problems = Planner::new(&contacts(text("Hi")), &headers(&["phone", "name"])).unwrap_err();
    assert!(
        problems[0].reason.contains("missing: firstname, lastname"),
        "{problems:?}"
    );
    // Without create_contacts the same file is fine.
    assert!(Planner::new(&text("Hi"), &headers(&["phone", "name"])).is_ok());
}

#[test]
fn create_contacts_reads_and_checks_the_names() {
    let planner = Planner::new(
        &contacts(text("Hi {{firstname}}")),
        &headers(&["phone", "FirstName", "Last Name"]),
    )
    .unwrap();
    assert!(planner.creates_contacts() && planner.may_send_text());
    let p = planner.plan(&row(&["+8801988123456", "Ann", "Lee"]));
    assert!(matches!(p.verdict, Verdict::Ready(_)), "{:?}", p.verdict);
    assert_eq!(p.message.as_deref(), Some("Hi Ann"));
    assert_eq!(
        (p.firstname.as_deref(), p.lastname.as_deref()),
        (Some("Ann"), Some("Lee"))
    );
    let forty = "é".repeat(MAX_NAME_CHARS);
    let p = planner.plan(&row(&["+8801988123456", &forty, "Lee"]));
    assert!(
        matches!(p.verdict, Verdict::Ready(_)),
        "40 characters are allowed"
    );
    let long = "x".repeat(MAX_NAME_CHARS + 1);
    let cases = [
        (
            ["", "Lee"],
            "create_contacts: firstname is empty on this row",
        ),
        (
            ["Ann", ""],
            "create_contacts: lastname is empty on this row",
        ),
        (
            ["Ann", long.as_str()],
            "create_contacts: lastname is 41 characters; Wutt allows 40",
        ),
    ];
    for (names, reason) in cases {
        let p = planner.plan(&row(&["+8801988123456", names[0], names[1]]));
        assert!(invalid(&p).contains(reason), "{names:?}: {:?}", p.verdict);
    }
    // Names are not read when contacts are not created.
    let planner = Planner::new(&text("Hi"), &headers(&["phone", "firstname", "lastname"])).unwrap();
    assert!(!planner.creates_contacts());
    let p = planner.plan(&row(&["+8801988123456", "Ann", ""]));
    assert!(matches!(p.verdict, Verdict::Ready(_)));
    assert_eq!(p.firstname, None);
}
