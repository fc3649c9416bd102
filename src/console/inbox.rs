//! The inbox page: files waiting in the drop folder (with the settle
//! countdown), files rejected with their errors, recently loaded campaigns;
//! and upload → dry run → Approve, which loads the campaign into the queue
//! only when a person presses Approve.
//!
//! An upload is kept in `CAMPAIGNS_DIR/.console-uploads/ID/` (outside the
//! inbox, so no runner picks it up) until it is approved or discarded; ones
//! older than a day are removed at the next upload.

use std::path::{Path as FsPath, PathBuf};
use std::time::{Duration, SystemTime};

use axum::Extension;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use maud::{Markup, html};

use super::Shared;
use super::auth::{Authed, check_csrf, refused};
use super::campaign::internal;
use super::eta::{Window, finish_at};
use super::view::{self, Nav};
use crate::campaign::Problem;
use crate::campaign::manifest::Manifest;
use crate::ingest::{self, DryRunReport, IngestOptions, LoadOutcome, ProblemList};

/// Uploads older than this are removed.
const UPLOAD_TTL: Duration = Duration::from_secs(24 * 3600);
/// Rejected files shown, newest first.
const REJECTED_SHOWN: usize = 20;
/// Bytes of an errors file shown.
const ERRORS_SHOWN: u64 = 20_000;

/// A file of a folder, newest first.
struct Entry {
    path: PathBuf,
    name: String,
    size: u64,
    age: Duration,
}

fn list(dir: &FsPath, want: impl Fn(&str) -> bool) -> Vec<Entry> {
    let now = SystemTime::now();
    let mut out: Vec<Entry> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            if ingest::folder::ignored(e.file_name().as_os_str()) || !want(&name) {
                return None;
            }
            let meta = e.metadata().ok().filter(|m| m.is_file())?;
            let age = meta
                .modified()
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .unwrap_or_default();
            Some(Entry {
                path: e.path(),
                name,
                size: meta.len(),
                age,
            })
        })
        .collect();
    out.sort_by_key(|e| e.age);
    out
}

fn is_csv(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".csv")
}

fn read_head(path: &FsPath, max: u64) -> String {
    use std::io::Read as _;
    let mut text = String::new();
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.take(max).read_to_string(&mut text);
    }
    text
}

fn upload_form(csrf: &str) -> Markup {
    html! {
        form.upload method="post" action="/inbox/upload" enctype="multipart/form-data" {
            input type="hidden" name="csrf" value=(csrf);
            div.field {
                label for="csv" { "Recipients (CSV)" }
                input #csv type="file" name="csv" accept=".csv,text/csv" required;
            }
            div.field {
                label for="manifest" { "Manifest (TOML, optional)" }
                input #manifest type="file" name="manifest" accept=".toml";
            }
            button.primary type="submit" { "Check it (dry run)" }
            p.muted.small { "Nothing is sent or loaded until you press Approve on the next page." }
        }
    }
}

