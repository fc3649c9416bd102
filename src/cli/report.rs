//! `report [CAMPAIGN] [--format table|csv|json|jsonl] [--recipients] [--state S]
//! [--delimiter C] [--output FILE]`: the campaign summary, or every recipient
//! row streamed with `--recipients`. Needs only `DATABASE_URL`.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use super::{ConfigError, Exit, Settings};
use crate::report::{self, CsvStyle, Format, RecipientFilter};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// A table (summary only).
    Table,
    /// CSV for Excel: UTF-8 with BOM, formula-like cells prefixed with `'`.
    Csv,
    /// One JSON document.
    Json,
    /// One JSON object per line.
    Jsonl,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Campaign id or name (all campaigns when omitted).
    pub campaign: Option<String>,

    /// Output format [default: table for the summary, csv for --recipients].
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,

    /// Every recipient row (streamed) instead of the summary.
    #[arg(long)]
    pub recipients: bool,

    /// Only recipients in this state.
    #[arg(long, requires = "recipients", value_parser = clap::builder::PossibleValuesParser::new(report::STATES))]
    pub state: Option<String>,

    /// CSV delimiter: ';' for Excel where the decimal separator is a comma
    /// (most of Europe, Latin America), else it shows each line in one cell;
    /// also tab [default: ,].
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,

    /// Write to this file instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

pub async fn exec(settings: &Settings, args: ReportArgs) -> anyhow::Result<Exit> {
    let format = match (args.format, args.recipients) {
        (None, false) | (Some(FormatArg::Table), false) => Format::Table,
        (None, true) | (Some(FormatArg::Csv), _) => Format::Csv,
        (Some(FormatArg::Json), _) => Format::Json,
        (Some(FormatArg::Jsonl), _) => Format::JsonLines,
        (Some(FormatArg::Table), true) => {
            return Err(ConfigError(
                "--recipients writes csv, json or jsonl (a campaign can have millions of rows)"
                    .into(),
            )
            .into());
        }
    };
    let csv = match (&args.delimiter, format) {
        (None, _) => CsvStyle::default(),
        (Some(d), Format::Csv) => CsvStyle::with_delimiter(d).map_err(ConfigError)?,
        (Some(_), _) => {
            return Err(ConfigError("--delimiter applies to CSV (--format csv)".into()).into());
        }
    };
    let pool = settings.pool().await?;
    let campaign = match &args.campaign {
        Some(key) => Some(
            report::find_campaign(&pool, key)
                .await
                .context("looking up the campaign")?
                .ok_or_else(|| {
                    ConfigError(format!(
                        "no campaign with id or name {key:?} (see `wutt-campaign campaign list`)"
                    ))
                })?,
        ),
        None => None,
    };
    let out = open_output(args.output.as_ref())?;
    let result = if args.recipients {
        let filter = RecipientFilter {
            campaign_id: campaign.map(|c| c.id),
            state: args.state,
        };
        report::write_recipients_with(&pool, &filter, format, csv, out)
            .await
            .map(|_| ())
    } else {
        let rows = report::summaries(&pool, campaign.map(|c| c.id))
            .await
            .context("reading the campaign summary")?;
        report::render::write_summary_with(&rows, format, csv, out)
    };
    match result {
        Ok(()) => Ok(Exit::Ok),
        // `report | head`: the reader has seen enough.
        Err(err) if is_broken_pipe(&err) => Ok(Exit::Ok),
        Err(err) => Err(err),
    }
}

fn open_output(path: Option<&PathBuf>) -> anyhow::Result<Box<dyn Write>> {
    Ok(match path {
        Some(path) => {
            Box::new(BufWriter::new(File::create(path).map_err(|e| {
                ConfigError(format!("cannot write {}: {e}", path.display()))
            })?))
        }
        None => Box::new(BufWriter::new(io::stdout().lock())),
    })
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
            || e.downcast_ref::<csv::Error>().is_some_and(
                |e| matches!(e.kind(), csv::ErrorKind::Io(io) if io.kind() == io::ErrorKind::BrokenPipe),
            )
    })
}
