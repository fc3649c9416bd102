//! The campaign summary for people (a table), spreadsheets (Excel-safe CSV
//! with a BOM) and programs (JSON).

use std::io::Write;

use chrono::{DateTime, SecondsFormat, Utc};
use comfy_table::{CellAlignment, Table, presets::UTF8_FULL_CONDENSED};

use super::excel::{UTF8_BOM, neutralise};
use super::{CampaignSummary, Format, STATES};

/// Writes the summaries in `format` (`JsonLines` writes one object per line).
pub fn write_summary<W: Write>(
    summaries: &[CampaignSummary],
    format: Format,
    mut out: W,
) -> anyhow::Result<()> {
    match format {
        Format::Table => writeln!(out, "{}", table(summaries))?,
        Format::Csv => write_csv(summaries, &mut out)?,
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
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED);
    let mut header = vec!["id", "campaign", "status", "total"];
    header.extend(shown.iter().map(|&i| STATES[i]));
    header.extend(["started", "finished"]);
    table.set_header(header);
    for s in summaries {
        let counts = s.counts();
        let mut row = vec![
            s.campaign_id.to_string(),
            match &s.pause_reason {
                Some(reason) if s.status == "paused" => {
                    format!("{}\n(paused: {reason})", s.campaign_name)
                }
                _ => s.campaign_name.clone(),
            },
            s.status.clone(),
            s.total.to_string(),
        ];
        row.extend(shown.iter().map(|&i| counts[i].to_string()));
        row.push(short_time(s.started_at));
        row.push(short_time(s.finished_at));
        table.add_row(row);
    }
    let numeric = 3..4 + shown.len();
    for i in numeric {
        if let Some(column) = table.column_mut(i) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    table
}

fn short_time(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

fn write_csv<W: Write>(summaries: &[CampaignSummary], out: &mut W) -> anyhow::Result<()> {
    out.write_all(UTF8_BOM)?;
    let mut w = csv::Writer::from_writer(out);
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
            s.status.clone(),
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
