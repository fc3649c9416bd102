//! Reporting: summaries and per-recipient exports over the reporting views of
//! `migrations/0002_reporting_views.sql` (`campaign_summary`,
//! `recipient_results`, `campaign_errors`; `recipient_results` as extended
//! since, last by `0008_duplicate_of.sql` with the line a duplicate repeats).
//!
//! - [`summary`]: campaign lookup, the summary rows, queue depth for metrics.
//! - [`export`]: streams every recipient row to CSV, JSON or JSON lines.
//! - [`render`]: the summary as a table, CSV or JSON.
//! - [`table`]: the one table style of every command, and times for people.
//! - [`excel`]: CSV cells that are safe to open in Excel.
//! - [`errors`]: failures grouped by reason (`campaign_errors`).
//! - [`console`]: what the web console reads (maintained counts, sends per minute).

pub mod console;
pub mod errors;
pub mod excel;
pub mod export;
pub mod render;
pub mod summary;
pub mod table;

pub use export::{RecipientFilter, write_recipients, write_recipients_with};
pub use summary::{CampaignRef, CampaignSummary, find_campaign, summaries};

/// Every recipient state (DESIGN.md, "States of a recipient"), in report order.
pub const STATES: [&str; 11] = [
    "queued",
    "sending",
    "retrying",
    "sent",
    "failed",
    "unknown",
    "invalid",
    "duplicate",
    "suppressed",
    "cancelled",
    "expired",
];

/// Output formats of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A table for people (summary only).
    Table,
    /// UTF-8 CSV with a BOM, Excel-safe cells.
    Csv,
    /// One JSON document (an array).
    Json,
    /// One JSON object per line.
    JsonLines,
}

/// How CSV is written for a spreadsheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvStyle {
    /// The field delimiter: `,` by default; `;` for Excel in the many
    /// (European) locales whose decimal separator is a comma, where Excel
    /// opens a double-clicked CSV with `;` and puts a whole `,` line in one cell.
    pub delimiter: u8,
}

impl Default for CsvStyle {
    fn default() -> Self {
        CsvStyle { delimiter: b',' }
    }
}

impl CsvStyle {
    /// A style with `delimiter`, written as one character (`;`, `,`, `|`)
    /// or as `tab` / `\t`. Quotes, line breaks and non-ASCII characters are
    /// refused: a reader could not tell them from the data.
    pub fn with_delimiter(text: &str) -> Result<CsvStyle, String> {
        let delimiter = match text {
            "tab" | "\\t" | "\t" => b'\t',
            _ => match text.as_bytes() {
                [b] if b.is_ascii_punctuation() && !matches!(b, b'"' | b'\'') => *b,
                _ => {
                    return Err(format!(
                        "--delimiter {text:?}: use one punctuation character such as ; or , or |, or tab"
                    ));
                }
            },
        };
        Ok(CsvStyle { delimiter })
    }

    pub(crate) fn writer<W: std::io::Write>(&self, out: W) -> csv::Writer<W> {
        csv::WriterBuilder::new()
            .delimiter(self.delimiter)
            .from_writer(out)
    }
}

#[cfg(test)]
mod tests {
    use super::CsvStyle;

    #[test]
    fn delimiters_are_one_punctuation_character_or_tab() {
        assert_eq!(CsvStyle::with_delimiter(";").unwrap().delimiter, b';');
        assert_eq!(CsvStyle::with_delimiter("tab").unwrap().delimiter, b'\t');
        assert_eq!(CsvStyle::with_delimiter("\t").unwrap().delimiter, b'\t');
        for bad in ["", ";;", "a", "\"", "é", " "] {
            assert!(CsvStyle::with_delimiter(bad).is_err(), "{bad:?}");
        }
        assert_eq!(CsvStyle::default().delimiter, b',');
    }
}
