//! Decoding recipient CSVs as spreadsheets really export them: UTF-8 with or
//! without BOM, UTF-16 LE/BE with BOM, Windows-1252; `,` `;` or tab; CRLF;
//! quoted fields with embedded delimiters, quotes and newlines. Streams rows
//! so memory stays flat whatever the file size.
//!
//! Encoding: a BOM decides; otherwise the first 64 KiB decide between UTF-8
//! (valid UTF-8) and Windows-1252 (anything else); when those are plain
//! ASCII, the first non-ASCII character decides, wherever it is. Bytes that
//! do not decode later are an error of the file, never silently replaced.
//!
//! Whole-file errors: empty file, no header, a header without data rows (a
//! campaign of nothing is a mistake), empty or duplicate header names
//! (case-insensitive), binary data, a field over [`MAX_FIELD_BYTES`], a row
//! over 1 MiB, undecodable bytes.

mod decode;
mod sniff;
#[cfg(test)]
mod tests;

use std::fs::File;
use std::io::{Cursor, Read};
use std::path::Path;

use self::decode::{Decode, DecodeProblem};
use self::sniff::Detected;
use super::Problem;
use super::file::{ContentHash, Hashing};

/// No single field of a recipient row is larger (in UTF-8 bytes).
pub const MAX_FIELD_BYTES: usize = 64 * 1024;
/// Bytes looked at to decide encoding, delimiter and whether this is text.
const SAMPLE_BYTES: usize = 64 * 1024;

type Input = Decode<std::io::Chain<Cursor<Vec<u8>>, Hashing<File>>>;

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
    reader: csv::Reader<Input>,
    record: csv::StringRecord,
    delimiter: u8,
    rows: u32,
    /// The first data row, read by `open` to refuse a header-only file.
    peeked: Option<CsvRow>,
    done: bool,
    /// The hash of the bytes read so far: of the whole file once every row
    /// was read.
    hash: ContentHash,
}

impl CsvSource {
    /// Opens a file, detects its encoding and delimiter, and reads the header.
    /// Whole-file problems (no header, duplicate headers, not text, a field
    /// over the size limit) are errors here or from [`CsvSource::next_row`].
    pub fn open(path: &Path) -> Result<CsvSource, Problem> {
        let cannot =
            |e: std::io::Error| Problem::file(format!("cannot read {}: {e}", path.display()));
        let hash = ContentHash::new();
        let mut file = hash.reader(super::file::open_regular(path).map_err(cannot)?);
        let mut sample = Vec::with_capacity(SAMPLE_BYTES);
        (&mut file)
            .take(SAMPLE_BYTES as u64)
            .read_to_end(&mut sample)
            .map_err(cannot)?;
        if sample.is_empty() {
            return Err(Problem::file("the file is empty"));
        }
        let complete = sample.len() < SAMPLE_BYTES;
        let detected = sniff::encoding(&sample, complete);
        let (encoding, bom) = match detected {
            Detected::Known(encoding, bom) => (encoding, bom),
            Detected::Ascii => (encoding_rs::UTF_8, 0),
        };
        let (text, _) = encoding.decode_without_bom_handling(&sample[bom..]);
        if let Some(reason) = sniff::not_text(&sample, &text) {
            return Err(Problem::file(reason));
        }
        let delimiter = sniff::delimiter(&text);
        sample.drain(..bom);
        let input = Decode::new(Cursor::new(sample).chain(file), detected, delimiter);
        let reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .has_headers(false)
            .trim(csv::Trim::All)
            .from_reader(input);
        let mut source = CsvSource {
            headers: Vec::new(),
            reader,
            record: csv::StringRecord::new(),
            delimiter,
            rows: 0,
            peeked: None,
            done: false,
            hash,
        };
        source.read_header()?;
        match source.next_row() {
            Some(Ok(row)) => source.peeked = Some(row),
            Some(Err(problem)) => return Err(problem),
            None => {
                return Err(Problem::file(
                    "no data rows: the file has a header but no recipients",
                ));
            }
        }
        Ok(source)
    }

