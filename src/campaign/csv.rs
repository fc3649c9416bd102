//! Decoding recipient CSVs as spreadsheets really export them: UTF-8 with or
//! without BOM, UTF-16 LE/BE with BOM, Windows-1252; `,` `;` or tab; CRLF;
//! quoted fields with embedded delimiters, quotes and newlines. Streams rows
//! so memory stays flat whatever the file size.

use std::path::Path;

use super::Problem;

/// One data row (the header is not a data row; blank lines are skipped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvRow {
    /// 1-based data row number.
    pub row_number: u32,
    /// Physical line the row starts on (1-based, the header is line 1).
    pub line_number: u64,
    /// Fields as written, surrounding spaces trimmed. May be shorter or longer
    /// than the header (ragged rows are the planner's business).
    pub fields: Vec<String>,
}

/// A campaign CSV opened for streaming.
pub struct CsvSource {
    headers: Vec<String>,
}

impl CsvSource {
    /// Opens a file, detects its encoding and delimiter, and reads the header.
    /// Whole-file problems (no header, duplicate headers, not text, a field
    /// over the size limit) are errors here or from [`CsvSource::next_row`].
    pub fn open(_path: &Path) -> Result<CsvSource, Problem> {
        Err(Problem::file("CSV decoding is not built yet"))
    }

    /// Header names, trimmed (case preserved; match them case-insensitively).
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// The next data row; `Err` is a whole-file problem that rejects the file.
    pub fn next_row(&mut self) -> Option<Result<CsvRow, Problem>> {
        None
    }
}
