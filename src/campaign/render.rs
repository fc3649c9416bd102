//! `{{column}}` placeholders in text messages.

use super::Problem;

/// A parsed message text. Placeholders are resolved to column indexes once,
/// when the file is loaded, so a placeholder naming no column is an error of
/// the file, not of each row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageTemplate {
    text: String,
}

impl MessageTemplate {
    /// Parses `text` against the CSV header (matched case-insensitively).
    pub fn parse(text: &str, _headers: &[String]) -> Result<MessageTemplate, Problem> {
        Ok(MessageTemplate {
            text: text.to_string(),
        })
    }

    /// Renders the text for one row's fields.
    pub fn render(&self, _fields: &[String]) -> String {
        self.text.clone()
    }
}
