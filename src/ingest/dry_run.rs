//! `load --dry-run`: every check of a real load, the counts per state, the
//! first rendered messages (template variables and contact names included)
//! and the rows that would not be sent (invalid, with the reason; duplicate,
//! with the line it repeats), writing nothing and moving nothing. With a
//! database it also knows the opt-out list and whether the content was loaded
//! before.

use std::path::Path;

use serde::Serialize;
use sqlx::PgPool;

use crate::campaign::plan::Verdict;
use crate::wutt;

use super::classify::{Classifier, PhoneSet, StateCounts};
use super::loader::{LoadError, prepare};
use super::problems::ProblemList;
use super::source::CampaignFile;
use super::{folder, stream};

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

/// Checks `csv` (and its manifest) as a load would, without writing or moving anything.
pub async fn dry_run(
    csv: &Path,
    pool: Option<&PgPool>,
    client: Option<&wutt::Client>,
) -> Result<DryRunReport, LoadError> {
    let manifest = folder::manifest_for(csv);
    let mut report = DryRunReport {
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
    let (c, m) = (csv.to_path_buf(), manifest);
    let read = tokio::task::spawn_blocking(move || CampaignFile::read(&c, m.as_deref()))
        .await
        .map_err(|e| LoadError::Internal(e.to_string()))?;
    let file = match read {
        Ok(f) => f,
        Err(ps) => {
            report.problems = ps;
            return Ok(report);
        }
    };
    report.name = file.campaign_name();
    let mut suppressed = PhoneSet::default();
    if let Some(pool) = pool {
        if let Some(e) = crate::queue::load::find_by_source(pool, &file.sha256).await? {
            report.already_loaded = Some((e.id, e.name));
        }
        crate::queue::load::for_each_suppression_in(pool, |c, m| suppressed.insert(c, m)).await?;
    } else {
        report.warnings.push(
            "no database: duplicates of earlier loads and the opt-out list not checked".into(),
        );
    }
    let prepared = match prepare(file, client).await {
        Ok(p) => p,
        Err(ps) => {
            report.problems = ps;
            return Ok(report);
        }
    };
    report.warnings.extend(prepared.warnings);
    let classifier = Classifier::new(suppressed, prepared.templates, &prepared.planner);
    let (source, planner) = (prepared.source, prepared.planner);
    let label = prepared.file.file_name.clone();
    let streamed = tokio::task::spawn_blocking(move || {
        let mut samples = Vec::new();
        let s = stream::run(source, &planner, classifier, &label, |p, c| {
            if let (Verdict::Ready(phone), "queued", true) =
                (&p.verdict, c.state, samples.len() < SAMPLES)
            {
                samples.push(Sample {
                    row_number: p.row_number,
                    line_number: p.line_number,
                    to: phone.e164(),
                    template_id: p.template_id,
                    message: p.message.clone(),
                    body_variables: p.body_variables.clone(),
                    header_variables: p.header_variables.clone(),
                    firstname: p.firstname.clone(),
                    lastname: p.lastname.clone(),
                });
            }
            true
        });
        (s, samples)
    })
    .await
    .map_err(|e| LoadError::Internal(e.to_string()))?;
    let (s, samples) = streamed;
    report.samples = samples;
    report.counts = s.classifier.counts;
    report.problems.extend(s.fatal);
    if s.rows == 0 && report.problems.is_empty() {
        report
            .problems
            .push(crate::campaign::Problem::file("the file has no data rows"));
    }
    report.problems.extend(s.classifier.file_problems.listed);
    report.rows_read = s.rows;
    report
        .warnings
        .extend(super::loader::mostly_invalid(&s.classifier.counts));
    report.invalid_rows = s.classifier.row_problems;
    report.duplicate_rows = s.classifier.duplicate_rows;
    Ok(report)
}
