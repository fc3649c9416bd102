//! `NAME.toml`: a campaign's settings. Unknown keys are errors, so a typo
//! never silently drops a setting, and every problem of the file is reported
//! at once, each naming its key (and, read from a file, the file): the text is
//! read key by key by [`read`], then checked by [`Manifest::validate`]. Media
//! paths are resolved by [`media`].
//!
//! Rules where the design is silent: `start_at`/`expires_at` may be TOML
//! datetimes or RFC 3339 strings but need a UTC offset; `rate_per_second` is
//! in (0, 1000]; a send window with `end` before `start` runs over midnight
//! and one with `end == start` is refused (empty or whole day is ambiguous);
//! `template_id` sends an approved template, so it excludes `message`, media,
//! location and interactive keys.
//!
//! Template variables (`body_variables`, `header_variables`) are texts with
//! `{{column}}` placeholders, one per `{{n}}` of the template, in order. They
//! fill a template, so they exclude the text keys too; that some template is
//! sent at all (`template_id` here or a `template_id` column) is checked
//! against the CSV header by the planner, and their count against the
//! template by ingest. A text that cannot render to a value WhatsApp accepts
//! on any row (empty, a line break or tab, more than 4 spaces in a row) is a
//! problem of the manifest. `create_contacts` makes each recipient a Wutt
//! contact before a text is sent (its `firstname`/`lastname` columns).

mod media;
pub mod read;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveTime, Utc};
use chrono_tz::Tz;

use super::Problem;
pub use media::ResolvedMedia;

/// No manifest is larger (a few settings; anything bigger is not one).
pub const MAX_MANIFEST_BYTES: u64 = 1 << 20;

/// The manifest as written. Every key is optional; a CSV without a manifest
/// gets `Manifest::default()` (and then needs per-row `template_id` or `message`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Manifest {
    pub name: Option<String>,
    pub template_id: Option<i64>,
    /// Text with `{{column}}` placeholders.
    pub message: Option<String>,
    pub from_number: Option<String>,
    pub start_at: Option<DateTime<Utc>>,
    /// A time-bound offer: not sent after this instant.
    pub expires_at: Option<DateTime<Utc>>,
    pub rate_per_second: Option<f64>,
    pub max_attempts: Option<u32>,
    pub send_window: Option<SendWindow>,
    pub image: Option<PathBuf>,
    pub document: Option<PathBuf>,
    pub video: Option<PathBuf>,
    pub audio: Option<PathBuf>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub cta_url_id: Option<i64>,
    pub interactive_list_id: Option<i64>,
    /// The template's body parameters `{{1}}`, `{{2}}`, … in order, as texts
    /// with `{{column}}` placeholders.
    pub body_variables: Option<Vec<String>>,
    /// The template header's parameters, likewise.
    pub header_variables: Option<Vec<String>>,
    /// Make each recipient a Wutt contact (from its `firstname` / `lastname`
    /// columns) before sending: free-form text reaches only contacts.
    pub create_contacts: bool,
    /// The campaign loads as a `draft` and is not sent until a person approves
    /// it (on the console or with `campaign approve`). The database reads it
    /// from the stored manifest (`migrations/0009_console.sql`).
    pub require_approval: bool,
}

/// WhatsApp refuses a template parameter with more spaces in a row (132018).
pub const MAX_PARAM_SPACES: usize = 4;

/// Daily hours in which a campaign may send, in the given IANA timezone.
#[derive(Debug, Clone, PartialEq)]
pub struct SendWindow {
    /// `HH:MM`
    pub start: String,
    /// `HH:MM`
    pub end: String,
    /// IANA name, e.g. `Asia/Dhaka`.
    pub timezone: String,
}

impl Manifest {
    /// Reads and checks a manifest. Every problem is reported, not only the
    /// first, each naming the file.
    pub fn load(path: &Path) -> Result<Manifest, Vec<Problem>> {
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        let text = super::file::read_text(path, MAX_MANIFEST_BYTES).map_err(|e| {
            vec![Problem::file(format!("cannot read: {e}")).in_manifest(&file_name)]
        })?;
        Manifest::parse(&text)
            .map_err(|ps| ps.into_iter().map(|p| p.in_manifest(&file_name)).collect())
    }

