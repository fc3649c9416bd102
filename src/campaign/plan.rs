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
//! - with `create_contacts`: `firstname` and `lastname` (alias `first_name`,
//!   `last_name`), the names each recipient is made a Wutt contact with.
//! - every other column is a variable.
//!
//! Row rules: fewer fields than the header is an invalid (ragged) row; extra
//! fields are tolerated only when empty (Excel's trailing delimiters), since
//! a non-empty extra field means values have shifted. An empty cell renders
//! as empty text, but a text message that ends up blank, or over WhatsApp's
//! 4096 characters, is invalid.
//!
//! Template variables are rendered for rows that send a template and stored
//! trimmed (the server trims every input). A rendered value that is empty,
//! holds `{{…}}` (the server would send a blank instead), a line break or tab,
//! or more than 4 spaces in a row makes the row invalid. With
//! `create_contacts`, an empty first or last name, or one over Wutt's 40
//! characters, makes the row invalid (checked on every row: the contact is
//! made whatever is sent).

use super::Problem;
use super::csv::CsvRow;
use super::manifest::{self, Manifest};
use super::phone::PhoneNumber;
use super::render::MessageTemplate;

/// WhatsApp's limit on a text message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 4096;

/// Wutt's limit on a contact's first and last name, in characters.
pub const MAX_NAME_CHARS: usize = 40;

const PHONE: &[&str] = &["phone", "phone_number", "whatsapp", "whatsapp_number"];
const MOBILE_CODE: &[&str] = &["mobile_code"];
const MOBILE: &[&str] = &["mobile", "mobile_number"];
const FIRSTNAME: &[&str] = &["firstname", "first_name"];
const LASTNAME: &[&str] = &["lastname", "last_name"];

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
    /// Rendered body parameters of the template (`None`: the row sends no
    /// template, or the campaign has no body variables).
    pub body_variables: Option<Vec<String>>,
    /// Rendered header parameters, likewise.
    pub header_variables: Option<Vec<String>>,
    /// The contact's names (`None` unless the campaign creates contacts).
    pub firstname: Option<String>,
    pub lastname: Option<String>,
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
    body: Vec<Variable>,
    header: Vec<Variable>,
    /// `firstname` and `lastname` columns, when contacts are created.
    names: Option<(usize, usize)>,
}

