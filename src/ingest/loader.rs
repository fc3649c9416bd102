//! Loading one file: check everything that can reject it, then write the
//! campaign, its media and every recipient in one transaction (COPY), then move
//! the files. A file is a whole campaign or nothing.
//!
//! [`check`] is the one pipeline: a load sends the rows to [`Sink::Database`],
//! a dry run to [`Sink::Nothing`] — same reading, same checks, same counts.

use std::path::{Path, PathBuf};

use sqlx::PgPool;

use crate::campaign::Problem;
use crate::campaign::csv::CsvSource;
use crate::campaign::plan::Planner;
use crate::queue::load::{ExistingCampaign, LoadTx, NewCampaign, NewMedia, RowEncoder};
use crate::wutt;

use super::classify::{Classifier, PhoneSet, StateCounts};
use super::dry_run::{SAMPLES, Sample};
use super::folder::{self, CampaignsDir};
use super::problems::{self, ProblemList};
use super::source::CampaignFile;
use super::templates::{self, TemplateCheck};
use super::{IngestOptions, stream};

/// A loaded campaign.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub campaign_id: i64,
    pub name: String,
    pub counts: StateCounts,
    /// Rows loaded as `invalid`, with the reason (the first
    /// [`problems::MAX_LISTED`]).
    pub invalid_rows: ProblemList,
    /// Rows loaded as `duplicate`, each naming the line it repeats.
    pub duplicate_rows: ProblemList,
    /// `None`: the API could not be asked; the delivery stage checks again.
    pub template_verified: Option<bool>,
    pub warnings: Vec<String>,
    pub moved_to: Option<PathBuf>,
}

/// What became of a file.
#[derive(Debug, Clone, PartialEq)]
pub enum LoadOutcome {
    Loaded(Loaded),
    /// Not loaded: `problems` stop it; `invalid_rows` would have loaded as `invalid`.
    Rejected {
        problems: ProblemList,
        invalid_rows: ProblemList,
        moved_to: Option<PathBuf>,
    },
    /// The same content was loaded before as this campaign.
    Duplicate {
        campaign_id: i64,
        name: String,
        moved_to: Option<PathBuf>,
    },
    /// Another runner loaded this very file just now and moves it.
    TakenByOther {
        campaign_id: i64,
    },
    /// The file disappeared (another runner moved it).
    Gone,
}

/// A runtime failure: the file stays where it is and can be tried again.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Internal(String),
    /// The file changed while it was read: nothing was loaded from it.
    #[error("{0}")]
    Changed(String),
}

/// Everything checked before the transaction.
pub struct Prepared {
    pub file: CampaignFile,
    pub source: CsvSource,
    pub planner: Planner,
    pub templates: TemplateCheck,
    pub media: Vec<NewMedia>,
    pub campaign: NewCampaign,
    pub warnings: Vec<String>,
}

/// What a load says about every campaign that may send free-form text
/// without making its recipients contacts first (SERVER.md, send-message step 3).
pub const TEXT_REACHES_CONTACTS_ONLY: &str = "free-form text (message, media, location, \
    interactive) reaches only numbers that are already Wutt contacts with an open 24-hour \
    window (the customer wrote in the last 24 hours); every other number fails. To reach a \
    cold list, send an approved template (template_id), or set create_contacts = true with \
    firstname and lastname columns to make each number a contact first";

