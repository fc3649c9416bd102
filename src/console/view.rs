//! The page layout every console page shares, the embedded stylesheet and
//! script (no external assets: the console works on an offline server), and
//! small pieces of pages: the progress bar, times, statuses and reasons in
//! plain words.

use axum::http::header;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};

use crate::report::STATES;
use crate::report::console::ConsoleCampaign;

const STYLE: &str = include_str!("style.css");
const SCRIPT: &str = include_str!("live.js");

pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        STYLE,
    )
}

pub async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        SCRIPT,
    )
}

/// Which page of the navigation is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Campaigns,
    Inbox,
    None,
}

/// A whole page.
pub fn page(title: &str, nav: Nav, csrf: Option<&str>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · wutt-campaign" }
                link rel="stylesheet" href="/style.css";
                script src="/live.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    span.brand { "wutt-campaign" }
                    nav aria-label="Main" {
                        a href="/" aria-current=[(nav == Nav::Campaigns).then_some("page")] { "Campaigns" }
                        a href="/inbox" aria-current=[(nav == Nav::Inbox).then_some("page")] { "Inbox" }
                    }
                    @if let Some(csrf) = csrf {
                        form.logout method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(csrf);
                            button.link type="submit" { "Log out" }
                        }
                    }
                }
                main #main { (body) }
            }
        }
    }
}

/// The login page (no session yet).
pub fn login_page(problem: Option<&str>) -> Markup {
    page(
        "Log in",
        Nav::None,
        None,
        html! {
            h1 { "Log in to the console" }
            p { "Open the link the console printed when it started, or enter its token (WUTT_CONSOLE_TOKEN)." }
            @if let Some(p) = problem { p.problem role="alert" { (p) } }
            form.login method="post" action="/login" {
                label for="token" { "Console token" }
                input #token type="password" name="token" autocomplete="current-password" required;
                button type="submit" { "Log in" }
            }
        },
    )
}

/// A hidden CSRF field and a button, posting to `action`.
pub fn action_button(
    action: &str,
    csrf: &str,
    label: &str,
    class: &str,
    confirm: Option<&str>,
) -> Markup {
    html! {
        form.action method="post" action=(action) data-confirm=[confirm] {
            input type="hidden" name="csrf" value=(csrf);
            button class=(class) type="submit" { (label) }
        }
    }
}

/// The bar of a campaign's recipients, one segment per state (an inline SVG:
/// no inline styles, so the page's CSP can forbid them).
pub fn progress(counts: &[i64; 11]) -> Markup {
    let total: i64 = counts.iter().sum();
    let mut x = 0.0f64;
    let mut segments = Vec::new();
    for (state, n) in STATES.iter().zip(counts) {
        if *n > 0 && total > 0 {
            let w = *n as f64 * 1000.0 / total as f64;
            segments.push((*state, format!("{x:.1}"), format!("{w:.1}")));
            x += w;
        }
    }
    let label = STATES
        .iter()
        .zip(counts)
        .filter(|(_, n)| **n > 0)
        .map(|(s, n)| format!("{n} {s}"))
        .collect::<Vec<_>>()
        .join(", ");
    html! {
        svg.bar viewBox="0 0 1000 12" preserveAspectRatio="none" role="img"
            aria-label=(if total == 0 { "no recipients".to_string() } else { label }) {
            rect.track x="0" y="0" width="1000" height="12" {}
            @for (state, x, w) in &segments {
                rect class={"s-" (state)} x=(x) y="0" width=(w) height="12" {}
            }
        }
    }
}

/// A time for people: `2026-12-02 04:30 UTC`, in a `<time>` element.
pub fn time(t: Option<DateTime<Utc>>) -> Markup {
    match t {
        Some(t) => html! {
            time datetime=(t.to_rfc3339()) { (t.format("%Y-%m-%d %H:%M UTC")) }
        },
        None => html! { span.muted { "—" } },
    }
}

