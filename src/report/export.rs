//! Streams every recipient row of `recipient_results` to a writer, one row at
//! a time (a 1M-row campaign is never held in memory): CSV for spreadsheets,
//! a JSON array, or JSON lines. The columns are the view's, in its order:
//! the rendered template variables, what the last read-back of an `unknown`
//! row decided and why, then `duplicate_of` (the line of the earlier row a
//! `duplicate` repeats) last. CSV takes the delimiter of the
//! reader's Excel ([`CsvStyle`]).

use std::io::Write;

use anyhow::Context as _;
use chrono::{DateTime, SecondsFormat, Utc};
use futures::TryStreamExt as _;
use serde::Serialize;
use sqlx::PgPool;

use super::excel::{UTF8_BOM, neutralise};
use super::{CsvStyle, Format};

/// Which recipients to export.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecipientFilter {
    /// One campaign, or every campaign.
    pub campaign_id: Option<i64>,
    /// One state, or every state.
    pub state: Option<String>,
}

/// One row of the `recipient_results` view.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct RecipientRow {
    pub campaign_id: i64,
    pub campaign_name: String,
    pub row_number: i32,
    pub mobile_code: Option<String>,
    pub mobile: Option<String>,
    pub state: String,
    pub attempts: i32,
    pub http_status: Option<i32>,
    pub remark: Option<String>,
    pub messages: Option<Vec<String>>,
    pub data: Option<serde_json::Value>,
    pub error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub raw_phone: String,
    pub outcome: Option<String>,
    pub line_number: i32,
    /// The template's rendered body variables (`None`: the row sends none).
    pub body_variables: Option<Vec<String>>,
    /// The template's rendered header variables.
    pub header_variables: Option<Vec<String>>,
    /// The last read-back of an `unknown` row: `sent`, `not_sent` or
    /// `unknown`, the rule that decided, when, of which attempt, and why.
    pub read_back_verdict: Option<String>,
    pub read_back_rule: Option<String>,
    pub read_back_at: Option<DateTime<Utc>>,
    pub read_back_attempt: Option<i32>,
    pub read_back_detail: Option<String>,
    /// For a `duplicate`: the line of the earlier row with the same number.
    pub duplicate_of: Option<i32>,
}

/// CSV header: the view's columns, in its order.
pub const CSV_HEADER: [&str; 25] = [
    "campaign_id",
    "campaign_name",
    "row_number",
    "mobile_code",
    "mobile",
    "state",
    "attempts",
    "http_status",
    "remark",
    "messages",
    "data",
    "error",
    "sent_at",
    "updated_at",
    "raw_phone",
    "outcome",
    "line_number",
    "body_variables",
    "header_variables",
    "read_back_verdict",
    "read_back_rule",
    "read_back_at",
    "read_back_attempt",
    "read_back_detail",
    "duplicate_of",
];

const QUERY: &str = "SELECT campaign_id, campaign_name, row_number, mobile_code, mobile, state, \
     attempts, http_status, remark, messages, data, error, sent_at, updated_at, raw_phone, \
     outcome, line_number, body_variables, header_variables, read_back_verdict, read_back_rule, \
     read_back_at, read_back_attempt, read_back_detail, duplicate_of FROM recipient_results \
     WHERE ($1::bigint IS NULL OR campaign_id = $1) AND ($2::text IS NULL OR state = $2) \
     ORDER BY campaign_id, row_number";

/// Writes every matching recipient to `out` in `format` (CSV, JSON or JSON
/// lines; a table of millions of rows is not offered) and returns how many
/// rows were written.
pub async fn write_recipients<W: Write>(
    pool: &PgPool,
    filter: &RecipientFilter,
    format: Format,
    out: W,
) -> anyhow::Result<u64> {
    write_recipients_with(pool, filter, format, CsvStyle::default(), out).await
}

