//! Database plumbing against real PostgreSQL: fresh migrated databases, and a
//! throwaway cluster started from the local installation.

use wutt_campaign::db::{self, ephemeral::Cluster, testing::TestDb};

#[tokio::test]
async fn fresh_database_is_migrated() {
    let db = TestDb::new().await;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    for t in ["campaigns", "recipients", "send_attempts", "suppressions"] {
        assert!(
            tables.iter().any(|x| x == t),
            "missing table {t}: {tables:?}"
        );
    }
    // Migrating twice is a no-op.
    db::migrate(&db.pool).await.unwrap();
}

#[tokio::test]
async fn throwaway_cluster_starts_and_stops() {
    let cluster = tokio::task::spawn_blocking(Cluster::start)
        .await
        .unwrap()
        .expect("start a throwaway cluster");
    let pool = db::connect_and_migrate(&cluster.url("postgres"), 2)
        .await
        .unwrap();
    let one: i32 = sqlx::query_scalar("SELECT 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(one, 1);
    pool.close().await;
    let url = cluster.url("postgres");
    drop(cluster);
    let err = db::connect(&url, 1, std::time::Duration::from_millis(200))
        .await
        .expect_err("the cluster is gone");
    assert!(format!("{err:#}").contains("cannot connect"), "{err:#}");
}

#[tokio::test]
async fn bad_database_url_is_a_clear_error() {
    let err = db::connect("mysql:/nope", 1, std::time::Duration::from_millis(10))
        .await
        .expect_err("not a postgres url");
    assert!(format!("{err:#}").contains("DATABASE_URL"), "{err:#}");
}
