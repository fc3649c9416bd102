//! What a new user meets in the first hour, as the real binary shows it: a
//! database that does not answer or does not exist, logs read in cron mail,
//! and `--help`.

use std::time::{Duration, Instant};

use crate::support::bin::run_bin;
use wutt_campaign::db::testing::TestDb;

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test]
async fn a_database_that_does_not_answer_fails_within_seconds_and_says_what_to_check() {
    let port = crate::support::http::closed_port().await.port();
    let url = format!("postgres://wutt:hunter2@127.0.0.1:{port}/wutt");
    let started = Instant::now();
    let out = run_bin(&["report"], &[("DATABASE_URL", &url)]).await;
    let took = started.elapsed();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(took < Duration::from_secs(20), "took {took:?}");
    assert!(all.contains("connection refused"), "{all}");
    assert!(all.contains(&format!("127.0.0.1:{port}")), "{all}");
    assert!(all.contains("pg_isready"), "what to do: {all}");
    assert!(!all.contains("hunter2"), "the password is redacted: {all}");
    assert!(!all.contains("pool timed out"), "{all}");
}

#[tokio::test]
async fn a_missing_database_fails_at_once_with_the_createdb_hint() {
    let db = TestDb::new().await;
    let mut url = url::Url::parse(&db.url).unwrap();
    url.set_path("/wutt_no_such_database");
    let started = Instant::now();
    let out = run_bin(&["campaign", "list"], &[("DATABASE_URL", url.as_str())]).await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        all.contains("database \"wutt_no_such_database\" does not exist")
            && all.contains("createdb"),
        "{all}"
    );
    assert_eq!(
        all.matches("does not exist").count(),
        1,
        "said once, without PostgreSQL's internals: {all}"
    );
    assert!(!all.contains("line "), "{all}");
}

#[tokio::test]
async fn logs_carry_no_colour_codes_when_stderr_is_not_a_terminal() {
    let port = crate::support::http::closed_port().await.port();
    let url = format!("postgres://postgres@127.0.0.1:{port}/wutt");
    let out = run_bin(&["report"], &[("DATABASE_URL", &url)]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("WARN"), "a log line was written: {stderr}");
    assert!(!stderr.contains('\u{1b}'), "ANSI codes in {stderr:?}");
}

#[tokio::test]
async fn help_starts_with_the_demo_lists_settings_once_and_keeps_commands_to_their_own_options() {
    let top = run_bin(&["--help"], &[]).await;
    let top = text(&top);
    for must in [
        "Start here:",
        "wutt-campaign demo",
        "load campaigns/inbox/list.csv --dry-run",
        "WUTT_BASE_URL",
        "Exit codes: 0 done",
    ] {
        assert!(top.contains(must), "{must:?} missing in\n{top}");
    }
    let report = text(&run_bin(&["report", "--help"], &[("WUTT_BASE_URL", "")]).await);
    assert!(report.contains("--recipients"), "{report}");
    for foreign in ["--rate", "--concurrency", "--client-secret", "[env:"] {
        assert!(
            !report.contains(foreign),
            "{foreign} in report --help:\n{report}"
        );
    }
    assert!(report.contains("Examples:"), "{report}");
    let run = text(&run_bin(&["run", "--help"], &[]).await);
    assert!(
        run.contains("--once") && run.contains("Exit codes"),
        "{run}"
    );
    assert!(!run.contains("[env: WUTT_BASE_URL="), "{run}");
}

#[tokio::test]
async fn an_https_url_to_a_plain_http_server_says_to_write_http() {
    let sim = wutt_campaign::simulator::start(
        wutt_campaign::simulator::SimConfig::default(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let base = format!("https://{}", sim.addr());
    let out = run_bin(
        &["templates", "list"],
        &[
            ("WUTT_BASE_URL", &base),
            ("WUTT_CLIENT_ID", "demo-id"),
            ("WUTT_CLIENT_SECRET", "demo-secret"),
        ],
    )
    .await;
    let all = text(&out);
    assert_ne!(out.status.code(), Some(0), "{all}");
    assert!(
        all.contains("does not speak TLS") && all.contains("write http://"),
        "{all}"
    );
    let out = run_bin(
        &["templates", "list"],
        &[
            ("WUTT_BASE_URL", "www.wutt.net/external-api"),
            ("WUTT_CLIENT_ID", "demo-id"),
            ("WUTT_CLIENT_SECRET", "demo-secret"),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("has no scheme"), "{}", text(&out));
}
