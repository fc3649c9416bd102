//! `load FILE [--dry-run] [--settle SECS]`: ingest one campaign file now.
//! Exit 0 when loaded, 1 when rejected (problems printed), 2 when the file is missing.
//!
//! Rows are pointed at by their line in the file, never by their data row
//! number: the line is the row number a spreadsheet shows (the header is
//! line 1, as it is Excel's row 1), and every problem, `NAME.errors.txt` and
//! a duplicate's `error` use it too.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;

use super::{ConfigError, Exit, Settings};
use crate::ingest::dry_run::Sample;
use crate::ingest::{self, CampaignsDir, IngestOptions, LoadOutcome, ProblemList, StateCounts};
use crate::report::table;
use crate::wutt;

/// How many invalid and duplicate rows `load` shows (the report lists all).
const SHOWN: usize = 5;
/// How many duplicate rows a dry run shows.
const DUPLICATES_SHOWN: usize = 20;

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
        let why = if args.file.exists() {
            "not a regular file; only regular files are loaded"
        } else {
            "no such file"
        };
        return Err(ConfigError(format!("{}: {why}", args.file.display())).into());
    }
    if !(args.settle.is_finite() && args.settle >= 0.0) {
        return Err(ConfigError("--settle must be a number of seconds ≥ 0".into()).into());
    }
    let settle = Duration::from_secs_f64(args.settle);
    let dir = CampaignsDir::new(&settings.campaigns_dir);
    // A dry run, and a file in the inbox (a rejection would move it), wait
    // for the file to settle first. Any other file is read at once and the
    // commit waits for it to settle; a file still being written is loaded
    // again once it has settled.
    let early = !args.dry_run
        && !dir.in_inbox(&args.file)
        && !ingest::folder::is_settled(&args.file, settle);
    if !early {
        wait_settled(&args.file, settle).await?;
    }
    let client = client(settings);
    if args.dry_run {
        return dry_run(settings, &args, client.as_ref()).await;
    }
    let pool = settings.pool().await?;
    let opts = IngestOptions { settle };
    let load = || ingest::load_file(&pool, &dir, &args.file, &opts, client.as_ref());
    let outcome = match load().await {
        Ok(LoadOutcome::Rejected { .. }) | Err(ingest::LoadError::Changed(_)) if early => {
            wait_settled(&args.file, settle).await?;
            load().await?
        }
        other => other?,
    };
    Ok(match outcome {
        LoadOutcome::Loaded(l) => {
            println!("campaign {} {:?} loaded", l.campaign_id, l.name);
            print_counts(&l.counts);
            let list_all = |state: &str| {
                format!(
                    "  all of them: wutt-campaign report id:{} --recipients --state {state}",
                    l.campaign_id
                )
            };
            if !l.invalid_rows.is_empty() {
                println!(
                    "{}, not sent{}",
                    rows(l.counts.invalid, "invalid"),
                    first_of(l.counts.invalid)
                );
                print_first(&l.invalid_rows, SHOWN, false);
                println!("{}", list_all("invalid"));
            }
            if !l.duplicate_rows.is_empty() {
                println!(
                    "{}, not sent again{}",
                    rows(l.counts.duplicate, "duplicate"),
                    first_of(l.counts.duplicate)
                );
                print_first(&l.duplicate_rows, SHOWN, false);
                println!("{}", list_all("duplicate"));
            }
            // Warnings are diagnostics: on stderr, where a log line would be.
            for w in &l.warnings {
                eprintln!("warning: {w}");
            }
            if ingest::loader::mostly_invalid(&l.counts).is_some() {
                eprintln!(
                    "  the campaign is loaded: its {} queued row(s) are sent by the next run; \
                     to stop it: wutt-campaign campaign cancel id:{}",
                    l.counts.queued, l.campaign_id
                );
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
    let with = r
        .manifest_name
        .as_deref()
        .map(|m| format!(" with {m}"))
        .unwrap_or_default();
    if r.rows_read == 0 && !r.problems.is_empty() {
        // Stopped before the rows: no counts to show, only why.
        let only_manifest = r.problems.listed.iter().all(|p| p.manifest.is_some());
        match (&r.manifest_name, only_manifest) {
            (Some(m), true) => println!(
                "dry run of {}: {m} has {} problem(s), so the rows were not checked:",
                r.file_name,
                r.problems.total()
            ),
            _ => println!(
                "dry run of {}{with}: {} problem(s) stop this file from loading, so the rows \
                 were not checked:",
                r.file_name,
                r.problems.total()
            ),
        }
        print_first(&r.problems, usize::MAX, true);
        println!("nothing was written or moved; fix these and run the dry run again");
        return Ok(Exit::Runtime);
    }
    println!(
        "dry run of {}{with} (campaign {:?}): nothing written, nothing moved",
        r.file_name, r.name
    );
    print_counts(&r.counts);
    if !r.samples.is_empty() {
        println!("the first {} message(s):", r.samples.len());
    }
    for s in &r.samples {
        println!("  line {} → {}: {}", s.line_number, s.to, sample_text(s));
    }
    if !r.duplicate_rows.is_empty() {
        println!("{}, not sent again:", rows(r.counts.duplicate, "duplicate"));
        print_first(&r.duplicate_rows, DUPLICATES_SHOWN, true);
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
            // A template campaign says so in its warnings ("templates not verified").
            tracing::debug!("no Wutt client ({e:#}); templates are not checked at load");
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

/// The recipients per state, as a table like every other.
fn print_counts(c: &StateCounts) {
    let mut t = table::new();
    t.set_header(["state", "recipients"]);
    for (state, n) in [
        ("queued", c.queued),
        ("invalid", c.invalid),
        ("duplicate", c.duplicate),
        ("suppressed", c.suppressed),
        ("total", c.total()),
    ] {
        t.add_row([state.to_string(), n.to_string()]);
    }
    table::align_right(&mut t, [1]);
    println!("{t}");
}

/// `1 invalid row`, `3 invalid rows`.
fn rows(n: u64, state: &str) -> String {
    if n == 1 {
        format!("1 {state} row")
    } else {
        format!("{n} {state} rows")
    }
}

/// `; the first 5:` when there are more than [`SHOWN`], else `:`.
fn first_of(n: u64) -> String {
    if n > SHOWN as u64 {
        format!("; the first {SHOWN}:")
    } else {
        ":".into()
    }
}

/// The first `n` problems, indented, then (with `count_rest`) how many more
/// there are.
fn print_first(list: &ProblemList, n: usize, count_rest: bool) {
    for p in list.listed.iter().take(n) {
        println!("  {p}");
    }
    let more = list.total() - n.min(list.listed.len()) as u64;
    if more > 0 && count_rest {
        println!("  … and {more} more");
    }
}

fn print_problems(problems: &ProblemList, invalid_rows: &ProblemList) {
    if !problems.is_empty() {
        println!(
            "{} problem(s) stop this file from loading:",
            problems.total()
        );
        print_first(problems, usize::MAX, true);
    }
    if !invalid_rows.is_empty() {
        println!("{}, not sent:", rows(invalid_rows.total(), "invalid"));
        print_first(invalid_rows, usize::MAX, true);
    }
}
