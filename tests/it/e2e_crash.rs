//! End to end, the hard way: the runner killed with SIGKILL at random moments
//! of a 10,000-recipient run, and PostgreSQL restarted under a running
//! runner. Afterwards every recipient is terminal, nobody was sent twice, and
//! a crash leaves `unknown` only what may have been sent: the requests in
//! flight, the recipients the gate had just let go, the answers not yet
//! written.

use std::time::Duration;

use crate::support::bin::*;
use crate::support::db::{eventually, non_terminal, seed, states};
use crate::support::sim::*;
use sqlx::PgPool;
use wutt_campaign::db::{self, ephemeral::Cluster, testing::TestDb};
use wutt_campaign::simulator::{Faults, LatencyRange, SimConfig};

const CAP: i64 = 16;
/// The claim size the runner is given here.
const BATCH: i64 = 8;
/// What one crash may leave `unknown`: the requests in flight (`CAP`), a
/// claim per dispatcher that the gate let go (4 × `BATCH`), and the answers
/// waiting to be written (3 flushers × 2 batches of 2 × `BATCH`).
const UNKNOWN_PER_CRASH: i64 = CAP + 4 * BATCH + 3 * 2 * 2 * BATCH;

fn latency(min: u64, max: u64) -> SimConfig {
    SimConfig {
        faults: Faults {
            latency_ms: LatencyRange { min, max },
            ..Faults::default()
        },
        ..rehearsal()
    }
}

async fn in_flight_leases(pool: &PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM recipients WHERE state = 'sending' AND lease_expires_at > now()",
    )
    .fetch_one(pool)
    .await
    .unwrap_or(i64::MAX)
}

async fn count(pool: &PgPool, state: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM recipients WHERE state = $1")
        .bind(state)
        .fetch_one(pool)
        .await
        .unwrap()
}

fn runner(url: &str, base: &str) -> std::process::Command {
    let mut cmd = command(
        url,
        base,
        SECRET,
        &[
            "--timeout",
            "2",
            "run",
            "--once",
            "--lease-secs",
            "5",
            "--batch-size",
            &BATCH.to_string(),
        ],
    );
    cmd.env("WUTT_RATE", "5000")
        .env("WUTT_CONCURRENCY", CAP.to_string());
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_runners_never_send_twice() {
    let db = TestDb::new().await;
    let sim = sim(latency(1, 5)).await;
    let id = seed(&db.pool, "kill", 10_000).await;
    let mut unknown_before = 0;
    for kill in 0..3 {
        let mut child = spawn(runner(&db.url, &sim.base_url()));
        let target = sim.messages().len() + 200 + rand::random_range(0..1200);
        assert!(
            eventually(Duration::from_secs(120), || async {
                sim.messages().len() >= target
            })
            .await,
            "kill {kill}: the runner made no progress"
        );
        child.kill().expect("SIGKILL");
        child.wait().unwrap();
        // Let the dead runner's leases run out, then count what it left in flight.
        assert!(
            eventually(Duration::from_secs(30), || async {
                in_flight_leases(&db.pool).await == 0
            })
            .await
        );
        let rescued = wutt_campaign::queue::claim::rescue_expired(&db.pool)
            .await
            .unwrap()
            .unknown as i64;
        assert!(
            rescued <= UNKNOWN_PER_CRASH,
            "kill {kill}: {rescued} left unknown (at most {UNKNOWN_PER_CRASH})"
        );
        let unknown = count(&db.pool, "unknown").await;
        assert_eq!(unknown - unknown_before, rescued);
        unknown_before = unknown;
    }
    let out = run(runner(&db.url, &sim.base_url())).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let s = states(&db.pool, id).await;
    assert_eq!(non_terminal(&s), 0, "{s:?}");
    assert_eq!(s.values().sum::<i64>(), 10_000);
    assert!(
        s.get("unknown").copied().unwrap_or(0) <= 3 * UNKNOWN_PER_CRASH,
        "{s:?}"
    );
    let counts = sim_counts(&sim);
    assert!(counts.values().all(|n| *n == 1), "a number was sent twice");
    // Every sent row reached the simulator; unknown rows may or may not have.
    let sent = s.get("sent").copied().unwrap_or(0);
    let unknown = s.get("unknown").copied().unwrap_or(0);
    assert!(
        (sent..=sent + unknown).contains(&(counts.len() as i64)),
        "{} recorded, {s:?}",
        counts.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runner_rides_out_a_postgres_restart() {
    let cluster = tokio::task::spawn_blocking(Cluster::start)
        .await
        .unwrap()
        .expect("throwaway cluster");
    let url = cluster.url("postgres");
    let pool = db::connect_and_migrate(&url, 4).await.unwrap();
    // The throwaway cluster runs with synchronous_commit=off for speed, which
    // loses the last acknowledged commits in a crash; no queue survives a
    // database that forgets what it confirmed, so the runner's sessions get
    // the durable default back.
    sqlx::query("ALTER DATABASE postgres SET synchronous_commit = on")
        .execute(&pool)
        .await
        .unwrap();
    let sim = sim(latency(2, 5)).await;
    let id = seed(&pool, "restart", 3000).await;
    let mut cmd = runner(&url, &sim.base_url());
    cmd.env("WUTT_RATE", "300");
    let mut child = spawn(cmd);
    assert!(
        eventually(Duration::from_secs(60), || async {
            sim.messages().len() >= 500
        })
        .await
    );
    pool.close().await;
    let cluster = tokio::task::spawn_blocking(move || {
        cluster.stop().expect("stop");
        cluster.restart().expect("restart");
        cluster
    })
    .await
    .unwrap();
    let exited = eventually(Duration::from_secs(120), || {
        let done = child.try_wait().ok().flatten().is_some();
        async move { done }
    })
    .await;
    if !exited {
        let _ = child.kill();
    }
    let status = child.wait().unwrap();
    assert!(
        exited && status.success(),
        "runner did not finish cleanly: {status:?}"
    );
    let pool = db::connect(&url, 2, Duration::from_secs(30)).await.unwrap();
    // Claims whose answer the outage swallowed wait for their lease, then a
    // second run settles them.
    assert!(
        eventually(Duration::from_secs(30), || async {
            in_flight_leases(&pool).await == 0
        })
        .await
    );
    let out = run(runner(&url, &sim.base_url())).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let s = states(&pool, id).await;
    assert_eq!(non_terminal(&s), 0, "{s:?}");
    assert!(s.get("unknown").copied().unwrap_or(0) <= CAP, "{s:?}");
    assert!(
        sim_counts(&sim).values().all(|n| *n == 1),
        "a number was sent twice"
    );
    pool.close().await;
    drop(cluster);
}
