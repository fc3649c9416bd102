//! The campaigns page: every campaign with its status (and, when paused, the
//! reason in plain words and what to do), a progress bar split by state, the
//! sends of the last minute, the time left and started/finished times. Its
//! rows are refreshed live from `/live/campaigns`; `/api/campaigns` gives the
//! same as JSON.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use serde::Serialize;

use super::eta::{Window, finish_at};
use super::view::{self, Nav};
use super::{Shared, campaign::internal};
use crate::report::STATES;
use crate::report::console::{self as data, ConsoleCampaign};

/// How fast a campaign goes now and when it will be done.
#[derive(Debug, Clone, Serialize)]
pub struct Estimate {
    /// Messages per second it gets (observed, else its limits).
    pub rate: f64,
    pub finish_at: Option<DateTime<Utc>>,
    /// Active but outside its send window now.
    pub window_closed: bool,
}

/// The estimate of one campaign at `now`, with the account's rate limit.
pub fn estimate(c: &ConsoleCampaign, account_rate: f64, now: DateTime<Utc>) -> Estimate {
    let limit = c.rate_per_second.unwrap_or(f64::INFINITY).min(account_rate);
    let window = Window::of(
        c.send_window_start,
        c.send_window_end,
        c.send_window_tz.as_deref(),
    );
    let window_closed = c.status == "active" && window.is_some_and(|w| !w.is_open(now));
    let since_start = c.started_at.map_or(60.0, |s| {
        ((now - s).num_milliseconds() as f64 / 1000.0).clamp(1.0, 60.0)
    });
    let observed = c.sent_last_minute as f64 / since_start;
    let rate = if c.status == "active" && observed > 0.0 && !window_closed {
        observed.min(limit)
    } else {
        limit
    };
    let finish = match c.status.as_str() {
        "active" | "paused" | "draft" => {
            finish_at(c.left(), rate, now, c.start_at, window.as_ref())
        }
        _ => None,
    };
    Estimate {
        rate,
        finish_at: finish,
        window_closed,
    }
}

/// The time-left cell.
fn time_left(c: &ConsoleCampaign, e: &Estimate, now: DateTime<Utc>) -> Markup {
    html! {
        @match (c.status.as_str(), e.finish_at) {
            ("completed" | "cancelled", _) => span.muted { "—" },
            (_, _) if c.left() == 0 => span.muted { "—" },
            (_, Some(t)) => {
                span { (view::duration((t - now).num_seconds())) }
                @if c.status != "active" { " " span.muted { "once running" } }
                @if e.window_closed { br; span.muted { "window closed now" } }
                br; span.muted.small { "at " (format!("{:.1}", e.rate)) "/s" }
            },
            (_, None) => span.muted { "unknown" },
        }
    }
}

/// One row of the table.
pub fn row(c: &ConsoleCampaign, account_rate: f64, now: DateTime<Utc>) -> Markup {
    let (status, class) = view::status(c, now);
    let e = estimate(c, account_rate, now);
    let done = c.total() - c.left();
    html! {
        tr id={"campaign-" (c.id)} data-status=(c.status) data-sent=(c.count("sent")) {
            td.name data-label="Campaign" {
                a href={"/campaigns/" (c.id)} { (c.name) }
                br; span.muted.small { "#" (c.id) " · " (c.source_file) }
            }
            td data-label="Status" {
                span class={"status " (class)} { (status) }
                @if c.status == "paused" {
                    @let reason = c.pause_reason.as_deref().unwrap_or("");
                    @let (plain, todo) = view::pause_advice(reason);
                    p.reason { (plain) " " strong { (todo) } }
                    @if !reason.is_empty() { p.muted.small { "Reason: " (reason) } }
                }
            }
            td.progress data-label="Progress" {
                (view::progress(&c.counts))
                span.small {
                    span.sent-count { (c.count("sent")) } " sent of " (c.total())
                    @if c.left() > 0 { " · " (c.left()) " to go" }
                    @if done > c.count("sent") { " · " (done - c.count("sent")) " not sent" }
                }
            }
            td.num data-label="Sends/min" { (c.sent_last_minute) }
            td data-label="Time left" { (time_left(c, &e, now)) }
            td data-label="Started" { (view::time(c.started_at)) }
            td data-label="Finished" { (view::time(c.finished_at)) }
        }
    }
}

fn rows(cs: &[ConsoleCampaign], account_rate: f64) -> Markup {
    let now = Utc::now();
    html! {
        @for c in cs { (row(c, account_rate, now)) }
        @if cs.is_empty() {
            tr { td colspan="7" { "No campaigns yet. Drop a CSV into the inbox, or upload one on the " a href="/inbox" { "Inbox" } " page." } }
        }
    }
}

fn legend() -> Markup {
    html! {
        ul.legend aria-label="Colours of the progress bar" {
            @for s in STATES {
                li { svg.key viewBox="0 0 10 10" aria-hidden="true" { rect class={"s-" (s)} width="10" height="10" {} } " " (s) }
            }
        }
    }
}

/// `GET /`
pub async fn page(State(state): State<Shared>) -> Response {
    let cs = match data::campaigns(&state.pool).await {
        Ok(cs) => cs,
        Err(e) => return internal(e),
    };
    let mode = if state.sending {
        "This console runs beside the runner: campaigns send while it is open."
    } else {
        "This console only shows and controls: a runner elsewhere (`wutt-campaign run`) sends."
    };
    view::page(
        "Campaigns",
        Nav::Campaigns,
        Some(state.auth.csrf()),
        html! {
            h1 { "Campaigns" }
            p.muted { (mode) " Updates every second." }
            (legend())
            table.campaigns {
                caption.visually-hidden { "Every campaign, newest first" }
                thead { tr {
                    th scope="col" { "Campaign" } th scope="col" { "Status" } th scope="col" { "Progress" }
                    th scope="col" { "Sends/min" } th scope="col" { "Time left" }
                    th scope="col" { "Started" } th scope="col" { "Finished" }
                } }
                tbody #campaign-rows data-live="/live/campaigns" aria-live="polite" {
                    (rows(&cs, state.account_rate))
                }
            }
        },
    )
    .into_response()
}

/// `GET /live/campaigns`: the rows of the table.
pub async fn live(State(state): State<Shared>) -> Response {
    match data::campaigns(&state.pool).await {
        Ok(cs) => rows(&cs, state.account_rate).into_response(),
        Err(e) => internal(e),
    }
}

/// One campaign in `/api/campaigns`.
#[derive(Debug, Serialize)]
pub struct ApiCampaign<'a> {
    #[serde(flatten)]
    pub campaign: &'a ConsoleCampaign,
    pub states: std::collections::BTreeMap<&'static str, i64>,
    pub total: i64,
    pub status_text: String,
    pub estimate: Estimate,
}

/// `GET /api/campaigns`: the page's data as JSON.
pub async fn api(State(state): State<Shared>) -> Response {
    let cs = match data::campaigns(&state.pool).await {
        Ok(cs) => cs,
        Err(e) => return internal(e),
    };
    let now = Utc::now();
    let out: Vec<ApiCampaign<'_>> = cs
        .iter()
        .map(|c| ApiCampaign {
            campaign: c,
            states: STATES.iter().copied().zip(c.counts).collect(),
            total: c.total(),
            status_text: view::status(c, now).0,
            estimate: estimate(c, state.account_rate, now),
        })
        .collect();
    Json(out).into_response()
}
