//! One CSV row → one planned recipient: the canonical phone number (or why the
//! row is invalid) and what to send it.
//!
//! Header roles (names trimmed, case-insensitive, spaces and `-` read as `_`):
//! - the phone: one of `phone`, `phone_number`, `whatsapp`, `whatsapp_number`
//!   (international form), or `mobile_code` + `mobile` (alias `mobile_number`).
//!   Both complete ways at once is refused as ambiguous, as is a role named
//!   twice — guessing which number to message is not safe.
//! - per-row overrides: `template_id`, `message` (itself rendered with
//!   placeholders), `from_number`. A row that sets `template_id` sends that
//!   template; one that sets `message` sends that text; setting both is an
//!   invalid row. A row setting neither uses the manifest's.
//! - every other column is a variable.
//!
//! Row rules: fewer fields than the header is an invalid (ragged) row; extra
//! fields are tolerated only when empty (Excel's trailing delimiters), since
//! a non-empty extra field means values have shifted. An empty cell renders
//! as empty text, but a text message that ends up blank, or over WhatsApp's
//! 4096 characters, is invalid.

use super::Problem;
use super::csv::CsvRow;
use super::manifest::Manifest;
use super::phone::PhoneNumber;
use super::render::MessageTemplate;

/// WhatsApp's limit on a text message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 4096;

const PHONE: &[&str] = &["phone", "phone_number", "whatsapp", "whatsapp_number"];
const MOBILE_CODE: &[&str] = &["mobile_code"];
const MOBILE: &[&str] = &["mobile", "mobile_number"];

/// The verdict on one row before the database is consulted (duplicates and
/// suppressions are decided by ingest, which sees the whole campaign and the
/// opt-out list).
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The row can be sent to this number.
    Ready(PhoneNumber),
    /// The row cannot be used; the reason goes into `error`.
    Invalid(String),
}

/// One planned recipient (every data row yields exactly one).
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRecipient {
    pub row_number: u32,
    pub line_number: u64,
    /// The phone as written (both columns joined when split in two).
    pub raw_phone: String,
    pub verdict: Verdict,
    /// Per-row overrides, else the manifest's.
    pub template_id: Option<i64>,
    /// Rendered text (placeholders filled).
    pub message: Option<String>,
    pub from_number: Option<String>,
}

#[derive(Debug, Clone, Copy)]
enum PhoneColumns {
    International(usize),
    Split { code: usize, mobile: usize },
}

/// Turns rows into planned recipients for one file.
#[derive(Debug, Clone)]
pub struct Planner {
    headers: Vec<String>,
    phone: PhoneColumns,
    template_id_column: Option<usize>,
    message_column: Option<usize>,
    from_column: Option<usize>,
    template_id: Option<i64>,
    message: Option<MessageTemplate>,
    from_number: Option<String>,
    /// Media, location or interactive content: a row needs no text.
    non_text: bool,
}

/// A header name reduced for matching roles.
fn role_name(header: &str) -> String {
    header.trim().to_lowercase().replace([' ', '-'], "_")
}

impl Planner {
    /// Checks the header against the manifest (phone column present,
    /// placeholders name columns, something to send). All problems are returned.
    pub fn new(manifest: &Manifest, headers: &[String]) -> Result<Planner, Vec<Problem>> {
        let mut problems = Vec::new();
        let roles: Vec<String> = headers.iter().map(|h| role_name(h)).collect();
        let mut find = |aliases: &[&str]| -> Option<usize> {
            let found: Vec<usize> = (0..roles.len())
                .filter(|&i| aliases.contains(&roles[i].as_str()))
                .collect();
            if let [_, second, ..] = found[..] {
                problems.push(column_problem(
                    &headers[second],
                    format!(
                        "names the same thing as column {:?}; keep one",
                        headers[found[0]]
                    ),
                ));
            }
            found.first().copied()
        };
        let phone = find(PHONE);
        let code = find(MOBILE_CODE);
        let mobile = find(MOBILE);
        let template_id_column = find(&["template_id"]);
        let message_column = find(&["message"]);
        let from_column = find(&["from_number"]);
        let phone = match (phone, code, mobile) {
            (Some(_), Some(_), Some(_)) => {
                problems.push(Problem::file("both a phone column and mobile_code + mobile columns: keep one way of writing the number"));
                None
            }
            (Some(i), _, _) => Some(PhoneColumns::International(i)),
            (None, Some(code), Some(mobile)) => Some(PhoneColumns::Split { code, mobile }),
            (None, Some(_), None) => {
                problems.push(Problem::file("a mobile_code column but no mobile column"));
                None
            }
            (None, None, Some(_)) => {
                problems.push(Problem::file("a mobile column but no mobile_code column: add mobile_code, or name the column phone if it holds numbers in international form (+880 1988-123456)"));
                None
            }
            (None, None, None) => {
                problems.push(Problem::file(format!("no phone column: name one column phone (international form, +880 1988-123456), or two columns mobile_code and mobile; the columns are: {}", headers.join(", "))));
                None
            }
        };
        let message = match manifest
            .message
            .as_deref()
            .map(|m| MessageTemplate::parse_all(m, headers))
        {
            Some(Err(more)) => {
                problems.extend(more);
                None
            }
            other => other.and_then(Result::ok),
        };
        let non_text = manifest.has_non_text_content();
        if manifest.template_id.is_none()
            && manifest.message.is_none()
            && !non_text
            && template_id_column.is_none()
            && message_column.is_none()
        {
            problems.push(Problem::file("nothing to send: the manifest has no template_id, message, media, location or interactive element, and the file has no template_id or message column"));
        }
        let (Some(phone), true) = (phone, problems.is_empty()) else {
            return Err(problems);
        };
        Ok(Planner {
            headers: headers.to_vec(),
            phone,
            template_id_column,
            message_column,
            from_column,
            template_id: manifest.template_id,
            message,
            from_number: manifest.from_number.clone(),
            non_text,
        })
    }

