//! One CSV row → one planned recipient: the canonical phone number (or why the
//! row is invalid) and what to send it.

use super::Problem;
use super::csv::CsvRow;
use super::manifest::Manifest;
use super::phone::PhoneNumber;

/// The verdict on one row before the database is consulted (duplicates and
/// suppressions are decided by ingest, which sees the whole campaign and the
/// opt-out list).
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The row can be sent to this number.
    Ready(PhoneNumber),
    /// The row cannot be used; the reason goes into `error`.
    Invalid(String),
}

/// One planned recipient (every data row yields exactly one).
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRecipient {
    pub row_number: u32,
    pub line_number: u64,
    /// The phone as written (both columns joined when split in two).
    pub raw_phone: String,
    pub verdict: Verdict,
    /// Per-row overrides, else the manifest's.
    pub template_id: Option<i64>,
    /// Rendered text (placeholders filled).
    pub message: Option<String>,
    pub from_number: Option<String>,
    /// The row's other columns, by header name.
    pub variables: serde_json::Map<String, serde_json::Value>,
}

/// Turns rows into planned recipients for one file.
#[derive(Debug, Clone)]
pub struct Planner {
    _manifest: Manifest,
}

impl Planner {
    /// Checks the header against the manifest (phone column present,
    /// placeholders name columns, something to send). All problems are returned.
    pub fn new(manifest: &Manifest, _headers: &[String]) -> Result<Planner, Vec<Problem>> {
        Ok(Planner {
            _manifest: manifest.clone(),
        })
    }

    /// Plans one row. Never fails: a bad row becomes `Verdict::Invalid`.
    pub fn plan(&self, row: &CsvRow) -> PlannedRecipient {
        PlannedRecipient {
            row_number: row.row_number,
            line_number: row.line_number,
            raw_phone: String::new(),
            verdict: Verdict::Invalid("planning is not built yet".into()),
            template_id: None,
            message: None,
            from_number: None,
            variables: Default::default(),
        }
    }
}
