//! Fresh databases for tests: each test gets its own database, created on the
//! server named by `DATABASE_URL` (pointing at an admin database such as
//! `postgres`), or on one throwaway cluster per test process when it is unset.
//! Dropped again when the [`TestDb`] goes out of scope; the throwaway cluster
//! is stopped when the test process exits.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

use sqlx::PgPool;

use super::ephemeral::Cluster;

/// The process's throwaway cluster: its admin URL (or why it could not start),
/// and the cluster itself, taken and stopped at process exit.
static CLUSTER_URL: OnceLock<Result<String, String>> = OnceLock::new();
static CLUSTER: Mutex<Option<Cluster>> = Mutex::new(None);
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
            let url = CLUSTER_URL.get_or_init(start_process_cluster);
            match url {
                Ok(url) => url.clone(),
                Err(e) => panic!("tests need PostgreSQL: set DATABASE_URL or install it: {e}"),
            }
        }
    }
}

/// Starts the process's cluster and arranges for it to stop at exit (statics
/// are never dropped, so without this every test binary would leave a server
/// running).
fn start_process_cluster() -> Result<String, String> {
    let cluster = Cluster::start().map_err(|e| format!("{e:#}"))?;
    let url = cluster.url("postgres");
    if let Ok(mut slot) = CLUSTER.lock() {
        *slot = Some(cluster);
    }
    // SAFETY: `stop_cluster` is a plain `extern "C" fn` without arguments
    // that does not unwind.
    unsafe {
        libc::atexit(stop_cluster);
    }
    Ok(url)
}

extern "C" fn stop_cluster() {
    let cluster = CLUSTER.lock().ok().and_then(|mut slot| slot.take());
    // Dropping stops the server and removes its directory.
    let _ = std::panic::catch_unwind(move || drop(cluster));
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
