//! `suppress add|remove|list|import`: the opt-out list, stored canonically.

use std::path::{Path, PathBuf};

use clap::{Subcommand, ValueEnum};

use super::{ConfigError, Exit, Settings};
use crate::campaign::csv::CsvSource;
use crate::campaign::phone::PhoneNumber;
use crate::queue::suppress;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Csv,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum SuppressCommand {
    /// Add a number (international form, e.g. +8801988123456).
    Add {
        phone: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Remove a number.
    Remove { phone: String },
    /// List suppressed numbers.
    List {
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Add every number of a CSV (a `phone` column, or `mobile_code` + `mobile`).
    Import {
        file: PathBuf,
        #[arg(long, default_value = "")]
        reason: String,
    },
}

pub async fn exec(settings: &Settings, cmd: SuppressCommand) -> anyhow::Result<Exit> {
    match cmd {
        SuppressCommand::Add { phone, reason } => {
            let number = parse(&phone)?;
            let pool = settings.pool().await?;
            if suppress::add(&pool, &number, &phone, &reason, "cli").await? {
                println!("{number} added to the opt-out list");
            } else {
                println!("{number} was already on the opt-out list");
            }
        }
        SuppressCommand::Remove { phone } => {
            let number = parse(&phone)?;
            let pool = settings.pool().await?;
            if suppress::remove(&pool, &number).await? {
                println!("{number} removed from the opt-out list");
            } else {
                println!("{number} was not on the opt-out list");
            }
        }
        SuppressCommand::List { format } => {
            let pool = settings.pool().await?;
            print_list(&suppress::list(&pool).await?, format)?;
        }
        SuppressCommand::Import { file, reason } => return import(settings, &file, &reason).await,
    }
    Ok(Exit::Ok)
}

fn parse(phone: &str) -> Result<PhoneNumber, ConfigError> {
    PhoneNumber::parse_international(phone).map_err(|e| {
        ConfigError(format!(
            "{phone:?} is not a phone number in international form: {e}"
        ))
    })
}

async fn import(settings: &Settings, file: &Path, reason: &str) -> anyhow::Result<Exit> {
    if !file.is_file() {
        return Err(ConfigError(format!("{}: no such file", file.display())).into());
    }
    let path = file.to_path_buf();
    let read = tokio::task::spawn_blocking(move || read_numbers(&path)).await?;
    let (numbers, invalid) = read.map_err(|p| anyhow::anyhow!("{}: {p}", file.display()))?;
    let pool = settings.pool().await?;
    let source = format!(
        "import {}",
        file.file_name().unwrap_or_default().to_string_lossy()
    );
    let added = suppress::add_many(&pool, &numbers, reason, &source).await?;
    println!(
        "{added} added, {} already on the list, {} invalid",
        numbers.len() as u64 - added,
        invalid.len()
    );
    for line in invalid.iter().take(50) {
        println!("  {line}");
    }
    if invalid.len() > 50 {
        println!("  … and {} more", invalid.len() - 50);
    }
    Ok(Exit::Ok)
}

type Numbers = (Vec<(PhoneNumber, String)>, Vec<String>);

/// Valid numbers (with the raw text) and one line per invalid row.
fn read_numbers(path: &std::path::Path) -> Result<Numbers, crate::campaign::Problem> {
    let mut src = CsvSource::open(path)?;
    let find = |name: &str| {
        src.headers()
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let cols = match (find("phone"), find("mobile_code").zip(find("mobile"))) {
        (Some(p), _) => (Some(p), None),
        (None, Some(parts)) => (None, Some(parts)),
        (None, None) => {
            return Err(crate::campaign::Problem::file(
                "no phone column: need `phone`, or `mobile_code` and `mobile`",
            ));
        }
    };
    let (mut ok, mut bad) = (Vec::new(), Vec::new());
    while let Some(row) = src.next_row() {
        let row = row?;
        let get = |i: usize| row.fields.get(i).map(String::as_str).unwrap_or("");
        let (raw, parsed) = match cols {
            (Some(p), _) => (get(p).to_string(), PhoneNumber::parse_international(get(p))),
            (_, Some((c, m))) => (
                format!("{} {}", get(c), get(m)),
                PhoneNumber::parse_parts(get(c), get(m)),
            ),
            (None, None) => continue,
        };
        match parsed {
            Ok(n) => ok.push((n, raw)),
            Err(e) => bad.push(format!("line {}: {raw:?}: {e}", row.line_number)),
        }
    }
    Ok((ok, bad))
}

fn print_list(list: &[suppress::Suppression], format: ListFormat) -> anyhow::Result<()> {
    match format {
        ListFormat::Json => println!("{}", serde_json::to_string_pretty(list)?),
        ListFormat::Csv => {
            let mut w = csv::Writer::from_writer(std::io::stdout());
            w.write_record([
                "phone",
                "mobile_code",
                "mobile",
                "reason",
                "source",
                "created_at",
            ])?;
            for s in list {
                let phone = format!("+{}{}", s.mobile_code, s.mobile);
                let at = s.created_at.to_rfc3339();
                w.write_record([&phone, &s.mobile_code, &s.mobile, &s.reason, &s.source, &at])?;
            }
            w.flush()?;
        }
        ListFormat::Table => {
            let mut t = crate::report::table::new();
            t.set_header(["phone", "reason", "source", "added"]);
            for s in list {
                t.add_row([
                    format!("+{}{}", s.mobile_code, s.mobile),
                    s.reason.clone(),
                    s.source.clone(),
                    crate::report::table::time(s.created_at),
                ]);
            }
            println!("{t}\n{} number(s)", list.len());
        }
    }
    Ok(())
}
