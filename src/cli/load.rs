//! `load FILE [--dry-run] [--settle SECS]`: ingest one campaign file now.
//! Exit 0 when loaded, 1 when rejected (problems printed), 2 when the file is missing.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;

use super::{ConfigError, Exit, Settings};
use crate::ingest::dry_run::Sample;
use crate::ingest::{self, CampaignsDir, IngestOptions, LoadOutcome, ProblemList, StateCounts};
use crate::wutt;

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// The campaign CSV (a NAME.toml beside it is its manifest).
    pub file: PathBuf,
    /// Validate and print what would be sent; write nothing, move nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Wait until the file has not changed for this many seconds.
    #[arg(long, default_value_t = 5.0)]
    pub settle: f64,
}

pub async fn exec(settings: &Settings, args: LoadArgs) -> anyhow::Result<Exit> {
    if !args.file.is_file() {
        return Err(ConfigError(format!("{}: no such file", args.file.display())).into());
    }
    if !(args.settle.is_finite() && args.settle >= 0.0) {
        return Err(ConfigError("--settle must be a number of seconds ≥ 0".into()).into());
    }
    let settle = Duration::from_secs_f64(args.settle);
    wait_settled(&args.file, settle).await?;
    let client = client(settings);
    if args.dry_run {
        return dry_run(settings, &args, client.as_ref()).await;
    }
    let pool = settings.pool().await?;
    let dir = CampaignsDir::new(&settings.campaigns_dir);
    let opts = IngestOptions { settle };
    let outcome = ingest::load_file(&pool, &dir, &args.file, &opts, client.as_ref()).await?;
    Ok(match outcome {
        LoadOutcome::Loaded(l) => {
            println!("campaign {} {:?} loaded", l.campaign_id, l.name);
            print_counts(&l.counts);
            for w in &l.warnings {
                println!("warning: {w}");
            }
            Exit::Ok
        }
        LoadOutcome::Rejected {
            problems,
            invalid_rows,
            moved_to,
        } => {
            println!("rejected, nothing was loaded:");
            print_problems(&problems, &invalid_rows);
            if let Some(m) = moved_to {
                println!("moved to {}", m.display());
            }
            Exit::Runtime
        }
        LoadOutcome::Duplicate {
            campaign_id, name, ..
        } => {
            println!("same content as campaign {campaign_id} {name:?}; not loaded again");
            Exit::Runtime
        }
        LoadOutcome::TakenByOther { campaign_id } => {
            println!("loaded by another runner as campaign {campaign_id}");
            Exit::Ok
        }
        LoadOutcome::Gone => {
            println!("the file disappeared before it could be loaded");
            Exit::Runtime
        }
    })
}

async fn dry_run(
    settings: &Settings,
    args: &LoadArgs,
    client: Option<&wutt::Client>,
) -> anyhow::Result<Exit> {
    let pool = match settings.database_url() {
        Ok(_) => Some(settings.pool().await?),
        Err(_) => None,
    };
    let r = ingest::dry_run(&args.file, pool.as_ref(), client).await?;
    println!("dry run of {:?}: nothing written, nothing moved", r.name);
    print_counts(&r.counts);
    for s in &r.samples {
        println!("  row {} → {}: {}", s.row_number, s.to, sample_text(s));
    }
    for w in &r.warnings {
        println!("warning: {w}");
    }
    if let Some((id, name)) = &r.already_loaded {
        println!("already loaded as campaign {id} {name:?}: it would not be loaded again");
    }
    print_problems(&r.problems, &r.invalid_rows);
    Ok(if r.would_load() {
        Exit::Ok
    } else {
        Exit::Runtime
    })
}

/// What one sample row sends: the text or template, its variables, the contact.
fn sample_text(s: &Sample) -> String {
    let mut what = match (&s.message, s.template_id) {
        (Some(m), _) => format!("{m:?}"),
        (None, Some(t)) => format!("template {t}"),
        (None, None) => "(nothing)".into(),
    };
    for (part, values) in [("body", &s.body_variables), ("header", &s.header_variables)] {
        if let Some(values) = values {
            what.push_str(&format!(" · {part} variables {values:?}"));
        }
    }
    if let (Some(first), Some(last)) = (&s.firstname, &s.lastname) {
        what.push_str(&format!(" · contact {first:?} {last:?}"));
    }
    what
}

fn client(settings: &Settings) -> Option<wutt::Client> {
    match settings.client() {
        Ok(c) => Some(c),
        Err(e) => {
            tracing::warn!("no Wutt client ({e:#}); templates are not checked at load");
            None
        }
    }
}

/// Waits until the file has not changed for `settle` (gives up after 10 minutes).
async fn wait_settled(file: &std::path::Path, settle: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + settle + Duration::from_secs(600);
    while !ingest::folder::is_settled(file, settle) {
        if Instant::now() > deadline {
            anyhow::bail!("{} keeps changing; try again later", file.display());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Ok(())
}

fn print_counts(c: &StateCounts) {
    println!("  recipients  {:>9}", c.total());
    println!("  queued      {:>9}", c.queued);
    println!("  invalid     {:>9}", c.invalid);
    println!("  duplicate   {:>9}", c.duplicate);
    println!("  suppressed  {:>9}", c.suppressed);
}

fn print_problems(problems: &ProblemList, invalid_rows: &ProblemList) {
    if !problems.is_empty() {
        println!(
            "{} problem(s) stop this file from loading:",
            problems.total()
        );
        print!("{}", problems.render());
    }
    if !invalid_rows.is_empty() {
        println!("{} row(s) load as invalid:", invalid_rows.total());
        print!("{}", invalid_rows.render());
    }
}