/// `GET /inbox`
pub async fn page(State(state): State<Shared>) -> Response {
    let dir = &state.dir;
    let waiting = list(&dir.inbox(), is_csv);
    let rejected = list(&dir.rejected(), |n| n.ends_with(".errors.txt"));
    let recent = match crate::report::console::campaigns(&state.pool).await {
        Ok(mut cs) => {
            cs.truncate(10);
            cs
        }
        Err(e) => return internal(e),
    };
    let settle = state.settle;
    let csrf = state.auth.csrf();
    view::page(
        "Inbox",
        Nav::Inbox,
        Some(csrf),
        html! {
            h1 { "Inbox" }
            p.muted { "The drop folder: " code { (dir.root.display()) } }
            section aria-labelledby="upload-h" {
                h2 #upload-h { "Upload a campaign" }
                (upload_form(csrf))
            }
            section aria-labelledby="waiting-h" {
                h2 #waiting-h { "Waiting in the inbox" }
                @if waiting.is_empty() { p.muted { "No files waiting." } }
                @else {
                    ul.files #waiting {
                        @for f in &waiting {
                            li {
                                strong { (f.name) } " · " (f.size) " bytes · "
                                @if f.age >= settle {
                                    @if state.sending { "ready: loads at the next scan" } @else { "ready: a runner loads it" }
                                } @else {
                                    "still changing? loads " (view::duration((settle - f.age).as_secs() as i64 + 1)) " after its last change"
                                }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="rejected-h" {
                h2 #rejected-h { "Rejected" }
                @if rejected.is_empty() { p.muted { "No rejected files." } }
                @for f in rejected.iter().take(REJECTED_SHOWN) {
                    details.rejected open[rejected.len() <= 3] {
                        summary { strong { (f.name.trim_end_matches(".errors.txt")) } " · " (view::duration(f.age.as_secs() as i64)) " ago" }
                        pre { (read_head(&f.path, ERRORS_SHOWN)) }
                        p.small.muted { "Fix the file and drop it again (or upload it above); the rejected copy is in " code { "rejected/" } "." }
                    }
                }
            }
            section aria-labelledby="recent-h" {
                h2 #recent-h { "Recently loaded" }
                @if recent.is_empty() { p.muted { "Nothing loaded yet." } }
                @else {
                    ul.files {
                        @for c in &recent {
                            li { a href={"/campaigns/" (c.id)} { (c.name) } " · from " (c.source_file) " · " (view::time(Some(c.created_at))) " · " (c.status) }
                        }
                    }
                }
            }
        },
    )
    .into_response()
}

/// A file name safe to write: its last component, plain characters only.
fn safe_name(raw: &str, ext: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let stem = base
        .strip_suffix(ext)
        .or_else(|| base.strip_suffix(&ext.to_ascii_uppercase()))
        .unwrap_or(base);
    let mut s: String = stem
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_ ().".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    s = s.trim_start_matches('.').trim().to_string();
    if s.is_empty() {
        s = "upload".into();
    }
    s
}

fn upload_dir(state: &Shared, id: &str) -> Option<PathBuf> {
    (id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())).then(|| state.uploads.join(id))
}

/// The CSV of an upload.
fn upload_csv(dir: &FsPath) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "csv"))
}

fn remove_stale_uploads(root: &FsPath) {
    let now = SystemTime::now();
    for e in std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
    {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age > UPLOAD_TTL);
        if old {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// `POST /inbox/upload`: keeps the files, shows the dry run.
pub async fn upload(
    State(state): State<Shared>,
    Extension(authed): Extension<Authed>,
    mut form: Multipart,
) -> Response {
    let (mut csrf, mut csv, mut manifest) = (None, None, None);
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                return refused(
                    StatusCode::BAD_REQUEST,
                    &format!("the upload could not be read: {e}"),
                );
            }
        };
        let name = field.name().unwrap_or("").to_string();
        let file_name = field.file_name().unwrap_or("").to_string();
        let bytes = match field.bytes().await {
            Ok(b) => b,
            Err(e) => {
                return refused(
                    StatusCode::BAD_REQUEST,
                    &format!("the upload could not be read: {e}"),
                );
            }
        };
        match name.as_str() {
            "csrf" => csrf = Some(String::from_utf8_lossy(&bytes).into_owned()),
            "csv" if !bytes.is_empty() => csv = Some((file_name, bytes)),
            "manifest" if !bytes.is_empty() => manifest = Some(bytes),
            _ => {}
        }
    }
    if let Some(r) = check_csrf(&state, authed, csrf.as_deref()) {
        return r;
    }
    let Some((file_name, csv)) = csv else {
        return refused(StatusCode::BAD_REQUEST, "choose a CSV file to upload");
    };
    let _ = std::fs::create_dir_all(&state.uploads);
    remove_stale_uploads(&state.uploads);
    let id = hex::encode(rand::random::<[u8; 16]>());
    let dir = state.uploads.join(&id);
    let stem = safe_name(&file_name, ".csv");
    let path = dir.join(format!("{stem}.csv"));
    let written = std::fs::create_dir_all(&dir)
        .and_then(|_| std::fs::write(&path, &csv))
        .and_then(|_| match &manifest {
            Some(m) => std::fs::write(dir.join(format!("{stem}.toml")), m),
            None => Ok(()),
        });
    if let Err(e) = written {
        return internal(format!("keeping the upload: {e}"));
    }
    match ingest::dry_run(&path, Some(&state.pool), state.client.as_ref()).await {
        Ok(report) => {
            let plan = plan(&state, &path, &report);
            dry_run_page(&state, &id, &report, &plan).into_response()
        }
        Err(e) => internal(e),
    }
}

