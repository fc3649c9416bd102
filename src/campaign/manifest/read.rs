//! Reading `NAME.toml` key by key, so that one run finds every problem of the
//! file: TOML syntax errors, unknown keys (naming the key meant when a known
//! one is close), values of the wrong type (in words, with an example), and
//! missing parts of `send_window`. The values read are then checked by
//! [`Manifest::validate`]; a key with a problem here is not checked again.
//!
//! A number written in quotes (`template_id = "3"`) is accepted when the text
//! is exactly a number, and so are `"true"` and `"false"` for
//! `create_contacts`: the meaning is unambiguous, and refusing it would only
//! cost a marketer another run. Anything else of the wrong type is explained
//! in words (`must be a whole number, e.g. template_id = 3`).

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::{Manifest, SendWindow};
use crate::campaign::Problem;

/// Every key of a manifest, in the order the README lists them.
pub const KEYS: [&str; 21] = [
    "name",
    "template_id",
    "message",
    "from_number",
    "start_at",
    "expires_at",
    "rate_per_second",
    "max_attempts",
    "send_window",
    "image",
    "document",
    "video",
    "audio",
    "latitude",
    "longitude",
    "cta_url_id",
    "interactive_list_id",
    "body_variables",
    "header_variables",
    "create_contacts",
    "require_approval",
];

/// The keys of `send_window`.
const WINDOW_KEYS: [&str; 3] = ["start", "end", "timezone"];

/// Words people write for a key, and the key they mean.
const ALIASES: [(&str, &str); 15] = [
    ("template", "template_id"),
    ("text", "message"),
    ("from", "from_number"),
    ("sender", "from_number"),
    ("start", "start_at"),
    ("expires", "expires_at"),
    ("expiry", "expires_at"),
    ("rate", "rate_per_second"),
    ("attempts", "max_attempts"),
    ("retries", "max_attempts"),
    ("window", "send_window"),
    ("variables", "body_variables"),
    ("lat", "latitude"),
    ("lng", "longitude"),
    ("tz", "timezone"),
];

/// An example of a correct value, for the problem's words.
fn example(key: &str) -> &'static str {
    match key {
        "name" => "name = \"Eid offer\"",
        "template_id" => "template_id = 3",
        "message" => "message = \"Hi {{firstname}}\"",
        "from_number" => "from_number = \"+8801700000000\"",
        "start_at" => "start_at = 2026-12-01T09:00:00+06:00",
        "expires_at" => "expires_at = 2026-12-03T00:00:00+06:00",
        "rate_per_second" => "rate_per_second = 5",
        "max_attempts" => "max_attempts = 3",
        "send_window" => {
            "send_window = { start = \"09:00\", end = \"20:00\", timezone = \"Asia/Dhaka\" }"
        }
        "image" => "image = \"banner.png\"",
        "document" => "document = \"terms.pdf\"",
        "video" => "video = \"clip.mp4\"",
        "audio" => "audio = \"note.mp3\"",
        "latitude" => "latitude = 23.81",
        "longitude" => "longitude = 90.41",
        "cta_url_id" => "cta_url_id = 2",
        "interactive_list_id" => "interactive_list_id = 2",
        "body_variables" => "body_variables = [\"{{firstname}}\", \"{{order_id}}\"]",
        "header_variables" => "header_variables = [\"{{firstname}}\"]",
        "create_contacts" => "create_contacts = true",
        "require_approval" => "require_approval = true",
        "send_window.start" => "start = \"09:00\"",
        "send_window.end" => "end = \"20:00\"",
        "send_window.timezone" => "timezone = \"Asia/Dhaka\"",
        _ => "",
    }
}

type Value<'i> = Spanned<DeValue<'i>>;
type Key<'i> = Spanned<std::borrow::Cow<'i, str>>;

