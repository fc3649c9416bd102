//! PostgreSQL plumbing: the connection pool, the migrations embedded in the
//! binary, throwaway clusters for the demo and tests, and fresh test databases.

pub mod ephemeral;
pub mod retry;
pub mod testing;

use std::time::Duration;

use anyhow::Context as _;
use backon::{ExponentialBuilder, Retryable as _};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions as _, PgPool};

/// The migrations in `./migrations`, compiled into the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How many connections a runner keeps.
pub const DEFAULT_POOL_SIZE: u32 = 10;

/// Opens a pool. Waits up to `patience` for a server that is still starting or
/// restarting, so a runner started together with its database does not fail;
/// a database that does not exist or refuses the credentials fails at once.
/// The error says what was tried (password redacted) and what to do.
pub async fn connect(
    url: &str,
    max_connections: u32,
    patience: Duration,
) -> anyhow::Result<PgPool> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        anyhow::bail!(
            "DATABASE_URL must start with postgres:// or postgresql:// (got {})",
            redact_url(url)
        );
    }
    let options: PgConnectOptions = url
        .parse()
        .with_context(|| "DATABASE_URL is not a valid PostgreSQL URL".to_string())?;
    let options = if tls_is_pointless(url, std::env::var_os("PGSSLMODE").is_some()) {
        options.ssl_mode(sqlx::postgres::PgSslMode::Disable)
    } else {
        options
    };
    let options = options
        .application_name("wutt-campaign")
        .log_statements(tracing::log::LevelFilter::Trace)
        .log_slow_statements(tracing::log::LevelFilter::Debug, Duration::from_secs(5));
    // One plain connection first: its error is the server's own ("connection
    // refused", "database does not exist"), where a pool only says it timed out.
    let probe = || async {
        match tokio::time::timeout(CONNECT_TIMEOUT, options.connect()).await {
            Ok(Ok(conn)) => {
                let _ = sqlx::Connection::close(conn).await;
                Ok(())
            }
            Ok(Err(err)) => Err(err),
            Err(_) => Err(sqlx::Error::PoolTimedOut),
        }
    };
    probe
        .retry(reconnect_backoff().with_total_delay(Some(patience)))
        .when(is_transient)
        .notify(|err, wait| {
            tracing::warn!(error = %err, ?wait, "database not reachable yet; retrying");
        })
        .await
        .map_err(|err| anyhow::anyhow!(explain_connect_error(url, &options, &err)))?;
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options.clone())
        .await
        .with_context(|| format!("cannot connect to PostgreSQL at {}", redact_url(url)))
}

/// Whether TLS to the database would only cost time: the URL names this
/// machine (a loopback address or a socket directory) and neither it nor
/// `PGSSLMODE` asks for any TLS mode. The driver's default (`prefer`) would
/// otherwise encrypt every statement to a server on the same machine, where
/// nobody can listen in, at a cost that shows at thousands of sends a second.
fn tls_is_pointless(url: &str, sslmode_in_env: bool) -> bool {
    let Ok(u) = url::Url::parse(url) else {
        return false;
    };
    let pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if sslmode_in_env || pairs.iter().any(|(k, _)| k == "sslmode" || k == "ssl-mode") {
        return false;
    }
    let local = |host: &str| {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        host == "localhost"
            || host.starts_with('/')
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    };
    match pairs.iter().find(|(k, _)| k == "host") {
        Some((_, host)) => local(host),
        None => u.host_str().is_some_and(local),
    }
}

/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// One sentence: what was tried, what went wrong, what to do.
fn explain_connect_error(url: &str, options: &PgConnectOptions, err: &sqlx::Error) -> String {
    let at = redact_url(url);
    let database = options.get_database().unwrap_or("postgres");
    let host = options.get_host();
    let port = options.get_port();
    match err {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("3D000") => format!(
            "cannot connect to PostgreSQL at {at}: database \"{database}\" does not exist; create it (createdb -h {host} -p {port} {database}) or point DATABASE_URL at an existing one"
        ),
        sqlx::Error::Database(db) if db.code().is_some_and(|c| c == "28P01" || c == "28000") => {
            format!(
                "cannot connect to PostgreSQL at {at}: the server refused the user or password ({}); check DATABASE_URL",
                db.message()
            )
        }
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => format!(
            "cannot connect to PostgreSQL at {at}: connection refused on {host}:{port}; is PostgreSQL running there (pg_isready -h {host} -p {port}), and is the port in DATABASE_URL right?"
        ),
        sqlx::Error::PoolTimedOut => format!(
            "cannot connect to PostgreSQL at {at}: no answer from {host}:{port} within {} s; check the host, the port and the network",
            CONNECT_TIMEOUT.as_secs()
        ),
        other => format!("cannot connect to PostgreSQL at {at}: {other}"),
    }
}

/// How long to wait between tries while PostgreSQL starts or restarts: 100 ms
/// doubling to 5 s, with jitter, without a limit of tries (callers bound it
/// by a total delay or by cancellation). Durable retries of sends are not
/// this: they live in the queue as `next_attempt_at`.
pub fn reconnect_backoff() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(Duration::from_secs(5))
        .with_jitter()
        .without_max_times()
}

/// How long a command waits for a PostgreSQL that is not answering (yet).
pub const CONNECT_PATIENCE: Duration = Duration::from_secs(5);

