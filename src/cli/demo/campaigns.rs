//! The campaign half of the demo: the example campaigns of
//! `campaigns/examples/` (compiled into the binary, so the demo works from any
//! directory) are dropped into a temporary inbox, loaded into a database, sent
//! through the simulator by the real delivery engine, and reported. On a
//! terminal the web console is then served over that data until Ctrl-C.
//!
//! The database is a throwaway PostgreSQL cluster when `DATABASE_URL` is
//! unset; when it is set, a new database named `wutt_demo_<time>` is created
//! on that server, and dropped at the end unless `--keep` is given. Nothing is ever sent to
//! the live API: the client is the demo's own, pointed at the simulator.

use std::io::Write;
use std::time::Duration;

use anyhow::Context as _;
use comfy_table::Table;
use sqlx::PgPool;

use super::DemoEnv;
use crate::campaign::phone::PhoneNumber;
use crate::cli::Settings;
use crate::db::{self, ephemeral::Cluster};
use crate::delivery::{self, BreakerConfig, DeliveryConfig, Mode, RetryPolicy, ThrottleConfig};
use crate::ingest::{self, CampaignsDir, IngestOptions};
use crate::queue::suppress;
use crate::report::{self, Format};

/// The example campaigns, as shipped in `campaigns/examples/`.
const EXAMPLES: &[(&str, &[u8])] = &[
    (
        "welcome-template.csv",
        include_bytes!("../../../campaigns/examples/welcome-template.csv"),
    ),
    (
        "welcome-template.toml",
        include_bytes!("../../../campaigns/examples/welcome-template.toml"),
    ),
    (
        "spring-offer.csv",
        include_bytes!("../../../campaigns/examples/spring-offer.csv"),
    ),
    (
        "spring-offer.toml",
        include_bytes!("../../../campaigns/examples/spring-offer.toml"),
    ),
    (
        "spring-offer.png",
        include_bytes!("../../../campaigns/examples/spring-offer.png"),
    ),
    (
        "excel-export.csv",
        include_bytes!("../../../campaigns/examples/excel-export.csv"),
    ),
    (
        "excel-export.toml",
        include_bytes!("../../../campaigns/examples/excel-export.toml"),
    ),
];

/// A customer of the welcome campaign who opts out after it was loaded: the
/// runner must not message them (checked again just before each send).
const OPTS_OUT: &str = "+8801912345678";

/// Where the demo's data lives.
enum Database {
    /// Kept alive until the demo ends, then stopped and deleted.
    Throwaway { _cluster: Cluster },
    /// A database of its own on the configured server.
    Created { admin_url: String, name: String },
}

/// Drops, loads, sends and reports the example campaigns.
pub async fn run(
    env: &DemoEnv,
    settings: &Settings,
    keep: bool,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    heading(out, "Campaigns: the example files dropped into an inbox")?;
    let (database, url) = open_database(settings).await?;
    let pool = db::connect_and_migrate(&url, 8).await?;
    let result = campaigns(env, &pool, out).await;
    pool.close().await;
    match &database {
        Database::Throwaway { .. } => writeln!(
            out,
            "\nThe throwaway database is discarded now. Set DATABASE_URL to keep a demo database."
        )?,
        Database::Created { name, .. } if keep => writeln!(
            out,
            "\nThe demo data stays in database {name:?}; try: psql -d {name} -c 'SELECT * FROM campaign_summary'"
        )?,
        Database::Created { admin_url, name } => {
            db::drop_database(admin_url, name).await?;
            writeln!(out, "\nThe demo database is dropped now (--keep keeps it).")?;
        }
    }
    drop(database);
    result
}