    fn read_header(&mut self) -> Result<(), Problem> {
        let Some(line) = self.next_record()? else {
            return Err(Problem::file(
                "no header row: the file has only blank lines",
            ));
        };
        let line = Some(line);
        self.headers = self.record.iter().map(str::to_string).collect();
        let at = |column: String, reason: String| Problem {
            manifest: None,
            line,
            column: Some(column),
            value: None,
            reason,
        };
        for (i, name) in self.headers.iter().enumerate() {
            if name.is_empty() {
                return Err(at(
                    format!("#{}", i + 1),
                    format!(
                        "column {} has no name in the header row; name it or delete the column",
                        i + 1
                    ),
                ));
            }
            if name.len() > 200 {
                return Err(at(
                    format!("#{}", i + 1),
                    "a header name longer than 200 bytes: is the first line really a header?"
                        .into(),
                ));
            }
            let lower = name.to_lowercase();
            if let Some(first) = self.headers[..i]
                .iter()
                .position(|h| h.to_lowercase() == lower)
            {
                return Err(at(
                    name.clone(),
                    format!(
                        "duplicate column name: columns {} and {} are both {name:?} (names ignore case)",
                        first + 1,
                        i + 1
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The SHA-256 of the file's bytes as they were read: once
    /// [`CsvSource::next_row`] returned `None`, of exactly the bytes the rows
    /// came from. A handle that outlives the source.
    pub fn content_hash(&self) -> ContentHash {
        self.hash.clone()
    }

    /// Header names, trimmed (case preserved; match them case-insensitively).
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// The delimiter found in the header line: `,`, `;` or tab.
    pub fn delimiter(&self) -> u8 {
        self.delimiter
    }

    /// The encoding in use (its WHATWG name, e.g. `UTF-8`, `windows-1252`,
    /// `UTF-16LE`); `ASCII` while every byte so far was plain ASCII.
    pub fn encoding(&self) -> &'static str {
        self.reader
            .get_ref()
            .encoding()
            .map_or("ASCII", |e| e.name())
    }

    /// The next data row; `Err` is a whole-file problem that rejects the file.
    pub fn next_row(&mut self) -> Option<Result<CsvRow, Problem>> {
        if let Some(row) = self.peeked.take() {
            return Some(Ok(row));
        }
        if self.done {
            return None;
        }
        let result = self
            .next_record()
            .map(|line| line.map(|line| self.row(line)));
        let result = result.transpose().map(Result::flatten);
        self.done = !matches!(result, Some(Ok(_)));
        result
    }

    /// Reads the next record that is not blank, returning the line it starts
    /// on. A line of only spaces is blank, like an empty one.
    fn next_record(&mut self) -> Result<Option<u64>, Problem> {
        loop {
            match self.reader.read_record(&mut self.record) {
                Ok(false) => return Ok(None),
                Err(e) => return Err(self.read_problem(e)),
                Ok(true) => {}
            }
            // csv's own line count skips blank lines, so the decoder keeps one.
            let line = self.reader.get_mut().next_row_line();
            if !(self.record.len() == 1 && self.record[0].is_empty()) {
                return Ok(Some(line));
            }
        }
    }

    fn row(&mut self, line_number: u64) -> Result<CsvRow, Problem> {
        if let Some(i) = self.record.iter().position(|f| f.len() > MAX_FIELD_BYTES) {
            return Err(Problem {
                manifest: None,
                line: Some(line_number),
                column: Some(
                    self.headers
                        .get(i)
                        .cloned()
                        .unwrap_or_else(|| format!("#{}", i + 1)),
                ),
                value: None,
                reason: format!(
                    "a field of {} KiB; no field may exceed {} KiB",
                    self.record[i].len() / 1024,
                    MAX_FIELD_BYTES / 1024
                ),
            });
        }
        self.rows = self
            .rows
            .checked_add(1)
            .ok_or_else(|| Problem::file("too many rows"))?;
        Ok(CsvRow {
            row_number: self.rows,
            line_number,
            fields: self.record.iter().map(str::to_string).collect(),
        })
    }

    fn read_problem(&self, error: csv::Error) -> Problem {
        let line = error.position().map(|p| p.line());
        if let csv::ErrorKind::Io(io) = error.kind()
            && let Some(problem) = io.get_ref().and_then(|e| e.downcast_ref::<DecodeProblem>())
        {
            return Problem {
                line: Some(problem.line),
                ..Problem::file(problem.reason.clone())
            };
        }
        Problem {
            line,
            ..Problem::file(format!("cannot read the file: {error}"))
        }
    }
}