/// Reads, hashes and checks a drop. `Err` holds every problem found.
pub async fn prepare(
    file: CampaignFile,
    client: Option<&wutt::Client>,
) -> Result<Prepared, ProblemList> {
    let file2 = file.clone();
    let (source, planner) = blocking(move || file2.open_rows()).await?;
    let mut warnings = advice(&file, &planner);
    let uses_templates = planner.uses_template();
    let templates = match (uses_templates, client) {
        (false, _) => TemplateCheck::Unavailable("no template used".into()),
        (true, None) => TemplateCheck::Unavailable("no API credentials configured".into()),
        (true, Some(c)) => templates::fetch(c).await,
    };
    if let (true, TemplateCheck::Unavailable(why)) = (uses_templates, &templates) {
        warnings.push(format!(
            "templates not verified ({why}); they are checked again before the first send"
        ));
    }
    // Problems of the manifest's own keys (its template, its media).
    let mut found = ProblemList::default();
    if let Some(id) = planner.manifest_template() {
        match templates.refusal(id) {
            Some(Some(reason)) => found.push(Problem {
                manifest: None,
                line: None,
                column: Some("template_id".into()),
                value: Some(id.to_string()),
                reason,
            }),
            Some(None) => {
                let (body, header) = planner.variable_counts();
                for (key, reason) in templates.variable_mismatches(id, body, header) {
                    found.push(Problem {
                        manifest: None,
                        line: None,
                        column: Some(key.into()),
                        value: None,
                        reason,
                    });
                }
            }
            None => {}
        }
    }
    let (m, dir) = (file.manifest.clone(), file.folder());
    let media = match blocking(move || super::media::capture(&m, &dir)).await {
        Ok(media) => media,
        Err(ps) => {
            found.extend(ps.listed);
            Vec::new()
        }
    };
    let mut found = file.in_manifest(found);
    let verified = templates.is_known() && uses_templates;
    let campaign = match file.new_campaign(verified.then_some(true)) {
        Ok(c) => Some(c),
        Err(ps) => {
            found.extend(ps.listed);
            None
        }
    };
    match campaign {
        Some(campaign) if found.is_empty() => Ok(Prepared {
            file,
            source,
            planner,
            templates,
            media,
            campaign,
            warnings,
        }),
        _ => Err(found),
    }
}

/// The warning when most rows of a file are invalid: a wrong phone column or
/// a wrong export, more likely than a list of bad numbers.
pub fn mostly_invalid(counts: &StateCounts) -> Option<String> {
    let (invalid, total) = (counts.invalid, counts.total());
    (invalid > 0 && invalid * 2 > total).then(|| {
        format!(
            "{invalid} of {total} rows are invalid ({}%): is the phone column in \
             international form (+880 1988-123456), and is it the right column? \
             The reasons say what each row lacks",
            invalid * 100 / total
        )
    })
}

/// Warnings about how the campaign will be sent (the file still loads).
fn advice(file: &CampaignFile, planner: &Planner) -> Vec<String> {
    let mut warnings = Vec::new();
    if planner.may_send_text() {
        if planner.creates_contacts() {
            warnings.push("create_contacts = true: each number is made a Wutt contact before its text, but WhatsApp still delivers free-form text only within 24 hours of the customer's last message; numbers without an open window fail (a template reaches them)".to_string());
        } else {
            warnings.push(TEXT_REACHES_CONTACTS_ONLY.to_string());
        }
    }
    if planner.creates_contacts() && file.manifest.template_id.is_some() {
        warnings.push("create_contacts = true with template_id: a template reaches numbers that are not Wutt contacts, so making each recipient a contact first is not needed (it only adds a contact per recipient)".to_string());
    }
    warnings
}