    /// Parses and checks manifest text. Every problem is returned, in file order.
    pub fn parse(text: &str) -> Result<Manifest, Vec<Problem>> {
        read::read(text)
    }

    /// Checks values the TOML types cannot express. Every problem is returned.
    pub fn validate(&self) -> Result<(), Vec<Problem>> {
        let mut problems = Vec::new();
        let mut bad = |key: &str, value: String, reason: &str| {
            problems.push(Problem {
                manifest: None,
                line: None,
                column: Some(key.to_string()),
                value: (!value.is_empty()).then_some(value),
                reason: reason.to_string(),
            })
        };
        if let Some(name) = &self.name {
            if name.trim().is_empty() {
                bad("name", name.clone(), "must not be empty");
            } else if name.chars().count() > 200 || name.chars().any(char::is_control) {
                bad(
                    "name",
                    name.clone(),
                    "must be one line of at most 200 characters",
                );
            }
        }
        for (key, id) in [
            ("template_id", self.template_id),
            ("cta_url_id", self.cta_url_id),
            ("interactive_list_id", self.interactive_list_id),
        ] {
            if let Some(id) = id.filter(|id| *id <= 0) {
                bad(key, id.to_string(), "must be a positive number");
            }
        }
        for (key, text) in [
            ("message", &self.message),
            ("from_number", &self.from_number),
        ] {
            if let Some(text) = text.as_ref().filter(|t| t.trim().is_empty()) {
                bad(
                    key,
                    text.clone(),
                    "must not be empty (leave the key out instead)",
                );
            }
        }
        if self.template_id.is_some() {
            for key in self.text_keys() {
                bad(
                    key,
                    String::new(),
                    "cannot be combined with template_id: a template is sent as approved; use one or the other",
                );
            }
        }
        for (key, texts) in self.variable_lists() {
            if self.template_id.is_none() && !self.text_keys().is_empty() {
                bad(
                    key,
                    String::new(),
                    "fills a template's placeholders, but this manifest sends a text (message, media, location or interactive): use template_id, or leave the key out",
                );
            }
            for (i, text) in texts.iter().enumerate() {
                if let Some(reason) = param_text_problem(text) {
                    bad(key, text.clone(), &format!("variable {}: {reason}", i + 1));
                }
            }
        }
        if let Some(rate) = self.rate_per_second
            && !(rate > 0.0 && rate <= 1000.0)
        {
            bad(
                "rate_per_second",
                rate.to_string(),
                "must be more than 0 and at most 1000",
            );
        }
        if let Some(n) = self.max_attempts
            && !(1..=100).contains(&n)
        {
            bad("max_attempts", n.to_string(), "must be between 1 and 100");
        }
        if let (Some(start), Some(expires)) = (self.start_at, self.expires_at)
            && expires <= start
        {
            bad("expires_at", expires.to_rfc3339(), "must be after start_at");
        }
        match (self.latitude, self.longitude) {
            (Some(_), None) => bad("longitude", String::new(), "latitude needs longitude too"),
            (None, Some(_)) => bad("latitude", String::new(), "longitude needs latitude too"),
            _ => {}
        }
        if let Some(lat) = self.latitude.filter(|l| !(-90.0..=90.0).contains(l)) {
            bad("latitude", lat.to_string(), "must be between -90 and 90");
        }
        if let Some(lon) = self.longitude.filter(|l| !(-180.0..=180.0).contains(l)) {
            bad("longitude", lon.to_string(), "must be between -180 and 180");
        }
        if let Some(window) = &self.send_window
            && let Err(more) = window.check()
        {
            problems.extend(more);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// The keys that make a `send-message` (text, media, location, interactive).
    pub fn text_keys(&self) -> Vec<&'static str> {
        [
            ("message", self.message.is_some()),
            ("image", self.image.is_some()),
            ("document", self.document.is_some()),
            ("video", self.video.is_some()),
            ("audio", self.audio.is_some()),
            ("latitude", self.latitude.is_some()),
            ("longitude", self.longitude.is_some()),
            ("cta_url_id", self.cta_url_id.is_some()),
            ("interactive_list_id", self.interactive_list_id.is_some()),
        ]
        .into_iter()
        .filter_map(|(key, set)| set.then_some(key))
        .collect()
    }

    /// The template variable lists the manifest sets, with their keys (a list
    /// written empty counts as not set).
    pub fn variable_lists(&self) -> Vec<(&'static str, &[String])> {
        [
            ("body_variables", &self.body_variables),
            ("header_variables", &self.header_variables),
        ]
        .into_iter()
        .filter_map(|(key, list)| Some((key, list.as_deref().filter(|l| !l.is_empty())?)))
        .collect()
    }

    /// Whether something besides text is sent (media, location, interactive),
    /// so a row needs no message of its own.
    pub fn has_non_text_content(&self) -> bool {
        self.text_keys().iter().any(|key| *key != "message")
    }
}

impl SendWindow {
    fn check(&self) -> Result<(), Vec<Problem>> {
        let mut problems = Vec::new();
        let mut bad = |key: &str, value: &str, reason: &str| {
            problems.push(Problem {
                manifest: None,
                line: None,
                column: Some(format!("send_window.{key}")),
                value: Some(value.to_string()),
                reason: reason.to_string(),
            })
        };
        let start = parse_hhmm(&self.start);
        let end = parse_hhmm(&self.end);
        if start.is_none() {
            bad(
                "start",
                &self.start,
                "must be a time of day as HH:MM (24-hour)",
            );
        }
        if end.is_none() {
            bad("end", &self.end, "must be a time of day as HH:MM (24-hour)");
        }
        if start.is_some() && start == end {
            bad("end", &self.end, "equals start: the window would be empty");
        }
        if self.timezone.parse::<Tz>().is_err() {
            bad(
                "timezone",
                &self.timezone,
                "is not an IANA timezone name such as Asia/Dhaka",
            );
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// Whether sending is allowed at `at`. A window whose end is before its
    /// start runs over midnight. An unchecked, malformed window allows nothing.
    pub fn allows(&self, at: DateTime<Utc>) -> bool {
        let (Some(start), Some(end), Ok(tz)) = (
            parse_hhmm(&self.start),
            parse_hhmm(&self.end),
            self.timezone.parse::<Tz>(),
        ) else {
            return false;
        };
        let now = at.with_timezone(&tz).time();
        if start < end {
            start <= now && now < end
        } else {
            now >= start || now < end
        }
    }
}

/// Why a variable text as written can never render to a value WhatsApp
/// accepts, on any row.
fn param_text_problem(text: &str) -> Option<String> {
    if text.trim().is_empty() {
        return Some("must not be empty".into());
    }
    value_problem(text)
}

/// Why a rendered template parameter would be refused or mangled: a line
/// break or tab, or more than [`MAX_PARAM_SPACES`] spaces in a row
/// (WhatsApp, 132018). `None` when it is fine. Emptiness and leftover
/// `{{…}}` are checked on the rendered value by the planner.
pub fn value_problem(value: &str) -> Option<String> {
    if value.contains(['\n', '\r', '\t']) {
        return Some(
            "contains a line break or tab, which WhatsApp refuses in a template variable (132018)"
                .into(),
        );
    }
    let mut run = 0;
    for c in value.chars() {
        run = if c == ' ' { run + 1 } else { 0 };
        if run > MAX_PARAM_SPACES {
            return Some(format!(
                "has more than {MAX_PARAM_SPACES} spaces in a row, which WhatsApp refuses in a template variable (132018)"
            ));
        }
    }
    None
}

fn parse_hhmm(text: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(text.trim(), "%H:%M").ok()
}