/// Reads manifest text; `Err` holds every problem found, in file order.
pub(super) fn read(text: &str) -> Result<Manifest, Vec<Problem>> {
    let (doc, errors) = DeTable::parse_recoverable(text);
    let mut r = Reader {
        text,
        problems: Vec::new(),
        lines: HashMap::new(),
    };
    for e in &errors {
        let line = e.span().map(|s| line_of(text, s.start));
        r.problems.push(Problem {
            line,
            ..Problem::file(format!("not valid TOML: {}", e.message().trim()))
        });
    }
    let mut m = Manifest::default();
    for (key, value) in doc.get_ref() {
        let name = key.get_ref().as_ref();
        r.lines
            .insert(name.to_string(), line_of(text, key.span().start));
        match name {
            "name" => m.name = r.text(name, value),
            "template_id" => m.template_id = r.whole(name, value),
            "message" => m.message = r.text(name, value),
            "from_number" => m.from_number = r.text(name, value),
            "start_at" => m.start_at = r.datetime(name, value),
            "expires_at" => m.expires_at = r.datetime(name, value),
            "rate_per_second" => m.rate_per_second = r.number(name, value),
            "max_attempts" => {
                m.max_attempts = r.whole(name, value).map(|n| {
                    // Out of range either way: validate says what the range is.
                    u32::try_from(n).unwrap_or(if n < 0 { 0 } else { u32::MAX })
                })
            }
            "send_window" => m.send_window = r.window(key, value),
            "image" => m.image = r.text(name, value).map(PathBuf::from),
            "document" => m.document = r.text(name, value).map(PathBuf::from),
            "video" => m.video = r.text(name, value).map(PathBuf::from),
            "audio" => m.audio = r.text(name, value).map(PathBuf::from),
            "latitude" => m.latitude = r.number(name, value),
            "longitude" => m.longitude = r.number(name, value),
            "cta_url_id" => m.cta_url_id = r.whole(name, value),
            "interactive_list_id" => m.interactive_list_id = r.whole(name, value),
            "body_variables" => m.body_variables = r.list(name, value),
            "header_variables" => m.header_variables = r.list(name, value),
            "create_contacts" => m.create_contacts = r.boolean(name, value).unwrap_or(false),
            "require_approval" => m.require_approval = r.boolean(name, value).unwrap_or(false),
            other => {
                // A stray `timezone` (or `tz`) belongs in the send window.
                let mut meant: Vec<&str> = KEYS.to_vec();
                meant.push("send_window.timezone");
                r.unknown(other, key, &meant, &KEYS, "")
            }
        }
    }
    // After a syntax error the values recovered may not be what was meant:
    // the syntax errors and the unknown keys are what can be trusted.
    if errors.is_empty()
        && let Err(more) = m.validate()
    {
        let read_wrong: Vec<Option<String>> = r.problems.iter().map(|p| p.column.clone()).collect();
        for p in more {
            if p.column.is_none() || !read_wrong.contains(&p.column) {
                let line = p.line.or_else(|| {
                    let column = p.column.as_deref()?;
                    r.lines
                        .get(column)
                        .copied()
                        .or_else(|| r.lines.get(column.split('.').next()?).copied())
                });
                r.problems.push(Problem { line, ..p });
            }
        }
    }
    if r.problems.is_empty() {
        return Ok(m);
    }
    // File order; problems without a line (checks across keys) last.
    r.problems.sort_by_key(|p| p.line.unwrap_or(u64::MAX));
    Err(r.problems)
}

struct Reader<'t> {
    text: &'t str,
    problems: Vec<Problem>,
    /// The line of each key (`send_window.start` for the window's keys).
    lines: HashMap<String, u64>,
}