    /// Whether rows may send a template (the manifest's or their own), so the
    /// account's template list should be checked.
    pub fn uses_template(&self) -> bool {
        self.template_id.is_some() || self.template_id_column.is_some()
    }

    /// Plans one row. Never fails: a bad row becomes `Verdict::Invalid`.
    pub fn plan(&self, row: &CsvRow) -> PlannedRecipient {
        let cell = |i: usize| row.fields.get(i).map_or("", String::as_str);
        let optional = |i: Option<usize>| i.map(cell).filter(|v| !v.is_empty());
        let raw_phone = match self.phone {
            PhoneColumns::International(i) => cell(i).to_string(),
            PhoneColumns::Split { code, mobile } => format!("{} {}", cell(code), cell(mobile))
                .trim()
                .to_string(),
        };
        let mut planned = PlannedRecipient {
            row_number: row.row_number,
            line_number: row.line_number,
            raw_phone,
            verdict: Verdict::Invalid(String::new()),
            template_id: None,
            message: None,
            from_number: optional(self.from_column)
                .map(str::to_string)
                .or_else(|| self.from_number.clone()),
        };
        planned.verdict = match self.check(row, &mut planned) {
            Ok(number) => Verdict::Ready(number),
            Err(reason) => Verdict::Invalid(reason),
        };
        planned
    }

    /// Fills what to send and returns the number, or the first reason the row is unusable.
    fn check(&self, row: &CsvRow, planned: &mut PlannedRecipient) -> Result<PhoneNumber, String> {
        let (have, want) = (row.fields.len(), self.headers.len());
        if have < want || row.fields[want..].iter().any(|f| !f.is_empty()) {
            let hint = if have > want {
                " (a delimiter inside a value that is not quoted?)"
            } else {
                ""
            };
            return Err(format!("row has {have} fields, header has {want}{hint}"));
        }
        let cell = |i: Option<usize>| i.map(|i| row.fields[i].as_str()).filter(|v| !v.is_empty());
        let template_id = cell(self.template_id_column)
            .map(|v| {
                v.parse::<i64>()
                    .ok()
                    .filter(|id| *id > 0)
                    .ok_or_else(|| format!("template_id {v:?} is not a positive whole number"))
            })
            .transpose()?;
        let message = cell(self.message_column)
            .map(|text| {
                MessageTemplate::parse(text, &self.headers)
                    .map_err(|p| format!("message: {}", p.reason))
            })
            .transpose()?;
        (planned.template_id, planned.message) =
            match (template_id, message) {
                (Some(_), Some(_)) => return Err(
                    "both template_id and message are set: a row sends either a template or a text"
                        .into(),
                ),
                (Some(id), None) => (Some(id), None),
                (None, Some(text)) => (None, Some(text.render(&row.fields))),
                (None, None) => (
                    self.template_id,
                    self.message.as_ref().map(|t| t.render(&row.fields)),
                ),
            };
        let number = match self.phone {
            _ if planned.raw_phone.is_empty() => return Err("no phone number".into()),
            PhoneColumns::International(i) => PhoneNumber::parse_international(&row.fields[i]),
            PhoneColumns::Split { code, mobile } => {
                PhoneNumber::parse_parts(&row.fields[code], &row.fields[mobile])
            }
        }
        .map_err(|e| format!("phone {:?}: {e}", planned.raw_phone))?;
        let length = planned.message.as_deref().map(|m| m.trim().chars().count());
        if let Some(n) = length.filter(|n| *n > MAX_MESSAGE_CHARS) {
            return Err(format!(
                "the message is {n} characters; WhatsApp allows {MAX_MESSAGE_CHARS}"
            ));
        }
        if planned.template_id.is_none() && !self.non_text {
            match length {
                None => {
                    return Err("nothing to send: no template_id or message for this row".into());
                }
                Some(0) => return Err("the message is empty once placeholders are filled".into()),
                Some(_) => {}
            }
        }
        Ok(number)
    }
}

fn column_problem(column: &str, reason: String) -> Problem {
    Problem {
        column: Some(column.to_string()),
        ..Problem::file(reason)
    }
}

#[cfg(test)]
mod tests;