/// A duration for people: `3 h 12 min`, `45 s`.
pub fn duration(secs: i64) -> String {
    let secs = secs.max(0);
    match secs {
        0..=59 => format!("{secs} s"),
        60..=3599 => format!("{} min", (secs + 59) / 60),
        3600..=86_399 => format!("{} h {} min", secs / 3600, (secs % 3600) / 60),
        _ => format!("{} d {} h", secs / 86_400, (secs % 86_400) / 3600),
    }
}

/// The status in words, and its CSS class.
pub fn status(c: &ConsoleCampaign, now: DateTime<Utc>) -> (String, &'static str) {
    match c.status.as_str() {
        "draft" => ("draft — waiting for approval".into(), "st-draft"),
        "active" if c.start_at > now => (
            format!(
                "scheduled — starts {}",
                c.start_at.format("%Y-%m-%d %H:%M UTC")
            ),
            "st-scheduled",
        ),
        "active" if c.left() == 0 && c.total() > 0 => ("finishing".into(), "st-active"),
        "active" => ("active".into(), "st-active"),
        "paused" => ("paused".into(), "st-paused"),
        "completed" => ("done".into(), "st-done"),
        "cancelled" => ("cancelled".into(), "st-cancelled"),
        other => (other.to_string(), "st-other"),
    }
}

/// A pause reason in plain words, and what to do about it.
pub fn pause_advice(reason: &str) -> (&'static str, &'static str) {
    let r = reason.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| r.contains(w));
    if has(&["command line", "console", "by hand", "paused by"]) {
        ("Someone paused it.", "Resume it when you are ready.")
    } else if has(&["whitelist", "ip address", "firewall"]) {
        (
            "Wutt refused this server's address.",
            "Add the server's IP address to the whitelist in the Wutt dashboard, then resume.",
        )
    } else if has(&["credential", "client_id", "client-id", "unauthor", "secret"]) {
        (
            "Wutt did not accept the account's credentials.",
            "Ask the operator to check WUTT_CLIENT_ID and the secret, then resume.",
        )
    } else if has(&["plan", "subscription"]) {
        (
            "The Wutt plan does not allow this.",
            "Renew or upgrade the Wutt plan, then resume.",
        )
    } else if has(&["template"]) {
        (
            "The template is missing or not approved.",
            "Check the template in the Wutt dashboard (approved, same variables), then resume.",
        )
    } else if has(&["whatsapp number", "whatsapp account", "connect"]) {
        (
            "No WhatsApp number is connected to the account.",
            "Connect a WhatsApp number in the Wutt dashboard, then resume.",
        )
    } else if has(&[
        "unreachable",
        "base_url",
        "timed out",
        "timeout",
        "connection",
        "server",
    ]) {
        (
            "The Wutt server could not be reached or kept failing.",
            "Wait a few minutes (or ask the operator to check the network), then resume.",
        )
    } else {
        (
            "Sending stopped because Wutt refused the campaign.",
            "Read the reason below; fix it, then resume.",
        )
    }
}

/// What to do about a group of recipients that did not get the message.
pub fn error_advice(outcome: &str, message: &str) -> &'static str {
    let m = message.to_ascii_lowercase();
    match outcome {
        "invalid" => "Fix these rows in the spreadsheet and drop them again as a new file.",
        "unknown" | "ambiguous" => {
            "May or may not have been sent. Run `reconcile` to settle them, or Requeue unknown to send again."
        }
        "transient" | "throttled" => {
            "Temporary failures used up the attempts: Requeue failed to try again later."
        }
        "account_refused" | "campaign_refused" => {
            "The account or campaign was refused: fix the cause (see the pause reason), then Requeue failed."
        }
        _ if m.contains("whatsapp") || m.contains("not a valid") || m.contains("mobile") => {
            "The number cannot receive WhatsApp messages; remove it from future lists."
        }
        _ if m.contains("block") => "The recipient blocked the business number; do not send again.",
        _ => {
            "Refused for these recipients; check the message and the numbers, then Requeue failed if it was fixable."
        }
    }
}