impl Reader<'_> {
    /// A problem of `key`'s value, with the value as written (a text without
    /// its quotes).
    fn bad(&mut self, key: &str, value: &Value<'_>, reason: String) {
        let span = value.span();
        let written = match value.get_ref() {
            DeValue::String(s) => s.to_string(),
            _ => self.text.get(span.clone()).unwrap_or("").trim().to_string(),
        };
        self.problems.push(Problem {
            manifest: None,
            line: Some(line_of(self.text, span.start)),
            column: Some(key.to_string()),
            value: (!written.is_empty()).then_some(written),
            reason,
        });
    }

    fn wrong_type(&mut self, key: &str, value: &Value<'_>, what: &str) {
        let reason = format!("must be {what}, e.g. {}", example(key));
        self.bad(key, value, reason);
    }

    /// An unknown key: the key meant when one of `meant` is close, else the
    /// `known` keys (each shown without `prefix`).
    fn unknown(&mut self, name: &str, key: &Key<'_>, meant: &[&str], known: &[&str], prefix: &str) {
        let full = format!("{prefix}{name}");
        let reason = match suggestion(name, meant) {
            Some(meant) => format!(
                "unknown key {full:?}: did you mean {}?",
                meant.strip_prefix(prefix).unwrap_or(meant)
            ),
            None => format!(
                "unknown key {full:?}; the keys are: {}",
                known
                    .iter()
                    .map(|k| k.strip_prefix(prefix).unwrap_or(k))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        self.problems.push(Problem {
            line: Some(line_of(self.text, key.span().start)),
            ..Problem::file(reason)
        });
    }

    fn text(&mut self, key: &str, value: &Value<'_>) -> Option<String> {
        match value.get_ref() {
            DeValue::String(s) => Some(s.to_string()),
            _ => {
                self.wrong_type(key, value, "text in quotes");
                None
            }
        }
    }

    fn whole(&mut self, key: &str, value: &Value<'_>) -> Option<i64> {
        let read = match value.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok(),
            DeValue::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        if read.is_none() {
            self.wrong_type(key, value, "a whole number");
        }
        read
    }

    fn number(&mut self, key: &str, value: &Value<'_>) -> Option<f64> {
        let read = match value.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                .ok()
                .map(|n| n as f64),
            DeValue::Float(f) => f.as_str().parse::<f64>().ok(),
            DeValue::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
            _ => None,
        };
        if read.is_none() {
            self.wrong_type(key, value, "a number");
        }
        read
    }

    fn boolean(&mut self, key: &str, value: &Value<'_>) -> Option<bool> {
        let read = match value.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            DeValue::String(s) if s.trim().eq_ignore_ascii_case("true") => Some(true),
            DeValue::String(s) if s.trim().eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        };
        if read.is_none() {
            self.wrong_type(key, value, "true or false");
        }
        read
    }

    fn list(&mut self, key: &str, value: &Value<'_>) -> Option<Vec<String>> {
        let DeValue::Array(items) = value.get_ref() else {
            self.wrong_type(key, value, "a list of texts in square brackets");
            return None;
        };
        let mut texts = Vec::new();
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            match item.get_ref() {
                DeValue::String(s) => texts.push(s.to_string()),
                _ => {
                    ok = false;
                    let reason = format!(
                        "variable {}: must be text in quotes, e.g. {}",
                        i + 1,
                        example(key)
                    );
                    self.bad(key, item, reason);
                }
            }
        }
        ok.then_some(texts)
    }

    fn datetime(&mut self, key: &str, value: &Value<'_>) -> Option<DateTime<Utc>> {
        let text = match value.get_ref() {
            DeValue::Datetime(d) => d.to_string(),
            DeValue::String(s) => s.to_string(),
            _ => String::new(),
        };
        let read = DateTime::parse_from_rfc3339(text.trim())
            .ok()
            .map(|t| t.with_timezone(&Utc));
        if read.is_none() {
            self.wrong_type(key, value, "a date and time with a UTC offset");
        }
        read
    }

    /// `send_window`: a table of `start`, `end` and `timezone`, each reported
    /// when missing or unknown. `start`/`end` may be TOML times (`09:00:00`).
    fn window(&mut self, key: &Key<'_>, value: &Value<'_>) -> Option<SendWindow> {
        let DeValue::Table(table) = value.get_ref() else {
            self.wrong_type("send_window", value, "a table");
            return None;
        };
        let mut found: [Option<String>; 3] = Default::default();
        let mut ok = true;
        for (inner, v) in table {
            let name = inner.get_ref().as_ref();
            let full = format!("send_window.{name}");
            self.lines
                .insert(full.clone(), line_of(self.text, inner.span().start));
            let Some(i) = WINDOW_KEYS.iter().position(|k| *k == name) else {
                let known: Vec<String> = WINDOW_KEYS
                    .iter()
                    .map(|k| format!("send_window.{k}"))
                    .collect();
                let known: Vec<&str> = known.iter().map(String::as_str).collect();
                self.unknown(name, inner, &known, &known, "send_window.");
                ok = false;
                continue;
            };
            let read = match (name, v.get_ref()) {
                (_, DeValue::String(s)) => Some(s.to_string()),
                ("start" | "end", DeValue::Datetime(d)) if d.date.is_none() => {
                    d.time.map(|t| match t.second {
                        0 => format!("{:02}:{:02}", t.hour, t.minute),
                        s => format!("{:02}:{:02}:{s:02}", t.hour, t.minute),
                    })
                }
                _ => None,
            };
            if read.is_none() {
                let what = if name == "timezone" {
                    "an IANA timezone name in quotes"
                } else {
                    "a time of day in quotes as HH:MM (24-hour)"
                };
                self.wrong_type(&full, v, what);
                ok = false;
            }
            found[i] = read;
        }
        let line = line_of(self.text, key.span().start);
        for (i, k) in WINDOW_KEYS.iter().enumerate() {
            if found[i].is_none()
                && !self
                    .problems
                    .iter()
                    .any(|p| p.column.as_deref() == Some(&format!("send_window.{k}")))
            {
                let what = match *k {
                    "timezone" => "the IANA timezone the hours are in",
                    "start" => "the time sending may start each day",
                    _ => "the time sending stops each day",
                };
                self.problems.push(Problem {
                    line: Some(line),
                    column: Some(format!("send_window.{k}")),
                    ..Problem::file(format!(
                        "missing: {what}, e.g. {}",
                        example(&format!("send_window.{k}"))
                    ))
                });
                ok = false;
            }
        }
        let [start, end, timezone] = found;
        ok.then(|| SendWindow {
            start: start.unwrap_or_default(),
            end: end.unwrap_or_default(),
            timezone: timezone.unwrap_or_default(),
        })
    }
}

