//! `NAME.toml`: a campaign's settings. Unknown keys are errors, so a typo
//! never silently drops a setting.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::Problem;

/// The manifest as written. Every key is optional; a CSV without a manifest
/// gets `Manifest::default()` (and then needs per-row `template_id` or `message`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: Option<String>,
    pub template_id: Option<i64>,
    /// Text with `{{column}}` placeholders.
    pub message: Option<String>,
    pub from_number: Option<String>,
    pub start_at: Option<DateTime<Utc>>,
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
}

/// Daily hours in which a campaign may send, in the given IANA timezone.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendWindow {
    /// `HH:MM`
    pub start: String,
    /// `HH:MM`
    pub end: String,
    /// IANA name, e.g. `Asia/Dhaka`.
    pub timezone: String,
}

impl Manifest {
    /// Reads and checks a manifest. Every problem is reported, not only the first.
    pub fn load(path: &Path) -> Result<Manifest, Vec<Problem>> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            vec![Problem::file(format!(
                "cannot read {}: {e}",
                path.display()
            ))]
        })?;
        Manifest::parse(&text)
    }

    /// Parses and checks manifest text.
    pub fn parse(text: &str) -> Result<Manifest, Vec<Problem>> {
        toml::from_str(text).map_err(|e| vec![Problem::file(format!("manifest: {e}"))])
    }
}