async fn blocking<T, E>(f: impl FnOnce() -> Result<T, E> + Send + 'static) -> Result<T, ProblemList>
where
    T: Send + 'static,
    E: Into<ProblemList> + Send + 'static,
{
    match tokio::task::spawn_blocking(move || f().map_err(Into::into)).await {
        Ok(r) => r,
        Err(e) => Err(problems::single(format!(
            "internal error while reading: {e}"
        ))),
    }
}

impl From<Vec<Problem>> for ProblemList {
    fn from(ps: Vec<Problem>) -> Self {
        let mut l = ProblemList::default();
        l.extend(ps);
        l
    }
}

/// A load that may start before its files have settled: the files' size and
/// modification time as the load began, checked again right before the
/// commit, which also waits until the files are `settle` old. So the reading
/// and the copying overlap the settle time, and nothing is committed that
/// waiting first would have refused: a file that changed is not loaded.
#[derive(Debug, Clone)]
pub struct SettleGuard {
    files: Vec<(PathBuf, Option<(std::time::SystemTime, u64)>)>,
    settle: std::time::Duration,
}

impl SettleGuard {
    /// Notes `csv` and its manifest as they are now.
    pub fn note(csv: &Path, manifest: Option<&Path>, settle: std::time::Duration) -> Self {
        let files = std::iter::once(csv)
            .chain(manifest)
            .map(|p| (p.to_path_buf(), stamp(p)))
            .collect();
        SettleGuard { files, settle }
    }

    /// Whether every file is as noted, waiting until each is `settle` old.
    /// False when one changed (or went away) since it was noted.
    pub async fn hold(&self) -> bool {
        loop {
            let mut wait = std::time::Duration::ZERO;
            for (path, noted) in &self.files {
                let now = stamp(path);
                if now.is_none() || now != *noted {
                    return false;
                }
                if let Some((modified, _)) = now {
                    let age = std::time::SystemTime::now()
                        .duration_since(modified)
                        .unwrap_or_default();
                    wait = wait.max(self.settle.saturating_sub(age));
                }
            }
            if wait.is_zero() {
                return true;
            }
            tokio::time::sleep(wait).await;
        }
    }
}

/// A file's modification time and size.
fn stamp(path: &Path) -> Option<(std::time::SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// Where the rows of a checked file go: the one difference between a load
/// and a dry run.
#[derive(Debug, Clone, Copy)]
pub enum Sink<'a> {
    /// Into the database, in one transaction with the campaign: a load.
    Database(&'a PgPool),
    /// Nowhere: a dry run. With a database it still knows the opt-out list
    /// and whether the content was loaded before.
    Nothing(Option<&'a PgPool>),
}

impl Sink<'_> {
    fn pool(&self) -> Option<&PgPool> {
        match self {
            Sink::Database(pool) => Some(pool),
            Sink::Nothing(pool) => *pool,
        }
    }
}

/// What checking a file — and, into the database, writing it — came to.
/// Nothing is moved yet.
#[derive(Debug, Default)]
pub struct Checked {
    /// `None`: the file could not be read (see `problems`).
    pub file: Option<CampaignFile>,
    /// Problems that stop the file.
    pub problems: ProblemList,
    /// Data rows read: 0 when a problem stopped the check before the rows.
    pub rows_read: u64,
    pub counts: StateCounts,
    pub invalid_rows: ProblemList,
    pub duplicate_rows: ProblemList,
    /// The first messages as they would be sent (a dry run's).
    pub samples: Vec<Sample>,
    pub warnings: Vec<String>,
    /// The campaign that already holds this content.
    pub existing: Option<ExistingCampaign>,
    /// The campaign it was written as (id, name), into the database.
    pub written: Option<(i64, String)>,
    pub template_verified: Option<bool>,
}

/// Reads, checks and streams `csv` (with its manifest) into `sink`. A load
/// stops at content that was loaded before; a dry run goes on and says so.
pub async fn check(
    sink: Sink<'_>,
    csv: &Path,
    manifest: Option<PathBuf>,
    client: Option<&wutt::Client>,
) -> Result<Checked, LoadError> {
    check_guarded(sink, csv, manifest, client, None).await
}

/// [`check`], committing a load only once `guard` holds.
async fn check_guarded(
    sink: Sink<'_>,
    csv: &Path,
    manifest: Option<PathBuf>,
    client: Option<&wutt::Client>,
    guard: Option<&SettleGuard>,
) -> Result<Checked, LoadError> {
    let mut checked = Checked::default();
    let c = csv.to_path_buf();
    let file = match blocking(move || CampaignFile::read(&c, manifest.as_deref())).await {
        Ok(f) => f,
        Err(ps) => {
            checked.problems = ps;
            return Ok(checked);
        }
    };
    if let Some(pool) = sink.pool() {
        checked.existing = crate::queue::load::find_by_source(pool, &file.sha256).await?;
    }
    checked.file = Some(file.clone());
    if checked.existing.is_some() && matches!(sink, Sink::Database(_)) {
        return Ok(checked);
    }
    let prepared = match prepare(file, client).await {
        Ok(p) => p,
        Err(ps) => {
            checked.problems = ps;
            return Ok(checked);
        }
    };
    checked.template_verified = prepared.campaign.template_verified;
    match sink {
        Sink::Database(pool) => write(pool, prepared, &mut checked, guard).await?,
        Sink::Nothing(pool) => stream_nowhere(pool, prepared, &mut checked).await?,
    }
    Ok(checked)
}

/// Loads one campaign file. Files in the inbox are moved to `processed/` or
/// `rejected/`; files elsewhere (`load /some/file.csv`) stay where they are.
pub async fn load_file(
    pool: &PgPool,
    dir: &CampaignsDir,
    csv: &Path,
    opts: &IngestOptions,
    client: Option<&wutt::Client>,
) -> Result<LoadOutcome, LoadError> {
    let in_inbox = dir.in_inbox(csv);
    if !csv.exists() && std::fs::symlink_metadata(csv).is_err() {
        return Ok(LoadOutcome::Gone);
    }
    let manifest = folder::manifest_for(csv);
    if in_inbox {
        let inbox = dir.inbox();
        let hostile = folder::check_readable(csv, &inbox).err().or_else(|| {
            let m = manifest.as_deref()?;
            folder::check_readable(m, &inbox)
                .err()
                .map(|r| format!("manifest: {r}"))
        });
        if let Some(reason) = hostile {
            return Ok(match reject_hostile(dir, csv, &reason)? {
                Some(moved) => rejected(problems::single(reason), Some(moved)),
                None => LoadOutcome::Gone,
            });
        }
    }
    // What happened is the caller's to tell (`load` prints it, the runner
    // logs it), once.
    // Files in the inbox were found settled by the scan; a file named on the
    // command line may be loaded while it settles (the commit waits).
    let guard = SettleGuard::note(csv, manifest.as_deref(), opts.settle);
    let checked = check_guarded(Sink::Database(pool), csv, manifest, client, Some(&guard)).await?;
    let Some(file) = &checked.file else {
        if !csv.exists() {
            return Ok(LoadOutcome::Gone);
        }
        return reject(dir, csv, in_inbox, checked.problems, ProblemList::default());
    };
    if let Some(existing) = checked.existing {
        return duplicate(dir, file, in_inbox, existing);
    }
    let Some((campaign_id, name)) = checked.written else {
        if checked.problems.is_empty() {
            return Err(LoadError::Internal(
                "the file was neither loaded nor rejected".into(),
            ));
        }
        return reject(dir, csv, in_inbox, checked.problems, checked.invalid_rows);
    };
    let moved_to = if in_inbox {
        move_loaded(dir, file, campaign_id)?
    } else {
        None
    };
    Ok(LoadOutcome::Loaded(Loaded {
        campaign_id,
        name,
        counts: checked.counts,
        invalid_rows: checked.invalid_rows,
        duplicate_rows: checked.duplicate_rows,
        template_verified: checked.template_verified,
        warnings: checked.warnings,
        moved_to,
    }))
}

/// The problems of the rows as a whole: a fatal one that stopped them, a file
/// without data rows, and what the classifier found about the whole file.
fn rows_problems(rows: u64, fatal: Option<Problem>, c: &Classifier) -> ProblemList {
    let mut found = ProblemList::default();
    found.extend(fatal);
    if rows == 0 && found.is_empty() {
        found.push(Problem::file("the file has no data rows"));
    }
    found.extend(c.file_problems.listed.iter().cloned());
    found
}

/// The transaction: lock, re-check, campaign, media, COPY, the settle guard,
/// commit.
async fn write(
    pool: &PgPool,
    p: Prepared,
    checked: &mut Checked,
    guard: Option<&SettleGuard>,
) -> Result<(), LoadError> {
    let sha = p.file.sha256.clone();
    let mut tx = LoadTx::begin(pool, &sha).await?;
    if let Some(existing) = tx.existing(&sha).await? {
        tx.rollback().await?;
        checked.existing = Some(existing);
        return Ok(());
    }
    let mut suppressed = PhoneSet::default();
    tx.for_each_suppression(|c, m| suppressed.insert(c, m))
        .await?;
    let (id, name) = tx.insert_campaign(&p.campaign).await?;
    for m in &p.media {
        tx.insert_media(id, m).await?;
    }
    let encoder = RowEncoder::new(id, tx.start_at(id).await?);
    let classifier = Classifier::new(suppressed, p.templates, &p.planner);
    let (sender, mut chunks) = tokio::sync::mpsc::channel(4);
    let label = p.file.file_name.clone();
    let parsed = p.source.content_hash();
    let (source, planner) = (p.source, p.planner);
    let producer = tokio::task::spawn_blocking(move || {
        stream::to_copy(source, &planner, classifier, &encoder, sender, &label)
    });
    let copied = tx.copy_recipients(&mut chunks).await;
    drop(chunks);
    let streamed = producer
        .await
        .map_err(|e| LoadError::Internal(format!("reading the file failed: {e}")))?;
    let copied = match copied {
        Ok(n) => n,
        Err(e) => {
            let _ = tx.rollback().await;
            return Err(e.into());
        }
    };
    // The rows must be the bytes the drop was hashed (and locked) as:
    // otherwise this content would be stored under another content's hash.
    if streamed.fatal.is_none() && !p.file.same_bytes(&parsed) {
        tx.rollback().await?;
        return Err(LoadError::Changed(p.file.changed_problem()));
    }
    let c = streamed.classifier;
    let fatal = rows_problems(streamed.rows, streamed.fatal, &c);
    checked.rows_read = streamed.rows;
    if !fatal.is_empty() {
        tx.rollback().await?;
        checked.problems = fatal;
        checked.invalid_rows = c.row_problems;
        return Ok(());
    }
    // The server's own count of the rows COPY stored: every row read must be
    // there (counting them again with a query cost a twentieth of the load).
    if copied != streamed.rows {
        tx.rollback().await?;
        return Err(LoadError::Internal(format!(
            "{} rows read but {copied} written; nothing was loaded",
            streamed.rows
        )));
    }
    if let Some(guard) = guard
        && !guard.hold().await
    {
        tx.rollback().await?;
        return Err(LoadError::Changed(p.file.changed_problem()));
    }
    tx.commit().await?;
    checked.warnings = p.warnings;
    checked.warnings.extend(mostly_invalid(&c.counts));
    checked.written = Some((id, name));
    checked.counts = c.counts;
    checked.invalid_rows = c.row_problems;
    checked.duplicate_rows = c.duplicate_rows;
    Ok(())
}

/// A dry run's rows: every check of [`write`], the first messages kept as
/// samples, nothing written.
async fn stream_nowhere(
    pool: Option<&PgPool>,
    p: Prepared,
    checked: &mut Checked,
) -> Result<(), LoadError> {
    let mut suppressed = PhoneSet::default();
    match pool {
        Some(pool) => {
            crate::queue::load::for_each_suppression_in(pool, |c, m| suppressed.insert(c, m))
                .await?
        }
        None => checked.warnings.push(
            "no database: duplicates of earlier loads and the opt-out list not checked".into(),
        ),
    }
    checked.warnings.extend(p.warnings);
    let classifier = Classifier::new(suppressed, p.templates, &p.planner);
    let label = p.file.file_name.clone();
    let parsed = p.source.content_hash();
    let (source, planner) = (p.source, p.planner);
    let (streamed, samples) = tokio::task::spawn_blocking(move || {
        let mut samples = Vec::new();
        let s = stream::run(source, &planner, classifier, &label, |p, c| {
            if samples.len() < SAMPLES
                && let Some(sample) = Sample::of(p, c)
            {
                samples.push(sample);
            }
            true
        });
        (s, samples)
    })
    .await
    .map_err(|e| LoadError::Internal(e.to_string()))?;
    if streamed.fatal.is_none() && !p.file.same_bytes(&parsed) {
        checked
            .problems
            .push(Problem::file(p.file.changed_problem()));
    }
    let c = streamed.classifier;
    checked
        .problems
        .extend(rows_problems(streamed.rows, streamed.fatal, &c).listed);
    checked.rows_read = streamed.rows;
    checked.warnings.extend(mostly_invalid(&c.counts));
    checked.samples = samples;
    checked.counts = c.counts;
    checked.invalid_rows = c.row_problems;
    checked.duplicate_rows = c.duplicate_rows;
    Ok(())
}

fn move_loaded(
    dir: &CampaignsDir,
    f: &CampaignFile,
    id: i64,
) -> Result<Option<PathBuf>, LoadError> {
    let moved = folder::move_into(&f.csv, &dir.processed(), &format!("{id}-{}", f.file_name))?;
    if let Some(m) = &f.manifest_path {
        let name = m.file_name().map(|n| n.to_string_lossy().into_owned());
        folder::move_into(
            m,
            &dir.processed(),
            &format!("{id}-{}", name.unwrap_or_default()),
        )?;
    }
    Ok(moved)
}

fn rejected(problems: ProblemList, moved_to: Option<PathBuf>) -> LoadOutcome {
    LoadOutcome::Rejected {
        problems,
        invalid_rows: ProblemList::default(),
        moved_to,
    }
}

/// Moves a file that must not be read (hostile name or symlink) to `rejected/`.
pub fn reject_hostile(
    dir: &CampaignsDir,
    path: &Path,
    reason: &str,
) -> Result<Option<PathBuf>, LoadError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file.csv".into());
    let moved = folder::move_into(path, &dir.rejected(), &name)?;
    if let Some(m) = &moved {
        // Its manifest goes with it (moved, never opened).
        if let Some(manifest) = folder::manifest_for(path) {
            let mname = manifest
                .file_name()
                .map(|n| n.to_string_lossy().into_owned());
            folder::move_into(&manifest, &dir.rejected(), &mname.unwrap_or_default())?;
        }
        problems::write_errors(m, &name, "rejected, not loaded", &format!("{reason}\n"));
    }
    Ok(moved)
}

fn reject(
    dir: &CampaignsDir,
    csv: &Path,
    in_inbox: bool,
    ps: ProblemList,
    rows: ProblemList,
) -> Result<LoadOutcome, LoadError> {
    let name = csv
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    tracing::debug!(file = %name, problems = ps.total(), "rejected");
    let mut moved_to = None;
    if in_inbox {
        let Some(moved) = folder::move_into(csv, &dir.rejected(), &name)? else {
            return Ok(LoadOutcome::Gone);
        };
        if let Some(m) = folder::manifest_for(csv) {
            let mname = m.file_name().map(|n| n.to_string_lossy().into_owned());
            folder::move_into(&m, &dir.rejected(), &mname.unwrap_or_default())?;
        }
        let mut body = format!(
            "{} problem(s) stop this file from loading:\n{}",
            ps.total(),
            ps.render()
        );
        if !rows.is_empty() {
            body.push_str(&format!(
                "\n{} row(s) would load as invalid:\n{}",
                rows.total(),
                rows.render()
            ));
        }
        problems::write_errors(&moved, &name, "rejected, nothing was loaded", &body);
        moved_to = Some(moved);
    }
    Ok(LoadOutcome::Rejected {
        problems: ps,
        invalid_rows: rows,
        moved_to,
    })
}

/// Same content as an existing campaign: a re-drop is moved aside with a note;
/// the very file another runner is loading right now is left to that runner.
fn duplicate(
    dir: &CampaignsDir,
    f: &CampaignFile,
    in_inbox: bool,
    existing: ExistingCampaign,
) -> Result<LoadOutcome, LoadError> {
    let mut moved_to = None;
    if in_inbox {
        let processed = dir
            .processed()
            .join(format!("{}-{}", existing.id, f.file_name));
        let being_moved = existing.source_file == f.file_name
            && existing.age_seconds < 600.0
            && std::fs::symlink_metadata(&processed).is_err();
        if being_moved {
            return Ok(LoadOutcome::TakenByOther {
                campaign_id: existing.id,
            });
        }
        let Some(moved) = folder::move_into(&f.csv, &dir.rejected(), &f.file_name)? else {
            return Ok(LoadOutcome::Gone);
        };
        if let Some(m) = &f.manifest_path {
            let mname = m.file_name().map(|n| n.to_string_lossy().into_owned());
            folder::move_into(m, &dir.rejected(), &mname.unwrap_or_default())?;
        }
        let note = format!(
            "This file has the same content as campaign {} {:?}, loaded from {} on {}.\n\
             It was not loaded again, so nobody receives the message twice.\n",
            existing.id,
            existing.name,
            existing.source_file,
            existing.created_at.to_rfc3339()
        );
        problems::write_errors(&moved, &f.file_name, "duplicate, not loaded", &note);
        moved_to = Some(moved);
    }
    Ok(LoadOutcome::Duplicate {
        campaign_id: existing.id,
        name: existing.name,
        moved_to,
    })
}