/// The known key `name` most likely means: the same letters written another
/// way (`Template-ID`), a word people use for it (`tz`), a key it starts
/// (`expires`), or one typo away per four letters (`templte_id`).
fn suggestion<'k>(name: &str, known: &[&'k str]) -> Option<&'k str> {
    let squash = |s: &str| -> String {
        s.rsplit('.')
            .next()
            .unwrap_or(s)
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let wanted = squash(name);
    let by_alias = ALIASES
        .iter()
        .find(|(alias, _)| squash(alias) == wanted)
        .map(|(_, key)| squash(key));
    known
        .iter()
        .copied()
        .find(|k| squash(k) == wanted)
        .or_else(|| {
            if let Some(meant) = &by_alias {
                return known.iter().copied().find(|k| squash(k) == *meant);
            }
            let prefix = (wanted.len() >= 4)
                .then(|| {
                    known
                        .iter()
                        .copied()
                        .find(|k| squash(k).starts_with(&wanted))
                })
                .flatten();
            prefix.or_else(|| {
                known
                    .iter()
                    .copied()
                    .map(|k| (distance(&squash(k), &wanted), k))
                    .filter(|(d, _)| *d <= (wanted.chars().count() / 4).max(1))
                    .min_by_key(|(d, _)| *d)
                    .map(|(_, k)| k)
            })
        })
}

/// Levenshtein distance in characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let next = (row[j] + 1).min(row[j + 1] + 1).min(prev + cost);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// The 1-based line of byte offset `at` (counted on bytes, so an offset that
/// is not on a character boundary cannot panic).
pub(super) fn line_of(text: &str, at: usize) -> u64 {
    let before = &text.as_bytes()[..at.min(text.len())];
    1 + before.iter().filter(|&&b| b == b'\n').count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_name_the_key_meant() {
        let keys = &KEYS[..];
        for (typed, meant) in [
            ("templte_id", Some("template_id")),
            ("Template-ID", Some("template_id")),
            ("mesage", Some("message")),
            ("expires", Some("expires_at")),
            ("window", Some("send_window")),
            ("colour", None),
        ] {
            assert_eq!(suggestion(typed, keys), meant, "{typed}");
        }
        let window = [
            "send_window.start",
            "send_window.end",
            "send_window.timezone",
        ];
        assert_eq!(suggestion("tz", &window), Some("send_window.timezone"));
        assert_eq!(
            suggestion("time_zone", &window),
            Some("send_window.timezone")
        );
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
