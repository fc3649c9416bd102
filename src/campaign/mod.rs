//! Pure campaign domain code: the manifest, CSV decoding, phone numbers and
//! message rendering. No I/O beyond reading the files it is given; tested
//! without a database.
//!
//! - [`file`]: opening files named by outside input (regular files only,
//!   bounded reads).
//! - [`csv`]: decodes what spreadsheets export (encodings, delimiters, quoting)
//!   into a stream of rows.
//! - [`manifest`]: `NAME.toml`, the campaign's settings.
//! - [`media`]: [`media::MediaKind`], the kinds of media a campaign sends.
//! - [`phone`]: [`phone::PhoneNumber`], a number that is already normalised.
//! - [`render`]: `{{column}}` placeholders.
//! - [`plan`]: one CSV row → one planned recipient (ready or invalid, with the reason).
//! - [`status`]: [`status::RecipientState`] and [`status::CampaignStatus`].
//! - [`settings`]: the one conversion from a validated manifest to the
//!   settings a campaign is inserted with.

pub mod csv;
pub mod file;
pub mod manifest;
pub mod media;
pub mod phone;
pub mod plan;
pub mod render;
pub mod settings;
pub mod status;

use std::fmt;

/// One problem found in a campaign file, located as precisely as possible so
/// a marketer can fix it: `line 12, column "phone", value "12ab": not a phone
/// number`, or for the manifest `list.toml line 3, key "rate_per_second",
/// value "fast": must be a number`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The manifest's file name (`list.toml`) when the problem is one of the
    /// manifest; `None` for the CSV (and for manifest text parsed without a file).
    pub manifest: Option<String>,
    /// Physical line in the file (1-based), when the problem is on a line.
    pub line: Option<u64>,
    /// Column (header name) or manifest key.
    pub column: Option<String>,
    /// The offending value, shortened for display.
    pub value: Option<String>,
    pub reason: String,
}

impl Problem {
    pub fn file(reason: impl Into<String>) -> Problem {
        Problem {
            manifest: None,
            line: None,
            column: None,
            value: None,
            reason: reason.into(),
        }
    }

    /// The same problem, named as one of the manifest `file_name`.
    pub fn in_manifest(self, file_name: &str) -> Problem {
        Problem {
            manifest: Some(file_name.to_string()),
            ..self
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        match (&self.manifest, self.line) {
            (Some(file), Some(line)) => parts.push(format!("{file} line {line}")),
            (Some(file), None) => parts.push(file.clone()),
            (None, Some(line)) => parts.push(format!("line {line}")),
            (None, None) => {}
        }
        if let Some(column) = &self.column {
            let what = if self.manifest.is_some() {
                "key"
            } else {
                "column"
            };
            parts.push(format!("{what} {column:?}"));
        }
        if let Some(value) = &self.value {
            let short: String = value.chars().take(60).collect();
            let ellipsis = if value.chars().count() > 60 {
                "…"
            } else {
                ""
            };
            parts.push(format!("value {short:?}{ellipsis}"));
        }
        if parts.is_empty() {
            write!(f, "{}", self.reason)
        } else {
            write!(f, "{}: {}", parts.join(", "), self.reason)
        }
    }
}