/// When the campaign would be done at the current limits, in words.
fn plan(state: &Shared, csv: &FsPath, report: &DryRunReport) -> String {
    let manifest = ingest::folder::manifest_for(csv)
        .and_then(|m| Manifest::load(&m).ok())
        .unwrap_or_default();
    let rate = manifest
        .rate_per_second
        .unwrap_or(f64::INFINITY)
        .min(state.account_rate);
    let window = manifest.send_window.as_ref().and_then(|w| {
        let t = |s: &str| chrono::NaiveTime::parse_from_str(s.trim(), "%H:%M").ok();
        Window::of(t(&w.start), t(&w.end), Some(&w.timezone))
    });
    let now = Utc::now();
    let start = manifest.start_at.unwrap_or(now);
    let queued = report.counts.queued as i64;
    let mut words = format!("{queued} messages at up to {rate:.1} per second");
    if let Some(w) = &manifest.send_window {
        words.push_str(&format!(", only {}–{} {}", w.start, w.end, w.timezone));
    }
    match finish_at(queued, rate, now, start, window.as_ref()) {
        Some(t) => words.push_str(&format!(
            ": about {} from now if approved now (done by {}).",
            view::duration((t - now).num_seconds()),
            t.format("%Y-%m-%d %H:%M UTC")
        )),
        None => words.push('.'),
    }
    if manifest.require_approval {
        words.push_str(" The manifest asks for approval: approving here is that approval.");
    }
    words
}

fn problems(list: &ProblemList, id: &str) -> Markup {
    html! {
        ul.problems id=(id) {
            @for p in &list.listed { li { (problem(p)) } }
            @if list.not_listed > 0 { li.muted { "… and " (list.not_listed) " more" } }
        }
    }
}

fn problem(p: &Problem) -> Markup {
    html! {
        @if let Some(m) = &p.manifest { span.where { (m) } " " }
        @if let Some(l) = p.line { span.where { "line " (l) } " " }
        @if let Some(c) = &p.column { code { (c) } " " }
        @if let Some(v) = &p.value { "“" (v) "” " }
        (p.reason)
    }
}

