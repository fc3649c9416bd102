//! `reconcile CAMPAIGN [--dry-run] [--json]`: settles a campaign's `unknown`
//! recipients by reading the server back (the conversation list), and prints
//! per recipient what was decided and why — with `--dry-run`, what would be,
//! changing nothing. Its API calls share the account's rate with the runners.

use clap::Args;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::{ConfigError, Exit, Settings};
use crate::delivery::reconcile::{Changes, ReadBack, ReadBackConfig, Report, Scope, Verdict};
use crate::delivery::throttle::{Throttle, default_burst};
use crate::delivery::{ThrottleConfig, worker_id};
use crate::queue::control;

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// Campaign id or name.
    pub campaign: String,
    /// Read and decide, print, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// One JSON object per recipient instead of the table (for scripts).
    #[arg(long)]
    pub json: bool,
}

pub async fn exec(settings: &Settings, args: ReconcileArgs) -> anyhow::Result<Exit> {
    let client_config = settings.client_config()?;
    let rate = if settings.rate.is_finite() && settings.rate > 0.0 {
        settings.rate
    } else {
        return Err(ConfigError("WUTT_RATE must be a positive number".into()).into());
    };
    let pool = settings.pool().await?;
    let campaign = control::find(&pool, &args.campaign)
        .await?
        .ok_or_else(|| ConfigError(format!("no campaign with id or name {:?}", args.campaign)))?;
    let throttle = Throttle::new(
        pool.clone(),
        ThrottleConfig {
            account_key: format!("account:{}", client_config.client_id),
            rate,
            burst: default_burst(rate),
            per_number_rate: None,
        },
    );
    let client = crate::wutt::Client::new(client_config)?;
    let read_back = ReadBack::new(pool, client, ReadBackConfig::for_rate(rate, &worker_id()))
        .with_throttle(throttle);
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            stop.cancel();
        }
    });
    let changes = if args.dry_run {
        Changes::DryRun
    } else {
        Changes::Apply
    };
    let report = read_back
        .run_once(Scope::Campaign(campaign.id), changes, &cancel)
        .await?;
    if args.json {
        for s in &report.settled {
            let c = &s.candidate;
            let line = json!({
                "campaign_id": c.campaign_id,
                "row_number": c.row_number,
                "mobile_code": c.mobile_code,
                "mobile": c.mobile,
                "attempt": c.attempt,
                "verdict": s.decision.verdict.as_str(),
                "rule": s.decision.rule.as_str(),
                "final": s.decision.final_,
                "state": s.action,
                "dry_run": args.dry_run,
                "detail": s.decision.detail,
                "seen": s.decision.seen,
            });
            println!("{line}");
        }
    } else {
        print_table(&campaign, &report, args.dry_run);
    }
    match report.stopped {
        Some(why) => {
            eprintln!("stopped before the end: {why}");
            Ok(Exit::Runtime)
        }
        None => Ok(Exit::Ok),
    }
}

fn print_table(c: &control::Campaign, report: &Report, dry_run: bool) {
    let n = report.settled.len();
    println!(
        "campaign {} ({}): {n} unknown recipient{} read back{}",
        c.id,
        c.name,
        if n == 1 { "" } else { "s" },
        if dry_run {
            " — dry run, nothing changed"
        } else {
            ""
        }
    );
    if n == 0 {
        return;
    }
    let mut table = crate::report::table::new();
    table.set_header(vec![
        "row",
        "phone",
        "attempt",
        "verdict",
        if dry_run { "would become" } else { "became" },
        "rule",
        "why",
    ]);
    for s in &report.settled {
        let c = &s.candidate;
        table.add_row(vec![
            c.row_number.to_string(),
            format!("+{}{}", c.mobile_code, c.mobile),
            c.attempt.to_string(),
            s.decision.verdict.as_str().to_owned(),
            s.action.clone(),
            s.decision.rule.as_str().to_owned(),
            s.decision.detail.clone(),
        ]);
    }
    println!("{table}");
    let queued = report
        .settled
        .iter()
        .filter(|s| s.action == "queued")
        .count();
    println!(
        "sent (confirmed by the server): {}; not sent: {} ({queued} to be sent again); still unknown: {}",
        report.count(Verdict::Sent),
        report.count(Verdict::NotSent),
        report.count(Verdict::Unknown),
    );
    if dry_run {
        println!("Run it again without --dry-run to do this.");
    }
}
