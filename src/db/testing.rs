//! Fresh databases for tests: each test gets its own database, created on the
//! server named by `DATABASE_URL` (pointing at an admin database such as
//! `postgres`), or on one throwaway cluster per test process when it is unset.
//! Dropped again when the [`TestDb`] goes out of scope.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::PgPool;

use super::ephemeral::Cluster;

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A migrated database that exists for one test.
#[derive(Debug)]
pub struct TestDb {
    pub pool: PgPool,
    pub url: String,
    pub name: String,
    admin_url: String,
}

/// The admin URL tests create databases through.
pub fn admin_url() -> String {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            let cluster = CLUSTER.get_or_init(|| Cluster::start().map_err(|e| format!("{e:#}")));
            match cluster {
                Ok(c) => c.url("postgres"),
                Err(e) => panic!("tests need PostgreSQL: set DATABASE_URL or install it: {e}"),
            }
        }
    }
}

/// The URL of database `name` on the same server as `admin`.
pub fn database_url(admin: &str, name: &str) -> String {
    let mut url = url::Url::parse(admin).expect("DATABASE_URL must be a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

impl TestDb {
    /// Creates and migrates a new database.
    pub async fn new() -> TestDb {
        let admin_url = admin_url();
        let name = format!(
            "wutt_t_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        );
        super::create_database(&admin_url, &name)
            .await
            .expect("create test database");
        let url = database_url(&admin_url, &name);
        let pool = super::connect_and_migrate(&url, 8)
            .await
            .expect("connect and migrate test database");
        TestDb {
            pool,
            url,
            name,
            admin_url,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs inside or outside a runtime; a thread of its own works for both.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            let _ = rt.block_on(super::drop_database(&admin_url, &name));
        })
        .join();
    }
}
