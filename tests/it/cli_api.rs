//! The binary's one-call API commands against an in-process simulator that
//! answers as the real server does: what they print, their `--json` output,
//! their exit codes (3 when the account is refused, 1 for a refused campaign
//! or recipient) and what actually reached the simulator.

use std::process::Output;

use crate::support::bin::run_bin;
use serde_json::Value;
use wutt_campaign::simulator::{self, AccountSetting, MessageKind, Plan, SimConfig, SimHandle};

async fn sim() -> SimHandle {
    simulator::start(SimConfig::default(), "127.0.0.1:0".parse().unwrap())
        .await
        .expect("simulator starts")
}

/// Runs the binary against `sim` with the demo id and the given secret.
async fn wutt(sim: &SimHandle, secret: &str, args: &[&str]) -> Output {
    let base = sim.base_url();
    run_bin(
        args,
        &[
            ("WUTT_BASE_URL", base.as_str()),
            ("WUTT_CLIENT_ID", "demo-id"),
            ("WUTT_CLIENT_SECRET", secret),
        ],
    )
    .await
}

/// Exit code, stdout and stderr of a run.
fn parts(out: &Output) -> (Option<i32>, String, String) {
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn templates_list_prints_every_page_as_one_table_and_json() {
    let sim = sim().await;
    let (code, stdout, stderr) = parts(&wutt(&sim, "demo-secret", &["templates", "list"]).await);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    for needle in [
        "id",
        "name",
        "status",
        "language",
        "body variables",
        "header variables",
        "welcome",
        "approved",
        "promo_draft",
        "pending",
        "flash_sale",
        "rejected",
        "old_newsletter",
        "disabled",
    ] {
        assert!(stdout.contains(needle), "{needle} missing in\n{stdout}");
    }
    let row = |name: &str| -> Vec<String> {
        let line = stdout
            .lines()
            .find(|l| l.split('|').any(|cell| cell.trim() == name))
            .unwrap_or_else(|| panic!("no row for {name} in\n{stdout}"));
        line.split('|')
            .map(|cell| cell.trim().to_owned())
            .filter(|cell| !cell.is_empty())
            .collect()
    };
    assert_eq!(
        row("delivery_slot"),
        ["6", "delivery_slot", "approved", "1", "2", "0"]
    );
    assert_eq!(
        row("order_shipped"),
        ["7", "order_shipped", "approved", "1", "1", "1"]
    );
    // Template 42 is on page 3 at the server's 20 a page.
    assert_eq!(row("thank_you")[..3], ["42", "thank_you", "approved"]);

    let json = wutt(&sim, "demo-secret", &["templates", "list", "--json"]).await;
    let (code, stdout, stderr) = parts(&json);
    assert_eq!(code, Some(0), "{stderr}");
    let rows: Vec<Value> = serde_json::from_str(&stdout).expect("--json prints a JSON array");
    assert_eq!(rows.len(), 45, "every template of every page");
    let by_id = |id: i64| rows.iter().find(|r| r["id"] == id).expect("listed");
    assert_eq!(by_id(1)["name"], "welcome");
    assert_eq!(by_id(4)["status"], "pending");
    assert_eq!(
        (
            by_id(7)["body_variables"].as_i64(),
            by_id(7)["header_variables"].as_i64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(by_id(7)["header"], "Order {{1}}");
    assert_eq!(by_id(42)["status"], "approved");
    sim.shutdown().await;
}

#[tokio::test]
async fn contacts_list_prints_the_contacts() {
    let sim = sim().await;
    let out = wutt(
        &sim,
        "demo-secret",
        &["contacts", "list", "--search", "rahman"],
    )
    .await;
    let (code, stdout, stderr) = parts(&out);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("contact-list"), "{stdout}");
    assert!(
        stdout.contains("Amina") && stdout.contains("1988123456"),
        "{stdout}"
    );
    assert!(!stdout.contains("Fischer"), "the search filters:\n{stdout}");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_wrong_secret_exits_3_without_printing_the_secret() {
    let sim = sim().await;
    let secret = "wrong-secret-7f3a";
    let (code, stdout, stderr) = parts(&wutt(&sim, secret, &["templates", "list"]).await);
    assert_eq!(code, Some(3), "{stdout}\n{stderr}");
    assert!(stderr.contains("the account was refused"), "{stderr}");
    assert!(stderr.contains("HTTP 401"), "{stderr}");
    assert!(stderr.contains("Invalid credentials"), "{stderr}");
    assert!(stderr.contains("WUTT_CLIENT_SECRET"), "the hint: {stderr}");
    assert!(!format!("{stdout}{stderr}").contains(secret));
    sim.shutdown().await;
}

#[tokio::test]
async fn an_expired_plan_or_a_wrong_base_path_exits_3_with_what_to_do() {
    let sim = sim().await;
    sim.set_account(AccountSetting {
        plan: Some(Plan::Expired),
        ..AccountSetting::default()
    });
    let (code, stdout, stderr) = parts(&wutt(&sim, "demo-secret", &["templates", "list"]).await);
    assert_eq!(code, Some(3), "{stdout}\n{stderr}");
    assert!(stderr.contains("Your plan has expired"), "{stderr}");
    assert!(stderr.contains("renew or buy a Wutt plan"), "{stderr}");

    let base = format!("{}/extrnal-api", sim.base_url());
    let out = run_bin(
        &["templates", "list"],
        &[
            ("WUTT_BASE_URL", base.as_str()),
            ("WUTT_CLIENT_ID", "demo-id"),
            ("WUTT_CLIENT_SECRET", "demo-secret"),
        ],
    )
    .await;
    let (code, stdout, stderr) = parts(&out);
    assert_eq!(code, Some(3), "{stdout}\n{stderr}");
    assert!(stderr.contains("HTTP 404"), "{stderr}");
    assert!(stderr.contains("WUTT_BASE_URL"), "{stderr}");
    sim.shutdown().await;
}

#[tokio::test]
async fn send_a_template_exits_0_and_reaches_the_simulator() {
    let sim = sim().await;
    let args = ["send", "--to", "+8801988123456", "--template", "1"];
    let (code, stdout, stderr) = parts(&wutt(&sim, "demo-secret", &args).await);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("Undefined variable $conversationId"),
        "the server's answer to a sent template: {stdout}"
    );
    let got = sim.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].kind, MessageKind::Template);
    assert_eq!(got[0].template_id, Some(1));
    assert_eq!(
        (got[0].mobile_code.as_str(), got[0].mobile.as_str()),
        ("880", "1988123456")
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn send_a_template_with_body_and_header_variables_in_order() {
    let sim = sim().await;
    let args = [
        "send",
        "--to",
        "+8801988123456",
        "--template",
        "6",
        "--body-variable",
        "Amina",
        "--body-variable",
        "Tuesday 10:00",
        "--json",
    ];
    let (code, stdout, stderr) = parts(&wutt(&sim, "demo-secret", &args).await);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let doc: Value = serde_json::from_str(&stdout).expect("--json prints JSON");
    assert_eq!(doc["outcome"], "success");
    assert_eq!(doc["http_status"], 200);
    let header = [
        "send",
        "--to",
        "+8801988123456",
        "--template",
        "7",
        "--header-variable",
        "#1042",
        "--body-variable",
        "Amina",
    ];
    let (code, stdout, stderr) = parts(&wutt(&sim, "demo-secret", &header).await);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");

    let got = sim.messages();
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(got[0].template_id, Some(6));
    assert_eq!(got[0].body_variables, ["Amina", "Tuesday 10:00"]);
    assert!(got[0].header_variables.is_empty());
    assert_eq!(got[1].header_variables, ["#1042"]);
    assert_eq!(got[1].body_variables, ["Amina"]);

    // One variable short: WhatsApp refuses, the campaign's template is at fault.
    let short = [
        "send",
        "--to",
        "+8801988123456",
        "--template",
        "6",
        "--body-variable",
        "Amina",
    ];
    let (code, _, stderr) = parts(&wutt(&sim, "demo-secret", &short).await);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("campaign refused"), "{stderr}");
    assert!(
        stderr.contains("did not match the number of variable parameters"),
        "{stderr}"
    );
    assert_eq!(sim.messages().len(), 2, "nothing more sent");
    sim.shutdown().await;
}

#[tokio::test]
async fn variables_without_a_template_are_a_usage_error_not_dropped() {
    let sim = sim().await;
    // `--body-variable` requires `--template`: a text must not go out without them.
    let (code, _, stderr) = parts(
        &wutt(
            &sim,
            "demo-secret",
            &[
                "send",
                "--to",
                "+8801988123456",
                "--message",
                "hi",
                "--body-variable",
                "x",
            ],
        )
        .await,
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(sim.messages().is_empty(), "sent without its variables");
    sim.shutdown().await;
}

#[tokio::test]
async fn an_unapproved_template_or_a_wrong_secret_sends_nothing() {
    let sim = sim().await;
    let pending = ["send", "--to", "+8801988123456", "--template", "4"];
    let (code, _, stderr) = parts(&wutt(&sim, "demo-secret", &pending).await);
    assert_eq!(code, Some(1), "the campaign, not the account: {stderr}");
    assert!(stderr.contains("campaign refused"), "{stderr}");
    assert!(stderr.contains("The template is not found"), "{stderr}");

    let approved = ["send", "--to", "+8801988123456", "--template", "1"];
    let (code, _, stderr) = parts(&wutt(&sim, "not-the-secret", &approved).await);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("account refused"), "{stderr}");
    assert!(sim.messages().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn a_text_to_a_number_that_is_not_a_contact_is_rejected_and_not_sent() {
    let sim = sim().await;
    let args = ["send", "--to", "+8801700000099", "--message", "hello"];
    let (code, _, stderr) = parts(&wutt(&sim, "demo-secret", &args).await);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("rejected"), "{stderr}");
    assert!(stderr.contains("mobileNumber"), "{stderr}");
    assert!(sim.messages().is_empty());
    // To a contact it goes.
    let args = ["send", "--to", "+8801988123456", "--message", "hello"];
    let (code, stdout, stderr) = parts(&wutt(&sim, "demo-secret", &args).await);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert_eq!(sim.messages()[0].message.as_deref(), Some("hello"));
    sim.shutdown().await;
}

#[tokio::test]
async fn help_never_shows_the_secret_from_the_environment() {
    let secret = "env-secret-91c2-DO-NOT-SHOW";
    let env = [
        ("WUTT_CLIENT_SECRET", secret),
        ("WUTT_CLIENT_ID", "demo-id"),
        ("DATABASE_URL", "postgres://u:db-pass-77@127.0.0.1/wutt"),
    ];
    // (help, whether it names the secret's variable)
    for (args, names_it) in [
        (&["--help"][..], true),
        (&["-h"], true),
        (&["send", "--help"], true),
        (&["simulate", "--help"], true),
        (&["templates", "--help"], true),
        (&["templates", "list", "--help"], false),
    ] {
        let (code, stdout, stderr) = parts(&run_bin(args, &env).await);
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        let all = format!("{stdout}{stderr}");
        if names_it {
            assert!(all.contains("WUTT_CLIENT_SECRET"), "{args:?}: {all}");
        }
        assert!(!all.contains(secret), "{args:?} shows the secret:\n{all}");
        assert!(
            !all.contains("db-pass-77"),
            "{args:?} shows the password:\n{all}"
        );
    }
}

#[tokio::test]
async fn unusable_numbers_in_settings_exit_2_with_a_clear_message() {
    let creds = [("WUTT_CLIENT_ID", "demo-id"), ("WUTT_CLIENT_SECRET", "x")];
    for timeout in ["0", "-5", "nan", "inf", "1e30", "1e-300", "soon"] {
        let env = [creds[0], creds[1], ("WUTT_TIMEOUT", timeout)];
        let (code, _, stderr) = parts(&run_bin(&["templates", "list"], &env).await);
        assert_eq!(code, Some(2), "WUTT_TIMEOUT={timeout}: {stderr}");
        assert!(stderr.contains("--timeout"), "{timeout}: {stderr}");
        assert!(!stderr.contains("panicked"), "{timeout}: {stderr}");
    }
    for rate in ["0", "-1", "nan", "inf", "-inf"] {
        let flag = format!("--rate={rate}");
        let (code, _, stderr) = parts(&run_bin(&[&flag, "templates", "list"], &creds).await);
        assert_eq!(code, Some(2), "{flag}: {stderr}");
        assert!(
            stderr.contains("must be a positive number"),
            "{flag}: {stderr}"
        );
        let env = [creds[0], creds[1], ("WUTT_RATE", rate)];
        let (code, _, stderr) = parts(&run_bin(&["templates", "list"], &env).await);
        assert_eq!(code, Some(2), "WUTT_RATE={rate}: {stderr}");
    }
    let env = [creds[0], creds[1], ("WUTT_CONCURRENCY", "0")];
    let (code, _, stderr) = parts(&run_bin(&["templates", "list"], &env).await);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("from 1 to"), "{stderr}");
}
