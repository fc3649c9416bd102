//! What the first bytes of a file say: its encoding, whether it is text at
//! all, and which delimiter its header line uses.

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};

/// How the rest of the file is to be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detected {
    /// A byte order mark (of this length) or the sample decided.
    Known(&'static Encoding, usize),
    /// The sample is plain ASCII: UTF-8 or Windows-1252 is decided by the
    /// first non-ASCII character, wherever it is.
    Ascii,
}

/// Detects the encoding from the first bytes. `complete` says the sample is
/// the whole file (so a multi-byte character cut at its end is an error).
pub fn encoding(sample: &[u8], complete: bool) -> Detected {
    if sample.starts_with(b"\xEF\xBB\xBF") {
        Detected::Known(UTF_8, 3)
    } else if sample.starts_with(b"\xFF\xFE") {
        Detected::Known(UTF_16LE, 2)
    } else if sample.starts_with(b"\xFE\xFF") {
        Detected::Known(UTF_16BE, 2)
    } else if sample.is_ascii() {
        Detected::Ascii
    } else if is_utf8(sample, complete) {
        Detected::Known(UTF_8, 0)
    } else {
        Detected::Known(WINDOWS_1252, 0)
    }
}

/// Valid UTF-8, allowing a character cut by the end of an incomplete sample.
pub fn is_utf8(bytes: &[u8], complete: bool) -> bool {
    match std::str::from_utf8(bytes) {
        Ok(_) => true,
        Err(e) => !complete && e.error_len().is_none() && bytes.len() - e.valid_up_to() < 4,
    }
}

/// Why the decoded sample is not a CSV at all, if it is not.
pub fn not_text(raw: &[u8], text: &str) -> Option<String> {
    let hint = if raw.starts_with(b"PK\x03\x04") {
        " (it looks like an Excel workbook or a zip file: save it as CSV)"
    } else if raw.starts_with(b"\xD0\xCF\x11\xE0") {
        " (it looks like an old Excel .xls workbook: save it as CSV)"
    } else {
        ""
    };
    let total = text.chars().count().max(1);
    let control = text
        .chars()
        .filter(|&c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        .count();
    if text.contains('\0') || control * 100 > total {
        Some(format!("not a text file: it contains binary data{hint}"))
    } else {
        None
    }
}

/// The delimiter of the first non-blank line: the most frequent of `,` `;`
/// and tab outside quotes (ties go in that order; none at all means `,`).
pub fn delimiter(text: &str) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    let mut content = false;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            '\n' | '\r' if !quoted && content => break,
            ',' if !quoted => counts[0] += 1,
            ';' if !quoted => counts[1] += 1,
            '\t' if !quoted => counts[2] += 1,
            _ => {}
        }
        content |= !c.is_whitespace();
    }
    let best = (0..3).rev().max_by_key(|&i| counts[i]).unwrap_or(0);
    [b',', b';', b'\t'][best]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        assert_eq!(
            encoding(b"\xEF\xBB\xBFphone", true),
            Detected::Known(UTF_8, 3)
        );
        assert_eq!(encoding(b"\xFF\xFEp\0", true), Detected::Known(UTF_16LE, 2));
        assert_eq!(encoding(b"\xFE\xFF\0p", true), Detected::Known(UTF_16BE, 2));
        assert_eq!(encoding(b"phone", true), Detected::Ascii);
        assert_eq!(encoding("Zoë".as_bytes(), true), Detected::Known(UTF_8, 0));
        assert_eq!(encoding(b"Zo\xEB", true), Detected::Known(WINDOWS_1252, 0));
        // "é" cut in half by the end of the sample is still UTF-8…
        assert_eq!(encoding(b"Jos\xC3", false), Detected::Known(UTF_8, 0));
        // …but not at the end of the file.
        assert_eq!(encoding(b"Jos\xC3", true), Detected::Known(WINDOWS_1252, 0));
    }

    #[test]
    fn delimiters() {
        assert_eq!(delimiter("phone,name;x\n"), b',');
        assert_eq!(delimiter("\n\nphone;name;x\na,b,c,d,e"), b';');
        assert_eq!(delimiter("phone\tname\n"), b'\t');
        assert_eq!(delimiter("\"a,b\";c\n"), b';');
        assert_eq!(delimiter("phone\n"), b',');
    }

    #[test]
    fn binary_is_not_text() {
        assert!(not_text(b"a\0b", "a\0b").is_some());
        assert!(
            not_text(b"PK\x03\x04", "PK\x03\x04")
                .unwrap()
                .contains("Excel")
        );
        assert!(not_text(b"phone\r\n", "phone\r\n").is_none());
    }
}
