//! The binary's one-call API commands against an in-process simulator: what
//! they print, their `--json` output, their exit codes (3 when the account is
//! refused) and what actually reached the simulator.

mod support;

use std::process::Output;

use serde_json::Value;
use support::run_bin;
use wutt_campaign::simulator::{self, MessageKind, SimConfig, SimHandle};

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
async fn templates_list_prints_a_table_and_json() {
    let sim = sim().await;
    let (code, stdout, stderr) = parts(&wutt(&sim, "demo-secret", &["templates", "list"]).await);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    for needle in [
        "template_list",
        "welcome",
        "order_update",
        "promo_draft",
        "pending",
    ] {
        assert!(stdout.contains(needle), "{needle} missing in\n{stdout}");
    }

    let json = wutt(&sim, "demo-secret", &["templates", "list", "--json"]).await;
    let (code, stdout, stderr) = parts(&json);
    assert_eq!(code, Some(0), "{stderr}");
    let env: Value = serde_json::from_str(&stdout).expect("--json prints JSON");
    assert_eq!(env["status"], "success");
    assert_eq!(env["data"]["templates"][0]["name"], "welcome");
    assert_eq!(env["data"]["templates"].as_array().map(Vec::len), Some(4));
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
    assert!(stderr.contains("Invalid client credentials"), "{stderr}");
    assert!(!format!("{stdout}{stderr}").contains(secret));
    sim.shutdown().await;
}

#[tokio::test]
async fn send_a_template_exits_0_and_reaches_the_simulator() {
    let sim = sim().await;
    let args = ["send", "--to", "+8801988123456", "--template", "1"];
    let (code, stdout, stderr) = parts(&wutt(&sim, "demo-secret", &args).await);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("message_sent"), "{stdout}");
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
async fn an_unapproved_template_or_a_wrong_secret_exits_3_and_sends_nothing() {
    let sim = sim().await;
    let pending = ["send", "--to", "+8801988123456", "--template", "4"];
    let (code, _, stderr) = parts(&wutt(&sim, "demo-secret", &pending).await);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("template_not_approved"), "{stderr}");

    let approved = ["send", "--to", "+8801988123456", "--template", "1"];
    let (code, _, stderr) = parts(&wutt(&sim, "not-the-secret", &approved).await);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("account refused"), "{stderr}");
    assert!(sim.messages().is_empty());
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
    for args in [
        &["--help"][..],
        &["-h"],
        &["send", "--help"],
        &["simulate", "--help"],
        &["templates", "list", "--help"],
    ] {
        let (code, stdout, stderr) = parts(&run_bin(args, &env).await);
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        let all = format!("{stdout}{stderr}");
        assert!(all.contains("WUTT_CLIENT_SECRET"), "{args:?}: {all}");
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