async fn campaigns(env: &DemoEnv, pool: &PgPool, out: &mut impl Write) -> anyhow::Result<()> {
    let folder = tempfile::Builder::new()
        .prefix("wutt-demo-campaigns-")
        .tempdir()
        .context("creating the demo's drop folder")?;
    let dir = CampaignsDir::new(folder.path());
    dir.ensure()?;
    for (name, bytes) in EXAMPLES {
        std::fs::write(dir.inbox().join(name), bytes)
            .with_context(|| format!("writing {name} into the demo inbox"))?;
    }
    writeln!(out, "inbox: {}", dir.inbox().display())?;

    let opts = IngestOptions {
        settle: Duration::ZERO,
    };
    let ingested = ingest::ingest_inbox(pool, &dir, &opts, Some(&env.client)).await?;
    let mut table = Table::new();
    table.set_header(vec![
        "campaign",
        "id",
        "queued",
        "invalid",
        "duplicate",
        "suppressed",
    ]);
    for l in &ingested.loaded {
        table.add_row(vec![
            l.name.clone(),
            l.campaign_id.to_string(),
            l.counts.queued.to_string(),
            l.counts.invalid.to_string(),
            l.counts.duplicate.to_string(),
            l.counts.suppressed.to_string(),
        ]);
    }
    writeln!(out, "{table}")?;
    for (name, problems) in &ingested.rejected {
        writeln!(out, "rejected {name}: {problems} problem(s), see rejected/")?;
    }
    anyhow::ensure!(
        ingested.errors.is_empty(),
        "the example campaigns could not be loaded: {:?}",
        ingested.errors
    );

    let opted_out = PhoneNumber::parse_international(OPTS_OUT)?;
    suppress::add(pool, &opted_out, OPTS_OUT, "replied STOP", "demo").await?;
    writeln!(
        out,
        "{OPTS_OUT} replied STOP after loading: on the opt-out list now, so it is skipped at send time"
    )?;

    heading(out, "Sending (run --once) through the simulator")?;
    let config = delivery_config(env);
    let summary = delivery::run(
        pool.clone(),
        env.client.clone(),
        config,
        Mode::Once,
        delivery::Shutdown::new(),
        false,
    )
    .await?;
    writeln!(
        out,
        "sent {}, failed {}, unknown {}, paused campaigns {}",
        summary.sent,
        summary.failed,
        summary.unknown,
        summary.paused.len()
    )?;
    let accepted = env.sim.messages();
    let mut numbers: Vec<(String, String)> = accepted
        .iter()
        .map(|m| (m.mobile_code.clone(), m.mobile.clone()))
        .collect();
    numbers.sort();
    numbers.dedup();
    writeln!(
        out,
        "the simulator accepted {} messages for {} distinct numbers (the walkthrough's three included)",
        accepted.len(),
        numbers.len()
    )?;

    heading(out, "Report: wutt-campaign report")?;
    let summaries = report::summaries(pool, None).await?;
    report::render::write_summary(&summaries, Format::Table, &mut *out)?;
    heading(out, "What did not get through: the campaign_errors view")?;
    let mut errors = Table::new();
    errors.set_header(vec![
        "campaign",
        "outcome",
        "remark",
        "message",
        "recipients",
        "example",
    ]);
    for e in report::errors::error_groups(pool, None).await? {
        errors.add_row(vec![
            e.campaign_name,
            e.outcome.unwrap_or_default(),
            e.remark.unwrap_or_default(),
            e.message.unwrap_or_default(),
            e.recipients.to_string(),
            e.example_mobile.unwrap_or_default(),
        ]);
    }
    writeln!(out, "{errors}")?;
    out.flush()?;
    console(env, pool, folder.path(), out).await
}

/// The console over the demo's data: kept open until Ctrl-C on a terminal;
/// otherwise (cron, CI, a pipe) the demo says how to open it and ends.
async fn console(
    env: &DemoEnv,
    pool: &PgPool,
    campaigns_dir: &std::path::Path,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    use std::io::IsTerminal as _;
    heading(out, "The console: these campaigns on a page")?;
    if !(std::io::stdin().is_terminal() && std::io::stdout().is_terminal()) {
        writeln!(
            out,
            "Run the demo on a terminal to keep the console open over its data, or serve it over\n\
             your own database with: wutt-campaign console --addr 127.0.0.1:8080"
        )?;
        return Ok(());
    }
    let stop = tokio_util::sync::CancellationToken::new();
    let server = crate::console::serve(
        crate::console::ConsoleConfig {
            addr: "127.0.0.1:0".parse()?,
            token: None,
            campaigns_dir: campaigns_dir.to_path_buf(),
            settle: Duration::from_secs(5),
            account_rate: 50.0,
            sending: false,
        },
        pool.clone(),
        Some(env.client.clone()),
        stop.clone().cancelled_owned(),
    )
    .await?;
    writeln!(
        out,
        "Open {} in a browser (it logs you in). Ctrl-C ends the demo.",
        server.login_url.expose()
    )?;
    out.flush()?;
    let _ = tokio::signal::ctrl_c().await;
    stop.cancel();
    let _ = server.task.await;
    Ok(())
}

/// Fast enough for a demo, with short retry delays so retries finish in the run.
fn delivery_config(env: &DemoEnv) -> DeliveryConfig {
    let rate = 50.0;
    DeliveryConfig {
        worker_id: delivery::worker_id(),
        batch_size: 20,
        lease: Duration::from_secs(30),
        concurrency: 8,
        request_timeout: env.client.config().timeout,
        retry: RetryPolicy {
            pair_wait: Duration::from_secs(2),
            base: Duration::from_millis(200),
            max: Duration::from_secs(2),
        },
        breaker: BreakerConfig::default(),
        throttle: ThrottleConfig {
            account_key: format!("account:{}", env.client.config().client_id),
            rate,
            burst: delivery::throttle::default_burst(rate),
            per_number_rate: None,
        },
        daily_unique_limit: None,
        once_horizon: Duration::from_secs(10),
        poll_interval: Duration::from_secs(1),
    }
}

/// A throwaway cluster, or a new database on the configured server.
async fn open_database(settings: &Settings) -> anyhow::Result<(Database, String)> {
    match settings.database_url.as_deref().filter(|u| !u.is_empty()) {
        None => {
            let cluster = tokio::task::spawn_blocking(Cluster::start)
                .await
                .context("starting a throwaway PostgreSQL")??;
            let url = cluster.url("postgres");
            Ok((Database::Throwaway { _cluster: cluster }, url))
        }
        Some(admin) => {
            let name = format!("wutt_demo_{}", chrono::Utc::now().format("%Y%m%d_%H%M%S"));
            db::create_database(admin, &name).await?;
            let url = db::testing::database_url(admin, &name);
            Ok((
                Database::Created {
                    admin_url: admin.to_string(),
                    name,
                },
                url,
            ))
        }
    }
}

fn heading(out: &mut impl Write, title: &str) -> std::io::Result<()> {
    writeln!(out, "\n== {title}")
}
