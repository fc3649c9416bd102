//! One campaign: counts per state, the error groups of `campaign_errors`
//! (with an example number and what to do), a server-rendered SVG chart of
//! sends per minute, the manifest as loaded, the pause / resume / cancel /
//! approve / requeue actions, and the Excel-safe recipients export.

use axum::Extension;
use axum::body::Body;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use serde::Deserialize;

use super::Shared;
use super::auth::{Authed, check_csrf, refused};
use super::campaigns::estimate;
use super::view::{self, Nav};
use crate::queue::control::{self, RequeueState};
use crate::report::console::{self as data, ConsoleCampaign, LoadedManifest};
use crate::report::errors::{ErrorGroup, error_groups};
use crate::report::{CsvStyle, Format, RecipientFilter, STATES, write_recipients_with};

/// How many minutes the chart shows at most.
const CHART_MINUTES: i64 = 180;

/// A database failure, logged in full and said briefly.
pub fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "console request failed");
    refused(
        StatusCode::INTERNAL_SERVER_ERROR,
        "the console could not read the database; try again (details are in the server's log)",
    )
}

fn not_found() -> Response {
    refused(StatusCode::NOT_FOUND, "no such campaign")
}

/// The part of the page that is refreshed live.
fn live_part(
    c: &ConsoleCampaign,
    groups: &[ErrorGroup],
    series: &[(DateTime<Utc>, i64)],
    account_rate: f64,
) -> Markup {
    let now = Utc::now();
    let (status, class) = view::status(c, now);
    let e = estimate(c, account_rate, now);
    let total = c.total().max(1);
    html! {
        p {
            span class={"status " (class)} #campaign-status data-status=(c.status) { (status) }
            " · " span #sent-count { (c.count("sent")) } " sent of " (c.total())
            " · " (c.sent_last_minute) " in the last minute"
            @if let (Some(t), true) = (e.finish_at, c.left() > 0) {
                " · about " (view::duration((t - now).num_seconds())) " left"
            }
        }
        @if c.status == "paused" {
            @let reason = c.pause_reason.as_deref().unwrap_or("");
            @let (plain, todo) = view::pause_advice(reason);
            div.notice role="status" { p { strong { (plain) } " " (todo) } p.small { "Reason recorded: " (reason) } }
        }
        @if c.status == "draft" {
            div.notice role="status" { p { strong { "Nothing is sent until someone approves this campaign." } " Check the manifest and the counts below, then press Approve." } }
        }
        (view::progress(&c.counts))
        div.cols {
            section aria-labelledby="counts-h" {
                h2 #counts-h { "Recipients by state" }
                table.counts {
                    thead { tr { th scope="col" { "State" } th.num scope="col" { "Recipients" } th.num scope="col" { "Share" } } }
                    tbody {
                        @for (s, n) in STATES.iter().zip(c.counts) {
                            tr data-state=(s) {
                                th scope="row" { svg.key viewBox="0 0 10 10" aria-hidden="true" { rect class={"s-" (s)} width="10" height="10" {} } " " (s) }
                                td.num { (n) }
                                td.num { (format!("{:.1} %", n as f64 * 100.0 / total as f64)) }
                            }
                        }
                        tr { th scope="row" { "total" } td.num { (c.total()) } td {} }
                    }
                }
            }
            section aria-labelledby="chart-h" {
                h2 #chart-h { "Sends per minute" }
                (chart(series))
            }
        }
        section aria-labelledby="errors-h" {
            h2 #errors-h { "What did not get through" }
            @if groups.is_empty() {
                p.muted { "Nothing failed so far." }
            } @else {
                table.errors {
                    thead { tr {
                        th scope="col" { "Recipients" } th scope="col" { "Kind" } th scope="col" { "What the server said" }
                        th scope="col" { "Example number" } th scope="col" { "What to do" }
                    } }
                    tbody {
                        @for g in groups {
                            @let outcome = g.outcome.as_deref().unwrap_or("");
                            @let message = g.message.as_deref().unwrap_or("");
                            tr {
                                td.num { (g.recipients) }
                                td { (outcome) }
                                td { @if let Some(r) = &g.remark { code { (r) } " " } (message) }
                                td { (g.example_mobile.as_deref().unwrap_or("")) }
                                td { (view::error_advice(outcome, message)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Bars of messages sent per minute (an inline SVG).
pub fn chart(series: &[(DateTime<Utc>, i64)]) -> Markup {
    let (w, h) = (600.0f64, 160.0f64);
    let Some((first, last)) = series.first().zip(series.last()) else {
        return html! { p.muted { "Nothing sent yet." } };
    };
    let minutes = ((last.0 - first.0).num_minutes() + 1).max(1) as f64;
    let max = series.iter().map(|p| p.1).max().unwrap_or(1).max(1) as f64;
    let bar = (w - 40.0) / minutes;
    let label = format!(
        "Sends per minute from {} to {}, at most {} a minute",
        first.0.format("%H:%M"),
        last.0.format("%H:%M UTC"),
        max
    );
    html! {
        svg.chart viewBox={"0 0 " (w) " " (h + 20.0)} role="img" aria-label=(label) {
            line.axis x1="40" y1=(h) x2=(w) y2=(h) {}
            text.tick x="36" y="12" text-anchor="end" { (max) }
            text.tick x="36" y=(h) text-anchor="end" { "0" }
            text.tick x="40" y=(h + 16.0) { (first.0.format("%H:%M")) }
            text.tick x=(w) y=(h + 16.0) text-anchor="end" { (last.0.format("%H:%M UTC")) }
            @for (t, n) in series {
                @let x = 40.0 + (*t - first.0).num_minutes() as f64 * bar;
                @let bh = *n as f64 / max * (h - 10.0);
                rect.sends x=(format!("{x:.1}")) y=(format!("{:.1}", h - bh)) width=(format!("{:.1}", (bar - 1.0).max(1.0))) height=(format!("{bh:.1}")) {
                    title { (t.format("%H:%M")) ": " (n) }
                }
            }
        }
    }
}

/// The manifest as loaded.
fn manifest(m: &LoadedManifest) -> Markup {
    let keys = m.manifest.as_object().filter(|o| !o.is_empty());
    html! {
        dl.manifest {
            @if let Some(t) = m.template_id { dt { "Template" } dd { (t) } }
            @if let Some(msg) = &m.message_template { dt { "Message" } dd { pre { (msg) } } }
            @if !m.body_variables.is_empty() { dt { "Body variables" } dd { (m.body_variables.join(", ")) } }
            @if !m.header_variables.is_empty() { dt { "Header variables" } dd { (m.header_variables.join(", ")) } }
            @if let Some(f) = &m.from_number { dt { "From" } dd { (f) } }
            dt { "Attempts at most" } dd { (m.max_attempts) }
        }
        @match keys {
            Some(o) => {
                h3 { "Every key, as written" }
                dl.manifest {
                    @for (k, v) in o {
                        dt { code { (k) } }
                        dd { (match v { serde_json::Value::String(s) => s.clone(), other => other.to_string() }) }
                    }
                }
            },
            None => p.muted { "Loaded without a manifest: each row says its template or message." },
        }
    }
}

fn actions(c: &ConsoleCampaign, csrf: &str) -> Markup {
    let url = |a: &str| format!("/campaigns/{}/{a}", c.id);
    html! {
        div.actions {
            @match c.status.as_str() {
                "draft" => {
                    (view::action_button(&url("approve"), csrf, "Approve and send", "primary", None))
                    (view::action_button(&url("cancel"), csrf, "Cancel", "danger", Some("Cancel this campaign? Nothing of it will be sent.")))
                },
                "active" => {
                    (view::action_button(&url("pause"), csrf, "Pause", "", None))
                    (view::action_button(&url("cancel"), csrf, "Cancel", "danger", Some("Cancel this campaign? Its unsent recipients will never be sent.")))
                },
                "paused" => {
                    (view::action_button(&url("resume"), csrf, "Resume", "primary", None))
                    (view::action_button(&url("cancel"), csrf, "Cancel", "danger", Some("Cancel this campaign? Its unsent recipients will never be sent.")))
                },
                _ => {},
            }
            @if c.status != "cancelled" {
                @if c.count("failed") > 0 {
                    (view::action_button(&url("requeue-failed"), csrf, &format!("Requeue {} failed", c.count("failed")), "", Some("Send the failed recipients again?")))
                }
                @if c.count("unknown") > 0 {
                    (view::action_button(&url("requeue-unknown"), csrf, &format!("Requeue {} unknown", c.count("unknown")), "", Some("These may have been sent already. Send them again anyway?")))
                }
            }
        }
    }
}

async fn load(
    state: &Shared,
    id: i64,
) -> Result<(ConsoleCampaign, Vec<ErrorGroup>, Vec<(DateTime<Utc>, i64)>), Response> {
    let c = data::campaign(&state.pool, id)
        .await
        .map_err(internal)?
        .ok_or_else(not_found)?;
    let groups = error_groups(&state.pool, Some(id))
        .await
        .map_err(internal)?;
    let series = data::sends_per_minute(&state.pool, id, CHART_MINUTES)
        .await
        .map_err(internal)?;
    Ok((c, groups, series))
}

/// `GET /campaigns/{id}`
pub async fn page(State(state): State<Shared>, Path(id): Path<i64>) -> Response {
    let (c, groups, series) = match load(&state, id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let m = match data::manifest(&state.pool, id).await {
        Ok(Some(m)) => m,
        Ok(None) => return not_found(),
        Err(e) => return internal(e),
    };
    let csrf = state.auth.csrf();
    view::page(
        &c.name,
        Nav::Campaigns,
        Some(csrf),
        html! {
            p.crumbs { a href="/" { "Campaigns" } " › " (c.name) }
            h1 { (c.name) }
            p.muted { "#" (c.id) " · loaded from " (c.source_file) " on " (view::time(Some(c.created_at)))
                " · started " (view::time(c.started_at)) " · finished " (view::time(c.finished_at)) }
            (actions(&c, csrf))
            div #campaign-live data-live={"/live/campaigns/" (c.id)} aria-live="polite" {
                (live_part(&c, &groups, &series, state.account_rate))
            }
            section aria-labelledby="manifest-h" {
                h2 #manifest-h { "Manifest as loaded" }
                (manifest(&m))
            }
            section aria-labelledby="export-h" {
                h2 #export-h { "Recipients" }
                p {
                    a.button href={"/campaigns/" (c.id) "/recipients.csv"} download { "Download every recipient (CSV)" }
                    " "
                    a.button href={"/campaigns/" (c.id) "/recipients.csv?delimiter=%3B"} download { "… for Excel with ; (most of Europe)" }
                }
                p.muted.small { "Opens safely in Excel: formulas are neutralised, text stays text." }
            }
        },
    )
    .into_response()
}

/// `GET /live/campaigns/{id}`
pub async fn live(State(state): State<Shared>, Path(id): Path<i64>) -> Response {
    match load(&state, id).await {
        Ok((c, groups, series)) => {
            live_part(&c, &groups, &series, state.account_rate).into_response()
        }
        Err(r) => r,
    }
}

#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    delimiter: Option<String>,
}

/// `GET /campaigns/{id}/recipients.csv`: the report's Excel-safe export,
/// spooled to a temporary file and streamed (a 1M-row campaign is never in memory).
pub async fn export(
    State(state): State<Shared>,
    Path(id): Path<i64>,
    Query(q): Query<ExportQuery>,
) -> Response {
    let style = match q.delimiter.as_deref() {
        None => CsvStyle::default(),
        Some(d) => match CsvStyle::with_delimiter(d) {
            Ok(s) => s,
            Err(e) => return refused(StatusCode::BAD_REQUEST, &e),
        },
    };
    let c = match data::campaign(&state.pool, id).await {
        Ok(Some(c)) => c,
        Ok(None) => return not_found(),
        Err(e) => return internal(e),
    };
    let spool = match tempfile::tempfile() {
        Ok(f) => f,
        Err(e) => return internal(e),
    };
    let filter = RecipientFilter {
        campaign_id: Some(id),
        state: None,
    };
    let mut out = std::io::BufWriter::new(spool);
    if let Err(e) = write_recipients_with(&state.pool, &filter, Format::Csv, style, &mut out).await
    {
        return internal(format!("{e:#}"));
    }
    let file = match out
        .into_inner()
        .map_err(|e| e.into_error())
        .and_then(|mut f| {
            use std::io::Seek as _;
            f.rewind().map(|_| f)
        }) {
        Ok(f) => f,
        Err(e) => return internal(e),
    };
    let stream = tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file));
    let safe: String = c
        .name
        .chars()
        .map(|ch| {
            if ch.is_ascii_alphanumeric() || ch == '-' || ch == '_' {
                ch
            } else {
                '_'
            }
        })
        .collect();
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}-{safe}-recipients.csv\"", c.id),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

/// `POST /campaigns/{id}/{action}`: pause, resume, cancel, approve,
/// requeue-failed, requeue-unknown — each through the queue's own functions.
pub async fn act(
    State(state): State<Shared>,
    Extension(authed): Extension<Authed>,
    Path((id, action)): Path<(i64, String)>,
    f: Result<Form<super::auth::CsrfForm>, FormRejection>,
) -> Response {
    if let Some(r) = check_csrf(
        &state,
        authed,
        f.as_ref().ok().and_then(|f| f.csrf.as_deref()),
    ) {
        return r;
    }
    let pool = &state.pool;
    let c = match data::campaign(pool, id).await {
        Ok(Some(c)) => c,
        Ok(None) => return not_found(),
        Err(e) => return internal(e),
    };
    let done: Result<bool, sqlx::Error> = match action.as_str() {
        "pause" => control::pause(pool, id, "paused on the console").await,
        "resume" => control::resume(pool, id).await,
        "approve" => crate::queue::console::approve(pool, id).await,
        "cancel" if c.status == "draft" => crate::queue::console::cancel_draft(pool, id)
            .await
            .map(|n| n.is_some()),
        "cancel" => control::cancel(pool, id).await.map(|_| true),
        "requeue-failed" | "requeue-unknown" => {
            let which = if action == "requeue-failed" {
                RequeueState::Failed
            } else {
                RequeueState::Unknown
            };
            match control::requeue(pool, id, which).await {
                Ok(n) if n > 0 => crate::queue::throttle::notify_work(pool)
                    .await
                    .map(|_| true),
                other => other.map(|n| n > 0),
            }
        }
        _ => return refused(StatusCode::NOT_FOUND, "no such action"),
    };
    match done {
        Ok(changed) => {
            tracing::info!(campaign = id, %action, changed, "console action");
            Redirect::to(&format!("/campaigns/{id}")).into_response()
        }
        Err(e) => internal(e),
    }
}
