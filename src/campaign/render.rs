//! `{{column}}` placeholders in text messages.
//!
//! Syntax: `{{name}}` or `{{ name }}`; the name is matched against the CSV
//! header case-insensitively (after trimming). Single braces are plain text.
//! An unclosed `{{`, an empty `{{ }}` or a name that is no column is an error
//! of the file, found once when the file is loaded. An empty cell renders as
//! empty text.

use super::Problem;

/// A parsed message text. Placeholders are resolved to column indexes once,
/// when the file is loaded, so a placeholder naming no column is an error of
/// the file, not of each row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageTemplate {
    segments: Vec<Segment>,
    /// Length of the literal text, to size the rendered string.
    literal_len: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Text(String),
    Column(usize),
}

impl MessageTemplate {
    /// Parses `text` against the CSV header (matched case-insensitively).
    /// Returns the first problem; [`MessageTemplate::parse_all`] returns all.
    pub fn parse(text: &str, headers: &[String]) -> Result<MessageTemplate, Problem> {
        MessageTemplate::parse_all(text, headers).map_err(|mut problems| problems.remove(0))
    }

    /// Parses `text`, reporting every bad placeholder (never an empty list).
    pub fn parse_all(text: &str, headers: &[String]) -> Result<MessageTemplate, Vec<Problem>> {
        let mut segments = Vec::new();
        let mut problems = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            push_text(&mut segments, &rest[..open]);
            let after = &rest[open + 2..];
            let Some(close) = after.find("}}") else {
                problems.push(problem(
                    None,
                    rest,
                    "unclosed placeholder: `{{` without `}}`",
                ));
                rest = "";
                break;
            };
            let name = after[..close].trim();
            match column_index(name, headers) {
                _ if name.is_empty() => problems.push(problem(None, "{{}}", "empty placeholder")),
                Some(index) => segments.push(Segment::Column(index)),
                None => problems.push(problem(
                    Some(name),
                    name,
                    &format!(
                        "placeholder {{{{{name}}}}} names no column; the columns are: {}",
                        headers.join(", ")
                    ),
                )),
            }
            rest = &after[close + 2..];
        }
        push_text(&mut segments, rest);
        if !problems.is_empty() {
            return Err(problems);
        }
        let literal_len = segments
            .iter()
            .map(|s| match s {
                Segment::Text(t) => t.len(),
                Segment::Column(_) => 0,
            })
            .sum();
        Ok(MessageTemplate {
            segments,
            literal_len,
        })
    }

    /// Whether the text has any placeholder.
    pub fn has_placeholders(&self) -> bool {
        self.segments
            .iter()
            .any(|s| matches!(s, Segment::Column(_)))
    }

    /// Renders the text for one row's fields (a missing field renders empty).
    pub fn render(&self, fields: &[String]) -> String {
        let mut out = String::with_capacity(self.literal_len + 32);
        for segment in &self.segments {
            match segment {
                Segment::Text(text) => out.push_str(text),
                Segment::Column(i) => out.push_str(fields.get(*i).map_or("", String::as_str)),
            }
        }
        out
    }
}

/// The index of the header named `name`, ignoring case and surrounding spaces.
pub fn column_index(name: &str, headers: &[String]) -> Option<usize> {
    let name = name.trim();
    headers
        .iter()
        .position(|h| h.trim().to_lowercase() == name.to_lowercase())
}

fn push_text(segments: &mut Vec<Segment>, text: &str) {
    if !text.is_empty() {
        segments.push(Segment::Text(text.to_string()));
    }
}

fn problem(column: Option<&str>, value: &str, reason: &str) -> Problem {
    Problem {
        manifest: None,
        line: None,
        column: Some(column.map_or_else(|| "message".to_string(), str::to_string)),
        value: Some(value.to_string()),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers() -> Vec<String> {
        ["Phone", "FirstName", "city"].map(String::from).to_vec()
    }

    fn fields(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn fills_placeholders_case_insensitively_with_spaces() {
        let t =
            MessageTemplate::parse("Hi {{ firstname }} from {{CITY}}! {x}", &headers()).unwrap();
        assert!(t.has_placeholders());
        let row = fields(&["+880", "José", "Dhaka"]);
        assert_eq!(t.render(&row), "Hi José from Dhaka! {x}");
        assert_eq!(t.render(&fields(&["+880"])), "Hi  from ! {x}");
    }

    #[test]
    fn plain_text_renders_as_is() {
        let t = MessageTemplate::parse("no placeholders", &headers()).unwrap();
        assert!(!t.has_placeholders());
        assert_eq!(t.render(&[]), "no placeholders");
    }

    #[test]
    fn reports_every_unknown_placeholder() {
        let problems = MessageTemplate::parse_all("{{first_name}} {{ town }} {{city}}", &headers())
            .unwrap_err();
        let columns: Vec<_> = problems
            .iter()
            .filter_map(|p| p.column.as_deref())
            .collect();
        assert_eq!(columns, ["first_name", "town"]);
        assert!(problems[0].reason.contains("Phone, FirstName, city"));
    }

    #[test]
    fn malformed_placeholders() {
        assert!(MessageTemplate::parse("Hi {{ }}", &headers()).is_err());
        let p = MessageTemplate::parse("Hi {{firstname", &headers()).unwrap_err();
        assert!(p.reason.contains("unclosed"));
    }
}
