//! `load --dry-run`: every check of a real load, the counts per state, the
//! first rendered messages (template variables and contact names included)
//! and the rows that would not be sent (invalid, with the reason; duplicate,
//! with the line it repeats), writing nothing and moving nothing. With a
//! database it also knows the opt-out list and whether the content was loaded
//! before. It is [`loader::check`] with [`Sink::Nothing`]: the load's own
//! pipeline, so a dry run and a load cannot disagree.

use std::path::Path;

use serde::Serialize;
use sqlx::PgPool;

use crate::campaign::plan::{PlannedRecipient, Verdict};
use crate::wutt;

use super::classify::{Classified, StateCounts};
use super::folder;
use super::loader::{self, LoadError, Sink};
use super::problems::ProblemList;

/// How many rendered messages a dry run shows.
pub const SAMPLES: usize = 5;

/// One message as it would be sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sample {
    pub row_number: u32,
    /// The line the row starts on (the spreadsheet's row number).
    pub line_number: u64,
    pub to: String,
    pub template_id: Option<i64>,
    pub message: Option<String>,
    /// The template's rendered body and header variables.
    pub body_variables: Option<Vec<String>>,
    pub header_variables: Option<Vec<String>>,
    /// The names the recipient is made a Wutt contact with (`create_contacts`).
    pub firstname: Option<String>,
    pub lastname: Option<String>,
}

/// What a load would do.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DryRunReport {
    /// The campaign's name (empty when the file could not be read that far).
    pub name: String,
    /// The CSV's file name.
    pub file_name: String,
    /// The manifest's file name, when there is one.
    pub manifest_name: Option<String>,
    /// Data rows read: 0 when a problem stopped the check before the rows.
    pub rows_read: u64,
    pub counts: StateCounts,
    pub samples: Vec<Sample>,
    /// Problems that would reject the file (empty: it would load).
    pub problems: ProblemList,
    /// Rows that would load as `invalid`.
    pub invalid_rows: ProblemList,
    /// Rows that would load as `duplicate`, each naming the line it repeats.
    pub duplicate_rows: ProblemList,
    /// The campaign this content was already loaded as.
    pub already_loaded: Option<(i64, String)>,
    pub warnings: Vec<String>,
}

impl DryRunReport {
    pub fn would_load(&self) -> bool {
        self.problems.is_empty() && self.already_loaded.is_none()
    }
}

impl Sample {
    /// The message a row sends, when it is sent (queued with a phone number).
    pub fn of(p: &PlannedRecipient, c: &Classified) -> Option<Sample> {
        let (Verdict::Ready(phone), "queued") = (&p.verdict, c.state) else {
            return None;
        };
        Some(Sample {
            row_number: p.row_number,
            line_number: p.line_number,
            to: phone.e164(),
            template_id: p.template_id,
            message: p.message.clone(),
            body_variables: p.body_variables.clone(),
            header_variables: p.header_variables.clone(),
            firstname: p.firstname.clone(),
            lastname: p.lastname.clone(),
        })
    }
}

/// Checks `csv` (and its manifest) as a load would — it is the load's own
/// pipeline, [`loader::check`], with a sink that writes nothing — without
/// writing or moving anything.
pub async fn dry_run(
    csv: &Path,
    pool: Option<&PgPool>,
    client: Option<&wutt::Client>,
) -> Result<DryRunReport, LoadError> {
    let manifest = folder::manifest_for(csv);
    let report = DryRunReport {
        file_name: csv
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| csv.display().to_string()),
        manifest_name: manifest
            .as_deref()
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned()),
        ..DryRunReport::default()
    };
    let checked = loader::check(Sink::Nothing(pool), csv, manifest, client).await?;
    Ok(DryRunReport {
        name: checked
            .file
            .as_ref()
            .map(|f| f.campaign_name())
            .unwrap_or_default(),
        rows_read: checked.rows_read,
        counts: checked.counts,
        samples: checked.samples,
        problems: checked.problems,
        invalid_rows: checked.invalid_rows,
        duplicate_rows: checked.duplicate_rows,
        already_loaded: checked.existing.map(|e| (e.id, e.name)),
        warnings: checked.warnings,
        ..report
    })
}
