//! The delivery engine in-process, against a loopback HTTP server and real
//! PostgreSQL: every recipient sent once, an account refusal pauses the
//! campaign and leaves its recipients queued, a graceful stop leaves no
//! `unknown`, and the shared token bucket holds its rate.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::support::db::*;
use crate::support::runner::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use wutt_campaign::db::testing::TestDb;
use wutt_campaign::delivery::{self, Event, Mode, Runner, Shutdown, Step};
use wutt_campaign::queue::throttle as qt;

fn ok_body() -> serde_json::Value {
    serde_json::json!({"status": "success", "remark": "message_sent", "message": ["Message sent"], "data": {}})
}

fn mobile_of(req: &wiremock::Request) -> String {
    // The multipart body carries `mobile`; the number is unique per recipient.
    let body = String::from_utf8_lossy(&req.body);
    let i = body.find("name=\"mobile\"").expect("mobile field");
    body[i..].lines().nth(2).unwrap_or("").trim().to_string()
}

async fn run_once(
    db: &TestDb,
    base: &str,
    config: delivery::DeliveryConfig,
) -> delivery::RunSummary {
    delivery::run(
        db.pool.clone(),
        client(base, "secret", Duration::from_secs(5)),
        config,
        Mode::Once,
        Shutdown::new(),
        false,
    )
    .await
    .expect("run")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_recipient_is_sent_exactly_once() {
    let db = TestDb::new().await;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/inbox/send-message"))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok_body()))
        .mount(&server)
        .await;
    let id = seed(&db.pool, "all-sent", 300).await;
    let summary = run_once(&db, &server.uri(), config(10_000.0, 16)).await;
    assert_eq!(summary.sent, 300);
    assert!(!summary.paused_any());
    let states = states(&db.pool, id).await;
    assert_eq!(states.get("sent"), Some(&300), "{states:?}");
    let reqs = server.received_requests().await.unwrap();
    let numbers: HashSet<String> = reqs.iter().map(mobile_of).collect();
    assert_eq!(reqs.len(), 300);
    assert_eq!(numbers.len(), 300, "no number twice");
    let attempts: i64 =
        sqlx::query_scalar("SELECT count(*) FROM send_attempts WHERE campaign_id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(attempts, 300);
    let status: String = sqlx::query_scalar("SELECT status FROM campaigns WHERE id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(status, "completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_refusal_pauses_and_keeps_everyone_queued() {
    let db = TestDb::new().await;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({
            "remark": "Unauthorized", "status": "error", "message": ["Invalid credentials"]
        })))
        .mount(&server)
        .await;
    let id = seed(&db.pool, "refused", 500).await;
    let summary = run_once(&db, &server.uri(), config(10_000.0, 8)).await;
    assert!(summary.paused_any());
    let (status, reason): (String, Option<String>) =
        sqlx::query_as("SELECT status, pause_reason FROM campaigns WHERE id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(status, "paused");
    let reason = reason.unwrap_or_default();
    assert!(reason.contains("Invalid credentials"), "{reason}");
    let states = states(&db.pool, id).await;
    assert_eq!(states.get("queued"), Some(&500), "{states:?}");
    let charged: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum(attempts), 0) FROM recipients WHERE campaign_id = $1",
    )
    .bind(id)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(charged, 0, "a refused attempt is not counted");
    let calls = server.received_requests().await.unwrap().len();
    assert!(calls <= 8 + 1, "stopped at once: {calls} calls");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_stop_leaves_nothing_unknown() {
    let db = TestDb::new().await;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(ok_body())
                .set_delay(Duration::from_millis(150)),
        )
        .mount(&server)
        .await;
    let id = seed(&db.pool, "stopped", 400).await;
    let shutdown = Shutdown::new();
    let run = tokio::spawn(delivery::run(
        db.pool.clone(),
        client(&server.uri(), "secret", Duration::from_secs(5)),
        config(10_000.0, 8),
        Mode::Daemon,
        shutdown.clone(),
        false,
    ));
    assert!(
        eventually(Duration::from_secs(30), || async {
            server.received_requests().await.unwrap().len() >= 40
        })
        .await
    );
    shutdown.stop();
    let summary = run.await.unwrap().unwrap();
    let states = states(&db.pool, id).await;
    assert_eq!(states.get("unknown"), None, "{states:?}");
    assert_eq!(states.get("sending"), None, "{states:?}");
    let calls = server.received_requests().await.unwrap().len() as i64;
    assert_eq!(
        states.get("sent").copied().unwrap_or(0),
        calls,
        "{states:?}"
    );
    assert_eq!(summary.sent as i64, calls);
    assert_eq!(states.values().sum::<i64>(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shared_bucket_never_grants_more_than_rate_plus_burst() {
    let db = TestDb::new().await;
    let (rate, burst) = (200.0, 20.0);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let pool = db.pool.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = 0u64;
            while start.elapsed() < Duration::from_millis(1500) {
                let g = qt::take(&pool, "account:bucket-test", 3, rate, burst)
                    .await
                    .unwrap();
                got += u64::from(g.granted);
                if g.granted == 0 {
                    tokio::time::sleep(Duration::from_secs_f64(g.wait_secs.min(0.05))).await;
                }
            }
            got
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    let secs = start.elapsed().as_secs_f64();
    let max = burst + rate * secs;
    assert!(
        (total as f64) <= max + 1.0,
        "{total} granted in {secs:.2}s (max {max:.0})"
    );
    assert!(
        total as f64 >= rate * 1.0,
        "{total} granted in {secs:.2}s: far too few"
    );
}

#[tokio::test]
async fn a_429_blocks_the_bucket_and_halves_its_rate() {
    let db = TestDb::new().await;
    let g = qt::take(&db.pool, "account:slow", 1, 100.0, 10.0)
        .await
        .unwrap();
    assert_eq!((g.granted, g.rate), (1, 100.0));
    let wait = Duration::from_secs(30);
    let rate = qt::slow_down(&db.pool, "account:slow", wait, 0.5, 1.0)
        .await
        .unwrap();
    assert_eq!(rate, Some(50.0));
    // A second 429 right after does not cut again.
    let rate = qt::slow_down(&db.pool, "account:slow", wait, 0.5, 1.0)
        .await
        .unwrap();
    assert_eq!(rate, Some(50.0));
    let g = qt::take(&db.pool, "account:slow", 5, 100.0, 10.0)
        .await
        .unwrap();
    assert_eq!(g.granted, 0);
    assert!(g.wait_secs > 20.0, "{g:?}");
    // The block is read back as a span of the database's clock.
    let left = qt::blocked_for(&db.pool, "account:slow").await.unwrap();
    assert!(
        left.is_some_and(|d| d > Duration::from_secs(20) && d <= wait),
        "{left:?}"
    );
}

#[tokio::test]
async fn the_daily_budget_counts_unique_numbers() {
    let db = TestDb::new().await;
    let id = seed(&db.pool, "budget", 10).await;
    sqlx::query("UPDATE recipients SET state = 'sent', sent_at = now() - interval '23 hours' WHERE campaign_id = $1 AND row_number <= 4")
        .bind(id)
        .execute(&db.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE recipients SET state = 'sent', sent_at = now() - interval '25 hours' WHERE campaign_id = $1 AND row_number = 5")
        .bind(id)
        .execute(&db.pool)
        .await
        .unwrap();
    let (used, frees) = qt::daily_unique(&db.pool, 4).await.unwrap();
    assert_eq!(used, 4);
    let frees = frees.expect("full budget says when it frees");
    assert!(frees > chrono::Utc::now() && frees < chrono::Utc::now() + chrono::Duration::hours(2));
    let (used, frees) = qt::daily_unique(&db.pool, 100).await.unwrap();
    assert_eq!((used, frees), (4, None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_api_slows_the_runner_down_without_charging_attempts() {
    use wutt_campaign::config::Secret;
    use wutt_campaign::simulator::{self, SimConfig};
    let db = TestDb::new().await;
    let sim = simulator::start(
        SimConfig {
            client_id: "test-id".into(),
            client_secret: Secret::new("secret"),
            rate_per_second: Some(40.0),
            burst: 5,
            all_contacts: true,
            ..SimConfig::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let id = seed(&db.pool, "throttled", 200).await;
    let mut cfg = config(400.0, 16);
    cfg.once_horizon = Duration::from_secs(10);
    let summary = run_once(&db, &sim.base_url(), cfg).await;
    let s = states(&db.pool, id).await;
    assert_eq!(s.get("sent"), Some(&200), "{s:?} {summary:?}");
    let max_attempts: i32 =
        sqlx::query_scalar("SELECT max(attempts) FROM recipients WHERE campaign_id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(max_attempts, 1, "a 429 does not spend an attempt");
    let stats = sim.stats();
    assert!(stats.rate_limited > 0, "the API did push back: {stats:?}");
    // Honouring Retry-After and halving the rate keeps 429s a small fraction,
    // not a storm of retries.
    assert!(
        stats.rate_limited < 200,
        "{} throttled answers for 200 messages",
        stats.rate_limited
    );
    assert_eq!(sim.messages().len(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_wakes_on_new_work_without_polling() {
    let db = TestDb::new().await;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok_body()))
        .mount(&server)
        .await;
    let mut cfg = config(10_000.0, 8);
    // Polling alone would not find the campaign within the test's deadline.
    cfg.poll_interval = Duration::from_secs(600);
    let shutdown = Shutdown::new();
    let runner = Runner::start(
        db.pool.clone(),
        client(&server.uri(), "secret", Duration::from_secs(5)),
        cfg,
        Mode::Daemon,
        shutdown.clone(),
        false,
    )
    .await
    .unwrap();
    // The runner says when it listens for work (it does so before its first step).
    let mut events = runner.subscribe();
    let run = tokio::spawn(runner.run());
    // Let the daemon go to sleep on an empty queue first: it listens, and a
    // step finds nothing to send.
    let asleep = tokio::time::timeout(Duration::from_secs(10), async {
        let mut listening = false;
        loop {
            match events.recv().await {
                Ok(Event::Listening) => listening = true,
                Ok(Event::Passed { dispatching: 0 }) if listening => return,
                Ok(_) => {}
                Err(err) => panic!("events ended: {err}"),
            }
        }
    })
    .await;
    assert!(asleep.is_ok(), "the daemon listens for work");
    let id = seed(&db.pool, "woken", 20).await;
    assert!(
        eventually(Duration::from_secs(20), || async {
            states(&db.pool, id).await.get("sent") == Some(&20)
        })
        .await,
        "a loaded campaign is sent without waiting for the poll"
    );
    shutdown.stop();
    run.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runner_can_be_driven_one_step_at_a_time() {
    let db = TestDb::new().await;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok_body()))
        .mount(&server)
        .await;
    let id = seed(&db.pool, "stepped", 30).await;
    let mut runner = Runner::start(
        db.pool.clone(),
        client(&server.uri(), "secret", Duration::from_secs(5)),
        config(10_000.0, 8),
        Mode::Once,
        Shutdown::new(),
        false,
    )
    .await
    .unwrap();
    let mut events = runner.subscribe();
    // The first step finds the campaign and starts its dispatchers.
    let first = runner.tick().await.unwrap();
    assert!(matches!(first, Step::Wait { busy: true, .. }), "{first:?}");
    let mut steps = 1;
    loop {
        match runner.tick().await.unwrap() {
            Step::Done => break,
            Step::Wait { wake_at, busy } => runner.wait(wake_at, busy).await,
        }
        steps += 1;
        assert!(steps < 10_000, "run --once never ended");
    }
    let summary = runner.stop().await.unwrap();
    assert_eq!(summary.sent, 30);
    assert_eq!(states(&db.pool, id).await.get("sent"), Some(&30));
    // The scheduler reported the campaign finished, and the runner its stop.
    let mut seen = Vec::new();
    while let Ok(event) = events.try_recv() {
        seen.push(event);
    }
    assert!(
        seen.iter()
            .any(|e| matches!(e, Event::Scheduled { finished, .. } if finished.contains(&id))),
        "{seen:?}"
    );
    assert_eq!(seen.last(), Some(&Event::Stopped));
}
