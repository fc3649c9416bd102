//! Excel-safe CSV cells (OWASP "CSV injection"): a cell that starts with `=`,
//! `+`, `-`, `@`, a tab or a carriage return could be run as a formula by
//! Excel or LibreOffice, so it is prefixed with a single quote `'`.
//!
//! This applies to every cell, phone numbers included: a raw phone such as
//! `+880 1712-345678` is written `'+880 1712-345678`, which also keeps Excel
//! from turning it into a number. The canonical `mobile_code` and `mobile`
//! columns are digits only and are never changed.

use std::borrow::Cow;

/// Characters that make a spreadsheet treat a cell as a formula.
const DANGEROUS_PREFIXES: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The cell as it should be written to a CSV meant for spreadsheets.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some(c) if DANGEROUS_PREFIXES.contains(&c) => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// The UTF-8 byte order mark, so Excel reads accents correctly.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";