/// Opens a pool and applies the embedded migrations.
pub async fn connect_and_migrate(url: &str, max_connections: u32) -> anyhow::Result<PgPool> {
    let pool = connect(url, max_connections, CONNECT_PATIENCE).await?;
    migrate(&pool).await?;
    Ok(pool)
}

/// Creates database `name` on the server of `admin_url` (a URL of any
/// database there, such as `postgres`). The name must be a plain identifier.
pub async fn create_database(admin_url: &str, name: &str) -> anyhow::Result<()> {
    use sqlx::{Connection as _, Executor as _};
    check_database_name(name)?;
    let mut admin = sqlx::PgConnection::connect(admin_url)
        .await
        .with_context(|| format!("cannot connect to PostgreSQL at {}", redact_url(admin_url)))?;
    admin
        .execute(sqlx::AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
        .await
        .with_context(|| format!("creating database {name}"))?;
    Ok(())
}

/// Drops database `name` on the server of `admin_url`, closing its sessions.
pub async fn drop_database(admin_url: &str, name: &str) -> anyhow::Result<()> {
    use sqlx::{Connection as _, Executor as _};
    check_database_name(name)?;
    let mut admin = sqlx::PgConnection::connect(admin_url)
        .await
        .with_context(|| format!("cannot connect to PostgreSQL at {}", redact_url(admin_url)))?;
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#
        )))
        .await
        .with_context(|| format!("dropping database {name}"))?;
    Ok(())
}

fn check_database_name(name: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        !name.is_empty()
            && name.len() < 64
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
        "database name {name:?} must be lower-case letters, digits and underscores"
    );
    Ok(())
}

/// Applies the embedded migrations (idempotent; safe with several runners).
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR
        .run(pool)
        .await
        .context("applying database migrations")?;
    Ok(())
}

/// Whether a database error is worth waiting out: the server is starting,
/// restarting or unreachable, the connection broke, or the transaction lost a
/// serialization or deadlock race.
pub fn is_transient(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        // 08: connection exceptions; 57P: operator intervention (shutdown,
        // cannot connect now); 53300: too many connections; 40001/40P01:
        // serialization failure, deadlock.
        sqlx::Error::Database(db) => db.code().is_some_and(|c| {
            c.starts_with("08")
                || c.starts_with("57P")
                || c == "53300"
                || c == "40001"
                || c == "40P01"
        }),
        _ => false,
    }
}

/// The URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("REDACTED"));
            }
            // libpq's `?password=` (and `sslpassword=`) are passwords too.
            if u.query_pairs().any(|(k, _)| secret_parameter(&k)) {
                let pairs: Vec<(String, String)> = u
                    .query_pairs()
                    .map(|(k, v)| {
                        let v = if secret_parameter(&k) {
                            "REDACTED".to_string()
                        } else {
                            v.into_owned()
                        };
                        (k.into_owned(), v)
                    })
                    .collect();
                u.query_pairs_mut().clear().extend_pairs(pairs);
            }
            u.to_string()
        }
        Err(_) => "[unparseable URL]".to_string(),
    }
}

/// Whether a URL's query parameter holds a secret.
fn secret_parameter(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "secret", "token"]
        .iter()
        .any(|word| key.contains(word))
}

/// Whether `url` carries a password (in its user part or its query).
pub fn url_has_password(url: &str) -> bool {
    match url::Url::parse(url) {
        Ok(u) => u.password().is_some() || u.query_pairs().any(|(k, _)| secret_parameter(&k)),
        // Unparseable: assume the worst.
        Err(_) => url.contains('@') || url.to_ascii_lowercase().contains("password"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_password() {
        assert_eq!(
            redact_url("postgres://u:pw@h:5432/d"),
            "postgres://u:REDACTED@h:5432/d"
        );
        assert_eq!(redact_url("not a url"), "[unparseable URL]");
        let q = redact_url("postgres://u@h/d?sslmode=disable&password=pw%21x&PassWord=y");
        assert!(!q.contains("pw") && !q.contains("=y"), "{q}");
        assert!(
            q.contains("sslmode=disable") && q.contains("password=REDACTED"),
            "{q}"
        );
        assert!(url_has_password("postgres://u@h/d?password=x"));
        assert!(url_has_password("postgres://u:p@h/d"));
        assert!(!url_has_password("postgres://u@h/d?sslmode=disable"));
    }

    #[test]
    fn tls_is_left_out_only_on_this_machine_and_only_when_nobody_asked() {
        assert!(tls_is_pointless("postgres://u@127.0.0.1:5432/d", false));
        assert!(tls_is_pointless("postgres://u@localhost/d", false));
        assert!(tls_is_pointless("postgres://u@[::1]/d", false));
        assert!(tls_is_pointless(
            "postgres://u@localhost/d?host=/var/run/postgresql",
            false
        ));
        assert!(!tls_is_pointless("postgres://u@db.example.com/d", false));
        assert!(!tls_is_pointless("postgres://u@10.0.0.5/d", false));
        assert!(!tls_is_pointless(
            "postgres://u@127.0.0.1/d?sslmode=require",
            false
        ));
        assert!(!tls_is_pointless("postgres://u@127.0.0.1/d", true));
        assert!(!tls_is_pointless(
            "postgres://u@localhost/d?host=db.internal",
            false
        ));
    }
}