/// One template variable: its text as written and its parsed form.
#[derive(Debug, Clone)]
struct Variable {
    written: String,
    template: MessageTemplate,
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
        let names = if manifest.create_contacts {
            match (find(FIRSTNAME), find(LASTNAME)) {
                (Some(first), Some(last)) => Some((first, last)),
                (first, last) => {
                    let missing: Vec<&str> = [("firstname", first), ("lastname", last)]
                        .into_iter()
                        .filter_map(|(name, found)| found.is_none().then_some(name))
                        .collect();
                    problems.push(Problem::file(format!(
                        "create_contacts = true needs a firstname and a lastname column (each recipient is made a Wutt contact with these names); missing: {}; the columns are: {}",
                        missing.join(", "),
                        headers.join(", ")
                    )));
                    None
                }
            }
        } else {
            None
        };
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
        let mut variables = |key: &str, texts: Option<&Vec<String>>| -> Vec<Variable> {
            let mut parsed = Vec::new();
            for (i, text) in texts.into_iter().flatten().enumerate() {
                match MessageTemplate::parse_all(text, headers) {
                    Ok(template) => parsed.push(Variable {
                        written: text.clone(),
                        template,
                    }),
                    Err(more) => problems.extend(more.into_iter().map(|p| Problem {
                        column: Some(key.to_string()),
                        reason: format!("variable {} ({text:?}): {}", i + 1, p.reason),
                        ..p
                    })),
                }
            }
            parsed
        };
        let body = variables("body_variables", manifest.body_variables.as_ref());
        let header = variables("header_variables", manifest.header_variables.as_ref());
        if manifest.template_id.is_none() && template_id_column.is_none() {
            for (key, _) in manifest.variable_lists() {
                problems.push(column_problem(
                    key,
                    "fills a template's placeholders, but nothing here sends a template: set template_id, or add a template_id column".into(),
                ));
            }
        }
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
            body,
            header,
            names,
        })
    }

    /// Whether rows may send a free-form text (`send-message`), which reaches
    /// only numbers that are already Wutt contacts.
    pub fn may_send_text(&self) -> bool {
        self.message.is_some() || self.non_text || self.message_column.is_some()
    }

    /// Whether each recipient is made a Wutt contact (names are read and checked).
    pub fn creates_contacts(&self) -> bool {
        self.names.is_some()
    }

    /// The manifest's template, sent by rows without one of their own.
    pub fn manifest_template(&self) -> Option<i64> {
        self.template_id
    }

    /// How many body and header variables each template row sends.
    pub fn variable_counts(&self) -> (usize, usize) {
        (self.body.len(), self.header.len())
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
            body_variables: None,
            header_variables: None,
            firstname: self.names.map(|(first, _)| cell(first).to_string()),
            lastname: self.names.map(|(_, last)| cell(last).to_string()),
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
        if planned.template_id.is_some() {
            planned.body_variables = render(&self.body, &row.fields);
            planned.header_variables = render(&self.header, &row.fields);
            check_values("body", &self.body, planned.body_variables.as_deref())?;
            check_values("header", &self.header, planned.header_variables.as_deref())?;
        }
        if let (Some(first), Some(last)) = (&planned.firstname, &planned.lastname) {
            check_name("firstname", first)?;
            check_name("lastname", last)?;
        }
        Ok(number)
    }
}

/// The variables rendered for one row, trimmed (`None` when there are none).
fn render(variables: &[Variable], fields: &[String]) -> Option<Vec<String>> {
    (!variables.is_empty()).then(|| {
        variables
            .iter()
            .map(|v| {
                let value = v.template.render(fields);
                let trimmed = value.trim();
                if trimmed.len() == value.len() {
                    value
                } else {
                    trimmed.to_string()
                }
            })
            .collect()
    })
}

/// The first rendered value the server or WhatsApp would not take as it is
/// (`part`: "body" or "header").
fn check_values(
    part: &str,
    variables: &[Variable],
    values: Option<&[String]>,
) -> Result<(), String> {
    for (i, (v, value)) in variables.iter().zip(values.unwrap_or_default()).enumerate() {
        let problem = if value.is_empty() {
            "is empty on this row".to_string()
        } else if has_server_placeholder(value) {
            format!(
                "is {value:?} on this row, which holds {{{{…}}}}: the server would send a blank instead"
            )
        } else if let Some(problem) = manifest::value_problem(value) {
            problem
        } else {
            continue;
        };
        return Err(format!(
            "{part} variable {} ({}) {problem}",
            i + 1,
            v.written
        ));
    }
    Ok(())
}

/// Whether the server would replace the value as a whole (`{{` … `}}`).
fn has_server_placeholder(value: &str) -> bool {
    value
        .find("{{")
        .is_some_and(|open| value[open + 2..].contains("}}"))
}

/// A contact's name as Wutt's validation takes it: required, at most 40 characters.
fn check_name(column: &str, value: &str) -> Result<(), String> {
    let n = value.chars().count();
    if n == 0 {
        return Err(format!(
            "create_contacts: {column} is empty on this row (a Wutt contact needs a first and a last name)"
        ));
    }
    if n > MAX_NAME_CHARS {
        return Err(format!(
            "create_contacts: {column} is {n} characters; Wutt allows {MAX_NAME_CHARS}"
        ));
    }
    Ok(())
}

fn column_problem(column: &str, reason: String) -> Problem {
    Problem {
        column: Some(column.to_string()),
        ..Problem::file(reason)
    }
}

#[cfg(test)]
mod tests;
