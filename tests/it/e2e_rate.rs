//! End to end: two runner processes on one database share one account limit
//! of 50 messages per second through the PostgreSQL token bucket. In no
//! one-second window does the simulator see more than the limit (the bucket
//! refills at the rate less its burst), and every recipient is sent once.

use std::time::Duration;

use crate::support::bin::*;
use crate::support::db::{eventually, seed, states};
use crate::support::sim::*;
use wutt_campaign::db::testing::TestDb;
use wutt_campaign::simulator::{Faults, LatencyRange, SimConfig};

const RATE: usize = 50;
const BURST: usize = 5;
/// Arrival jitter: a grant is spent a few milliseconds before the simulator
/// sees the request, so a window can catch one grant from just before it.
const JITTER: usize = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runners_share_one_account_limit() {
    let db = TestDb::new().await;
    let sim = sim(SimConfig {
        faults: Faults {
            latency_ms: LatencyRange { min: 1, max: 3 },
            ..Faults::default()
        },
        ..rehearsal()
    })
    .await;
    let id = seed(&db.pool, "two-runners", 500).await;
    let runner = || {
        let mut cmd = command(
            &db.url,
            &sim.base_url(),
            SECRET,
            &["run", "--once", "--burst", &BURST.to_string()],
        );
        cmd.env("WUTT_RATE", RATE.to_string());
        spawn(cmd)
    };
    let mut a = runner();
    let mut b = runner();
    let done = eventually(Duration::from_secs(90), || {
        let finished =
            a.try_wait().ok().flatten().is_some() && b.try_wait().ok().flatten().is_some();
        async move { finished }
    })
    .await;
    let (sa, sb) = (a.wait().unwrap(), b.wait().unwrap());
    assert!(done && sa.success() && sb.success(), "{sa:?} {sb:?}");

    let s = states(&db.pool, id).await;
    assert_eq!(s.get("sent"), Some(&500), "{s:?}");
    let counts = sim_counts(&sim);
    assert_eq!(counts.len(), 500);
    assert!(counts.values().all(|n| *n == 1), "a number was sent twice");
    let workers: i64 = sqlx::query_scalar("SELECT count(DISTINCT worker) FROM send_attempts")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(workers, 2, "both runners sent");

    let mut at: Vec<u64> = sim.messages().iter().map(|m| m.received_at_ms).collect();
    at.sort_unstable();
    let mut worst = 0;
    let mut lo = 0;
    for hi in 0..at.len() {
        while at[hi] - at[lo] >= 1000 {
            lo += 1;
        }
        worst = worst.max(hi - lo + 1);
    }
    eprintln!("busiest second: {worst} messages (limit {RATE}, burst {BURST})");
    assert!(worst <= RATE + JITTER, "{worst} messages in one second");
    // And the limit is used, not starved: 500 messages need about 10 s.
    let span = (at[at.len() - 1] - at[0]) as f64 / 1000.0;
    assert!(span > 8.0 && span < 30.0, "took {span:.1}s");
}