/// [`write_recipients`] with CSV written in `style` (its delimiter).
pub async fn write_recipients_with<W: Write>(
    pool: &PgPool,
    filter: &RecipientFilter,
    format: Format,
    style: CsvStyle,
    out: W,
) -> anyhow::Result<u64> {
    let mut rows = sqlx::query_as::<_, RecipientRow>(QUERY)
        .bind(filter.campaign_id)
        .bind(filter.state.as_deref())
        .fetch(pool);
    let mut sink = RowSink::new(format, style, out)?;
    let mut count = 0u64;
    while let Some(row) = rows.try_next().await.context("reading recipients")? {
        sink.write(&row)?;
        count += 1;
    }
    sink.finish()?;
    Ok(count)
}

/// Where rows go, by format.
enum RowSink<W: Write> {
    Csv(Box<csv::Writer<W>>),
    Json { out: W, first: bool },
    JsonLines(W),
}

impl<W: Write> RowSink<W> {
    fn new(format: Format, style: CsvStyle, mut out: W) -> anyhow::Result<Self> {
        Ok(match format {
            Format::Csv => {
                out.write_all(UTF8_BOM)?;
                let mut w = style.writer(out);
                w.write_record(CSV_HEADER)?;
                RowSink::Csv(Box::new(w))
            }
            Format::Json => {
                out.write_all(b"[")?;
                RowSink::Json { out, first: true }
            }
            Format::JsonLines => RowSink::JsonLines(out),
            Format::Table => anyhow::bail!(
                "per-recipient output is csv, json or jsonl (a campaign can have millions of rows)"
            ),
        })
    }

    fn write(&mut self, row: &RecipientRow) -> anyhow::Result<()> {
        match self {
            RowSink::Csv(w) => {
                for cell in csv_cells(row) {
                    w.write_field(neutralise(&cell).as_bytes())?;
                }
                w.write_record(None::<&[u8]>)?;
            }
            RowSink::Json { out, first } => {
                out.write_all(if *first { b"\n" } else { b",\n" })?;
                *first = false;
                serde_json::to_writer(&mut *out, row)?;
            }
            RowSink::JsonLines(out) => {
                serde_json::to_writer(&mut *out, row)?;
                out.write_all(b"\n")?;
            }
        }
        Ok(())
    }

    fn finish(self) -> anyhow::Result<()> {
        match self {
            RowSink::Csv(mut w) => w.flush()?,
            RowSink::Json { mut out, .. } => {
                out.write_all(b"\n]\n")?;
                out.flush()?;
            }
            RowSink::JsonLines(mut out) => out.flush()?,
        }
        Ok(())
    }
}

/// The row as CSV cells, in [`CSV_HEADER`] order. Template variables are a
/// JSON array (`["Ann","A-17"]`): values may hold any delimiter.
fn csv_cells(r: &RecipientRow) -> [String; 25] {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let list = |v: &Option<Vec<String>>| {
        v.as_ref()
            .map(|v| serde_json::to_string(v).unwrap_or_default())
            .unwrap_or_default()
    };
    let time = |t: &DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    [
        r.campaign_id.to_string(),
        r.campaign_name.clone(),
        r.row_number.to_string(),
        opt(&r.mobile_code),
        opt(&r.mobile),
        r.state.clone(),
        r.attempts.to_string(),
        r.http_status.map(|s| s.to_string()).unwrap_or_default(),
        opt(&r.remark),
        r.messages
            .as_ref()
            .map(|m| m.join("; "))
            .unwrap_or_default(),
        r.data.as_ref().map(|d| d.to_string()).unwrap_or_default(),
        opt(&r.error),
        r.sent_at.as_ref().map(time).unwrap_or_default(),
        time(&r.updated_at),
        r.raw_phone.clone(),
        opt(&r.outcome),
        r.line_number.to_string(),
        list(&r.body_variables),
        list(&r.header_variables),
        opt(&r.read_back_verdict),
        opt(&r.read_back_rule),
        r.read_back_at.as_ref().map(time).unwrap_or_default(),
        r.read_back_attempt
            .map(|a| a.to_string())
            .unwrap_or_default(),
        opt(&r.read_back_detail),
        r.duplicate_of.map(|l| l.to_string()).unwrap_or_default(),
    ]
}