fn dry_run_page(state: &Shared, id: &str, r: &DryRunReport, plan: &str) -> Markup {
    let csrf = state.auth.csrf();
    let c = &r.counts;
    view::page(
        "Dry run",
        Nav::Inbox,
        Some(csrf),
        html! {
            p.crumbs { a href="/inbox" { "Inbox" } " › dry run" }
            h1 { "Dry run: " (if r.name.is_empty() { &r.file_name } else { &r.name }) }
            p.muted { (r.file_name) @if let Some(m) = &r.manifest_name { " with " (m) } " · " (r.rows_read) " rows read · nothing was loaded or sent" }
            @if let Some((cid, name)) = &r.already_loaded {
                div.notice.bad role="alert" { p { "This exact file was loaded before as " a href={"/campaigns/" (cid)} { (name) } ". It will not be loaded twice." } }
            }
            @if !r.problems.is_empty() {
                div.notice.bad role="alert" #dry-run-problems {
                    p { strong { (r.problems.total()) " problems stop this file from loading:" } }
                    (problems(&r.problems, "problems"))
                }
            }
            table.counts #dry-run-counts {
                caption { "What loading it would do" }
                tbody {
                    tr data-state="queued" { th scope="row" { "to send (queued)" } td.num { (c.queued) } }
                    tr data-state="invalid" { th scope="row" { "invalid (not sent)" } td.num { (c.invalid) } }
                    tr data-state="duplicate" { th scope="row" { "duplicate (not sent)" } td.num { (c.duplicate) } }
                    tr data-state="suppressed" { th scope="row" { "opted out (not sent)" } td.num { (c.suppressed) } }
                }
            }
            p #plan { (plan) }
            @for w in &r.warnings { p.notice role="status" { (w) } }
            @if !r.samples.is_empty() {
                h2 { "The first messages, as they would be sent" }
                table.samples #samples {
                    thead { tr { th scope="col" { "Line" } th scope="col" { "To" } th scope="col" { "Template" } th scope="col" { "Message or variables" } } }
                    tbody {
                        @for s in &r.samples {
                            tr {
                                td.num { (s.line_number) }
                                td { (s.to) }
                                td { @if let Some(t) = s.template_id { (t) } }
                                td {
                                    @if let Some(m) = &s.message { pre { (m) } }
                                    @if let Some(v) = &s.body_variables { "body: " (v.join(" | ")) br; }
                                    @if let Some(v) = &s.header_variables { "header: " (v.join(" | ")) br; }
                                    @if s.firstname.is_some() || s.lastname.is_some() {
                                        span.muted.small { "contact: " (s.firstname.as_deref().unwrap_or("")) " " (s.lastname.as_deref().unwrap_or("")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if !r.invalid_rows.is_empty() {
                h2 { "Rows that would be invalid" }
                (problems(&r.invalid_rows, "invalid-rows"))
            }
            @if !r.duplicate_rows.is_empty() {
                h2 { "Rows that repeat an earlier number" }
                (problems(&r.duplicate_rows, "duplicate-rows"))
            }
            div.actions {
                @if r.would_load() {
                    (view::action_button(&format!("/inbox/uploads/{id}/approve"), csrf, &format!("Approve: send {} messages", c.queued), "primary", None))
                }
                (view::action_button(&format!("/inbox/uploads/{id}/discard"), csrf, "Discard", "", None))
            }
        },
    )
}

/// `POST /inbox/uploads/{id}/approve`: loads the upload into the queue
/// (and approves it, if its manifest asks for approval).
pub async fn approve(
    State(state): State<Shared>,
    Extension(authed): Extension<Authed>,
    Path(id): Path<String>,
    f: Result<Form<super::auth::CsrfForm>, FormRejection>,
) -> Response {
    if let Some(r) = check_csrf(
        &state,
        authed,
        f.as_ref().ok().and_then(|f| f.csrf.as_deref()),
    ) {
        return r;
    }
    let Some(dir) = upload_dir(&state, &id) else {
        return refused(StatusCode::NOT_FOUND, "no such upload");
    };
    let Some(csv) = upload_csv(&dir) else {
        return refused(
            StatusCode::NOT_FOUND,
            "this upload is gone (approved or discarded already?)",
        );
    };
    let opts = IngestOptions {
        settle: state.settle,
    };
    let outcome =
        ingest::load_file(&state.pool, &state.dir, &csv, &opts, state.client.as_ref()).await;
    match outcome {
        Ok(LoadOutcome::Loaded(l)) => {
            let _ = std::fs::remove_dir_all(&dir);
            if let Err(e) = crate::queue::console::approve(&state.pool, l.campaign_id).await {
                return internal(e);
            }
            tracing::info!(campaign = l.campaign_id, name = %l.name, queued = l.counts.queued, "loaded from the console");
            Redirect::to(&format!("/campaigns/{}", l.campaign_id)).into_response()
        }
        Ok(
            LoadOutcome::Duplicate { campaign_id, .. } | LoadOutcome::TakenByOther { campaign_id },
        ) => {
            let _ = std::fs::remove_dir_all(&dir);
            Redirect::to(&format!("/campaigns/{campaign_id}")).into_response()
        }
        Ok(LoadOutcome::Rejected { problems: ps, .. }) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            view::page(
                "Not loaded",
                Nav::Inbox,
                Some(state.auth.csrf()),
                html! {
                    h1 { "Not loaded" }
                    div.notice.bad role="alert" { (problems(&ps, "problems")) }
                    p { a href="/inbox" { "Back to the inbox" } }
                },
            ),
        )
            .into_response(),
        Ok(LoadOutcome::Gone) => refused(StatusCode::NOT_FOUND, "this upload is gone"),
        Err(e) => internal(e),
    }
}

/// `POST /inbox/uploads/{id}/discard`
pub async fn discard(
    State(state): State<Shared>,
    Extension(authed): Extension<Authed>,
    Path(id): Path<String>,
    f: Result<Form<super::auth::CsrfForm>, FormRejection>,
) -> Response {
    if let Some(r) = check_csrf(
        &state,
        authed,
        f.as_ref().ok().and_then(|f| f.csrf.as_deref()),
    ) {
        return r;
    }
    if let Some(dir) = upload_dir(&state, &id) {
        let _ = std::fs::remove_dir_all(dir);
    }
    Redirect::to("/inbox").into_response()
}

#[cfg(test)]
mod tests {
    use super::safe_name;

    #[test]
    fn uploaded_names_stay_plain() {
        assert_eq!(safe_name("spring offer.csv", ".csv"), "spring offer");
        assert_eq!(safe_name("../../etc/passwd.csv", ".csv"), "passwd");
        assert_eq!(safe_name("C:\\x\\list.CSV", ".csv"), "list");
        assert_eq!(safe_name("..csv", ".csv"), "upload");
        assert_eq!(safe_name("a/b;rm -rf.csv", ".csv"), "b_rm -rf");
    }
}
