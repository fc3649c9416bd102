//! The campaign summary for people (a table, times in the local timezone with
//! their offset), spreadsheets (Excel-safe CSV with a BOM, times in UTC as
//! RFC 3339) and programs (JSON).

use crate::campaign::status::CampaignStatus;
use std::io::Write;

use chrono::{DateTime, SecondsFormat, Utc};
use comfy_table::Table;

use super::excel::{UTF8_BOM, neutralise};
use super::{CampaignSummary, CsvStyle, Format, STATES, table as style};

/// Writes the summaries in `format` (`JsonLines` writes one object per line).
pub fn write_summary<W: Write>(
    summaries: &[CampaignSummary],
    format: Format,
    out: W,
) -> anyhow::Result<()> {
    write_summary_with(summaries, format, CsvStyle::default(), out)
}

/// [`write_summary`] with CSV written in `csv` (its delimiter).
pub fn write_summary_with<W: Write>(
    summaries: &[CampaignSummary],
    format: Format,
    csv: CsvStyle,
    mut out: W,
) -> anyhow::Result<()> {
    match format {
        Format::Table => writeln!(out, "{}", table(summaries))?,
        Format::Csv => write_csv(summaries, csv, &mut out)?,
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, summaries)?;
            writeln!(out)?;
        }
        Format::JsonLines => {
            for s in summaries {
                serde_json::to_writer(&mut out, s)?;
                writeln!(out)?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// A table with the states that occur in any row (sent and failed always),
/// so every row visibly adds up to its total.
pub fn table(summaries: &[CampaignSummary]) -> Table {
    let shown: Vec<usize> = (0..STATES.len())
        .filter(|&i| {
            matches!(STATES[i], "sent" | "failed") || summaries.iter().any(|s| s.counts()[i] != 0)
        })
        .collect();
    let mut table = style::new();
    let mut header = vec!["id", "campaign", "status", "total"];
    header.extend(shown.iter().map(|&i| STATES[i]));
    header.extend(["started", "finished"]);
    table.set_header(header);
    for s in summaries {
        let counts = s.counts();
        let mut row = vec![
            s.campaign_id.to_string(),
            match &s.pause_reason {
                Some(reason) if s.status == CampaignStatus::Paused => {
                    format!("{}\n(paused: {reason})", s.campaign_name)
                }
                _ => s.campaign_name.clone(),
            },
            s.status.to_string(),
            s.total.to_string(),
        ];
        row.extend(shown.iter().map(|&i| counts[i].to_string()));
        row.push(style::maybe_time(s.started_at));
        row.push(style::maybe_time(s.finished_at));
        table.add_row(row);
    }
    style::align_right(&mut table, 3..4 + shown.len());
    table
}

fn write_csv<W: Write>(
    summaries: &[CampaignSummary],
    style: CsvStyle,
    out: &mut W,
) -> anyhow::Result<()> {
    out.write_all(UTF8_BOM)?;
    let mut w = style.writer(out);
    let mut header = vec!["campaign_id", "campaign_name", "status", "total"];
    header.extend(STATES);
    header.extend(["started_at", "finished_at", "pause_reason"]);
    w.write_record(&header)?;
    let time = |t: Option<DateTime<Utc>>| {
        t.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
            .unwrap_or_default()
    };
    for s in summaries {
        let mut cells = vec![
            s.campaign_id.to_string(),
            s.campaign_name.clone(),
            s.status.to_string(),
            s.total.to_string(),
        ];
        cells.extend(s.counts().iter().map(i64::to_string));
        cells.push(time(s.started_at));
        cells.push(time(s.finished_at));
        cells.push(s.pause_reason.clone().unwrap_or_default());
        w.write_record(cells.iter().map(|c| neutralise(c).into_owned()))?;
    }
    w.flush()?;
    Ok(())
}
