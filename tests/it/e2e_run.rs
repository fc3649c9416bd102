//! End to end: the real binary, `run --once`, against the simulator and real
//! PostgreSQL — a clean campaign, a fault mix, and account refusals (wrong
//! secret, IP not allowed) that pause the campaign until it is resumed.

use std::collections::HashMap;

use crate::support::bin::*;
use crate::support::db::{non_terminal, seed, seed_with, states};
use crate::support::sim::*;
use wutt_campaign::db::testing::TestDb;
use wutt_campaign::simulator::{Faults, SimConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_recipients_are_each_sent_once_and_match_the_database() {
    let db = TestDb::new().await;
    let sim = sim(rehearsal()).await;
    let id = seed(&db.pool, "thousand", 1000).await;
    let out = run(command(
        &db.url,
        &sim.base_url(),
        SECRET,
        &["run", "--once"],
    ))
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let states = states(&db.pool, id).await;
    assert_eq!(states.get("sent"), Some(&1000), "{states:?}");

    let msgs = sim.messages();
    assert_eq!(msgs.len(), 1000);
    let by_mobile: HashMap<String, String> = msgs
        .iter()
        .map(|m| (m.mobile.clone(), m.message.clone().unwrap_or_default()))
        .collect();
    assert_eq!(by_mobile.len(), 1000, "each number exactly once");
    let rows: Vec<(String, String, Option<String>, Option<serde_json::Value>)> = sqlx::query_as(
        "SELECT mobile_code, mobile, message, data FROM recipients WHERE campaign_id = $1 ORDER BY row_number",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    for (code, mobile, message, data) in rows {
        assert_eq!(code, "880");
        assert_eq!(by_mobile.get(&mobile), message.as_ref(), "row {mobile}");
        let message_id = data
            .as_ref()
            .and_then(|d| d.pointer("/message/whatsapp_message_id"))
            .and_then(|v| v.as_str());
        assert!(message_id.is_some_and(|m| !m.is_empty()), "{data:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_mix_ends_terminal_without_resending() {
    let db = TestDb::new().await;
    let sim = sim(SimConfig {
        faults: Faults {
            error_rate: 0.10,
            throttle_rate: 0.05,
            timeout_rate: 0.02,
            malformed_rate: 0.01,
            ..Faults::default()
        },
        ..rehearsal()
    })
    .await;
    let id = seed_with(&db.pool, "faults", 400, "max_attempts = 4").await;
    let mut runs = 0;
    loop {
        let out = run(command(
            &db.url,
            &sim.base_url(),
            SECRET,
            &[
                "--timeout",
                "1",
                "run",
                "--once",
                "--lease-secs",
                "10",
                "--once-horizon-secs",
                "20",
            ],
        ))
        .await;
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        runs += 1;
        if non_terminal(&states(&db.pool, id).await) == 0 || runs == 5 {
            break;
        }
    }
    let states = states(&db.pool, id).await;
    assert_eq!(
        non_terminal(&states),
        0,
        "every recipient terminal: {states:?}"
    );
    assert_eq!(states.values().sum::<i64>(), 400);
    let max_attempts: i32 =
        sqlx::query_scalar("SELECT max(attempts) FROM recipients WHERE campaign_id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(max_attempts <= 4, "attempts bounded: {max_attempts}");
    let unknown: Vec<String> = sqlx::query_scalar(
        "SELECT mobile FROM recipients WHERE campaign_id = $1 AND state = 'unknown'",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    for (mobile, n) in sim_counts(&sim) {
        assert!(
            n == 1 || unknown.contains(&mobile),
            "{mobile} sent {n} times"
        );
    }
    let sent: i64 = states.get("sent").copied().unwrap_or(0);
    assert!(sent >= 300, "most are sent: {states:?}");
}

async fn refused_then_fixed(db: &TestDb, name: &str, bad: SimConfig, bad_secret: &str) {
    let id = seed(&db.pool, name, 200).await;
    let bad_sim = sim(bad).await;
    let out = run(command(
        &db.url,
        &bad_sim.base_url(),
        bad_secret,
        &["run", "--once"],
    ))
    .await;
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let (status, reason): (String, Option<String>) =
        sqlx::query_as("SELECT status, pause_reason FROM campaigns WHERE id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(status, "paused");
    assert!(
        reason
            .as_deref()
            .is_some_and(|r| r.starts_with("account refused")),
        "{reason:?}"
    );
    let s = states(&db.pool, id).await;
    assert_eq!(s.get("failed"), None, "{s:?}");
    assert_eq!(s.get("queued"), Some(&200), "{s:?}");
    assert!(bad_sim.messages().is_empty());
    assert!(
        !stderr(&out).contains(bad_secret),
        "the secret never appears in output"
    );

    let out = run(command(
        &db.url,
        &bad_sim.base_url(),
        SECRET,
        &["campaign", "list"],
    ))
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let list = String::from_utf8_lossy(&out.stdout);
    let row = list.lines().find(|l| l.contains(name)).unwrap_or_default();
    assert!(
        row.contains("paused") && row.contains("account refused"),
        "{list}"
    );

    let good = sim(rehearsal()).await;
    let out = run(command(
        &db.url,
        &good.base_url(),
        SECRET,
        &["campaign", "resume", name],
    ))
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run(command(
        &db.url,
        &good.base_url(),
        SECRET,
        &["run", "--once"],
    ))
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let s = states(&db.pool, id).await;
    assert_eq!(s.get("sent"), Some(&200), "{s:?}");
    assert_eq!(good.messages().len(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_pauses_the_campaign_until_resumed() {
    let db = TestDb::new().await;
    refused_then_fixed(&db, "wrong-secret", SimConfig::default(), "not-the-secret").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ip_outside_the_allow_list_pauses_the_campaign() {
    let db = TestDb::new().await;
    let bad = SimConfig {
        allow_ips: vec!["10.1.2.3".parse().unwrap()],
        ..rehearsal()
    };
    refused_then_fixed(&db, "ip-refused", bad, SECRET).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_campaign_is_a_usage_error() {
    let db = TestDb::new().await;
    let out = run(command(
        &db.url,
        "http://127.0.0.1:9",
        SECRET,
        &["campaign", "pause", "nope"],
    ))
    .await;
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let out = run(command(
        &db.url,
        "http://127.0.0.1:9",
        SECRET,
        &["requeue", "nope", "--state", "unknown"],
    ))
    .await;
    assert_eq!(code(&out), 2, "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_once_ingests_the_inbox_and_sends_the_new_campaign() {
    let db = TestDb::new().await;
    let sim = sim(rehearsal()).await;
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    std::fs::write(
        inbox.join("drop.toml"),
        "name = \"dropped\"\nmessage = \"Hi {{firstname}}\"\n",
    )
    .unwrap();
    let mut csv = String::from("phone,firstname\n");
    for i in 0..50 {
        csv.push_str(&format!("+880 1712-{:06},Name{i}\n", 300_000 + i));
    }
    std::fs::write(inbox.join("drop.csv"), csv).unwrap();
    let mut cmd = command(
        &db.url,
        &sim.base_url(),
        SECRET,
        &["run", "--once", "--settle", "0"],
    );
    cmd.env("WUTT_CAMPAIGNS_DIR", dir.path());
    let out = run(cmd).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let id: i64 = sqlx::query_scalar("SELECT id FROM campaigns WHERE name = 'dropped'")
        .fetch_one(&db.pool)
        .await
        .expect("the campaign was loaded");
    let s = states(&db.pool, id).await;
    assert_eq!(s.get("sent"), Some(&50), "{s:?}");
    let msgs = sim.messages();
    assert_eq!(msgs.len(), 50);
    assert!(msgs.iter().all(|m| {
        m.message
            .as_deref()
            .is_some_and(|t| t.starts_with("Hi Name"))
    }));
    assert!(!inbox.join("drop.csv").exists(), "the file left the inbox");
}

/// With every log target at `trace`, in text and in JSON, a whole run — the
/// inbox loaded, the template list asked, every recipient sent — never prints
/// the client secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_secret_never_reaches_the_logs_even_at_trace() {
    const DISTINCT: &str = "s3cr3t-wutt-42-DO-NOT-LOG";
    let db = TestDb::new().await;
    let sim = wutt_campaign::simulator::start(
        SimConfig {
            client_id: ID.into(),
            client_secret: wutt_campaign::config::Secret::new(DISTINCT),
            seed: Some(7),
            ..rehearsal()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .expect("simulator");
    for (i, format) in ["text", "json"].into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let inbox = dir.path().join("inbox");
        std::fs::create_dir_all(&inbox).unwrap();
        let name = format!("trace-{format}");
        std::fs::write(
            inbox.join(format!("{name}.toml")),
            format!("name = \"{name}\"\ntemplate_id = 1\n"),
        )
        .unwrap();
        let mut csv = String::from("phone,firstname\n");
        for r in 0..5 {
            csv.push_str(&format!("+8801712{:06},Name{r}\n", 400_000 + i * 10 + r));
        }
        std::fs::write(inbox.join(format!("{name}.csv")), csv).unwrap();
        let mut cmd = command(
            &db.url,
            &sim.base_url(),
            DISTINCT,
            &["--log-format", format, "run", "--once", "--settle", "0"],
        );
        cmd.env("WUTT_CAMPAIGNS_DIR", dir.path())
            .env("RUST_LOG", "trace");
        let out = run(cmd).await;
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), stderr(&out));
        assert_eq!(code(&out), 0, "{stderr}");
        let id: i64 = sqlx::query_scalar("SELECT id FROM campaigns WHERE name = $1")
            .bind(&name)
            .fetch_one(&db.pool)
            .await
            .expect("the campaign was loaded");
        let s = states(&db.pool, id).await;
        assert_eq!(s.get("sent"), Some(&5), "{s:?}");
        let level = if format == "json" {
            "\"level\":\"TRACE\""
        } else {
            "TRACE"
        };
        assert!(stderr.contains(level), "trace logs were captured: {stderr}");
        assert!(
            !stdout.contains(DISTINCT) && !stderr.contains(DISTINCT),
            "the secret appears in the {format} output"
        );
    }
    assert_eq!(sim.messages().len(), 10);
}
