//! The metrics endpoint scraped over HTTP and parsed, and `/healthz` against a
//! live database and against a port nobody listens on.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use tokio::sync::oneshot;
use wutt_campaign::db::testing::TestDb;
use wutt_campaign::metrics;

/// Samples of a Prometheus text exposition: `name{labels}` → value.
fn parse(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (key, value) = l.rsplit_once(' ')?;
            Some((key.to_string(), value.parse().ok()?))
        })
        .collect()
}

async fn start(pool: sqlx::PgPool) -> (SocketAddr, oneshot::Sender<()>, metrics::MetricsServer) {
    let (stop, stopped) = oneshot::channel::<()>();
    let server = metrics::serve("127.0.0.1:0".parse().unwrap(), pool, async {
        let _ = stopped.await;
    })
    .await
    .expect("metrics server starts");
    (server.local_addr, stop, server)
}

async fn scrape(addr: SocketAddr) -> HashMap<String, f64> {
    let resp = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let ctype = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ctype.starts_with("text/plain"), "{ctype}");
    parse(&resp.text().await.unwrap())
}

#[tokio::test]
async fn scraped_metrics_have_the_recorded_values() {
    let db = TestDb::new().await;
    sqlx::raw_sql(
        "INSERT INTO campaigns (id, name, source_sha256, source_file) VALUES (901, 'm', '\\x01', 'm.csv');
         INSERT INTO recipients (campaign_id, row_number, line_number, raw_phone, mobile_code, mobile, state)
         SELECT 901, g, g + 1, 'p', '880', '171000' || g, CASE WHEN g <= 7 THEN 'queued' ELSE 'sent' END
         FROM generate_series(1, 10) g;",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let (addr, stop, server) = start(db.pool.clone()).await;

    for _ in 0..3 {
        metrics::record_message(901, "sent");
    }
    metrics::record_message(901, "failed");
    metrics::record_throttled();
    metrics::record_throttled();
    metrics::set_allowed_rate(12.5);
    metrics::request_started();
    metrics::request_started();
    metrics::request_finished(Duration::from_millis(30));
    metrics::request_finished(Duration::from_millis(700));
    let in_flight = metrics::InFlight::start();

    let m = scrape(addr).await;
    let get = |k: &str| {
        m.get(k)
            .copied()
            .unwrap_or_else(|| panic!("no {k} in {m:?}"))
    };
    assert_eq!(
        get(r#"wutt_messages_total{campaign="901",outcome="sent"}"#),
        3.0
    );
    assert_eq!(
        get(r#"wutt_messages_total{campaign="901",outcome="failed"}"#),
        1.0
    );
    assert!(get("wutt_throttled_total") >= 2.0);
    assert_eq!(get("wutt_allowed_rate"), 12.5);
    assert!(get("wutt_requests_in_flight") >= 1.0);
    assert_eq!(get(r#"wutt_queue_depth{campaign="901"}"#), 7.0);
    assert!(get("wutt_send_latency_seconds_count") >= 2.0);
    assert!(get("wutt_send_latency_seconds_sum") >= 0.73);
    assert!(get(r#"wutt_send_latency_seconds_bucket{le="0.05"}"#) >= 1.0);
    assert!(get(r#"wutt_send_latency_seconds_bucket{le="+Inf"}"#) >= 2.0);
    drop(in_flight);

    // Work done: the queue depth follows the database on the next scrape.
    sqlx::query("UPDATE recipients SET state = 'sent' WHERE campaign_id = 901")
        .execute(&db.pool)
        .await
        .unwrap();
    let m = scrape(addr).await;
    assert_eq!(m[r#"wutt_queue_depth{campaign="901"}"#], 0.0);

    stop.send(()).unwrap();
    server.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn healthz_follows_the_database() {
    let db = TestDb::new().await;
    let (addr, stop, server) = start(db.pool.clone()).await;
    let resp = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap().trim(), "ok");
    stop.send(()).unwrap();
    server.task.await.unwrap().unwrap();

    // A pool pointing at a port nobody listens on; serving a second time in
    // the same process reuses the one recorder.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let dead = PgPoolOptions::new()
        .acquire_timeout(Duration::from_secs(1))
        .connect_lazy(&format!("postgres://postgres@127.0.0.1:{port}/postgres"))
        .unwrap();
    let (addr, stop, server) = start(dead).await;
    let resp = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.text().await.unwrap().trim(), "database unreachable");
    // Metrics are still served while the database is away.
    let resp = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    stop.send(()).unwrap();
    server.task.await.unwrap().unwrap();
}
