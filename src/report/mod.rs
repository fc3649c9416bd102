//! Reporting: summaries and per-recipient exports over the reporting views of
//! `migrations/0002_reporting_views.sql` (`campaign_summary`,
//! `recipient_results`, `campaign_errors`; `recipient_results` as extended
//! since, last by `0006_real_server.sql` with the template variables).
//!
//! - [`summary`]: campaign lookup, the summary rows, queue depth for metrics.
//! - [`export`]: streams every recipient row to CSV, JSON or JSON lines.
//! - [`render`]: the summary as a table, CSV or JSON.
//! - [`excel`]: CSV cells that are safe to open in Excel.
//! - [`errors`]: failures grouped by reason (`campaign_errors`).

pub mod errors;
pub mod excel;
pub mod export;
pub mod render;
pub mod summary;

pub use export::{RecipientFilter, write_recipients};
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
