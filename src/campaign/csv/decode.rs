//! A streaming `Read` adapter: raw bytes in any detected encoding → UTF-8,
//! with a bound on how long one CSV row may grow.
//!
//! It follows the CSV quoting just enough (the same states as the csv
//! crate's parser) to know where a row ends, so a quote that is never closed
//! or a 20 MB field is refused after [`MAX_ROW_BYTES`], not buffered whole.
//! It also counts physical lines so an error can name the line.

use std::collections::VecDeque;
use std::io::{self, Read};

use encoding_rs::{Decoder, DecoderResult, Encoding, UTF_8, WINDOWS_1252};

use super::sniff::Detected;

/// No sane recipient row is longer (in UTF-8 bytes).
pub const MAX_ROW_BYTES: usize = 1 << 20;
const CHUNK: usize = 64 * 1024;

/// A whole-file problem met while decoding, carried through `io::Error`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct DecodeProblem {
    pub line: u64,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// Where the parser is within a field (the csv crate's states).
enum Field {
    Start,
    Unquoted,
    Quoted,
    QuoteSeen,
}

pub struct Decode<R> {
    inner: R,
    input: Vec<u8>,
    in_pos: usize,
    eof: bool,
    /// `None` while the text has been plain ASCII and no encoding decided.
    decoder: Option<Decoder>,
    out: Vec<u8>,
    out_pos: usize,
    finished: bool,
    failure: Option<DecodeProblem>,
    delimiter: u8,
    quote: Field,
    line: u64,
    row_start_line: u64,
    row_bytes: usize,
    /// Lines on which rows start, not yet taken by [`Decode::next_row_line`].
    row_lines: VecDeque<u64>,
}

impl<R: Read> Decode<R> {
    pub fn new(inner: R, detected: Detected, delimiter: u8) -> Self {
        let decoder = match detected {
            Detected::Known(encoding, _) => Some(encoding.new_decoder_without_bom_handling()),
            Detected::Ascii => None,
        };
        Decode {
            inner,
            input: Vec::with_capacity(CHUNK),
            in_pos: 0,
            eof: false,
            decoder,
            out: Vec::with_capacity(3 * CHUNK + 16),
            out_pos: 0,
            finished: false,
            failure: None,
            delimiter,
            quote: Field::Start,
            line: 1,
            row_start_line: 1,
            row_bytes: 0,
            row_lines: VecDeque::new(),
        }
    }

    /// The physical line (1-based) of the next row the CSV parser reads.
    /// Rows are found with the parser's own rules (blank lines are no rows,
    /// quoted newlines do not end one), so the two stay in step.
    pub fn next_row_line(&mut self) -> u64 {
        self.row_lines.pop_front().unwrap_or(self.line)
    }

    /// The encoding in use; `None` while the file has been plain ASCII.
    pub fn encoding(&self) -> Option<&'static Encoding> {
        self.decoder.as_ref().map(Decoder::encoding)
    }

    /// Makes at least `want` unread input bytes available, unless at the end.
    fn fill(&mut self, want: usize) -> io::Result<()> {
        while self.input.len() - self.in_pos < want && !self.eof {
            self.input.drain(..self.in_pos);
            self.in_pos = 0;
            let len = self.input.len();
            self.input.resize(len + CHUNK, 0);
            let n = loop {
                match self.inner.read(&mut self.input[len..]) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => break other,
                }
            };
            self.input.truncate(len + n.as_ref().map_or(0, |n| *n));
            self.eof = n? == 0;
        }
        Ok(())
    }

    /// Decodes the next piece of input into `out`.
    fn produce(&mut self) -> io::Result<()> {
        self.out.clear();
        self.out_pos = 0;
        self.fill(4)?;
        let pending = &self.input[self.in_pos..];
        let Some(decoder) = self.decoder.as_mut() else {
            let ascii = pending
                .iter()
                .position(|b| !b.is_ascii())
                .unwrap_or(pending.len());
            if ascii == 0 && !pending.is_empty() {
                // The first non-ASCII character decides the encoding.
                let head = &pending[..pending.len().min(4)];
                let complete = self.eof && head.len() == pending.len();
                let utf8 = super::sniff::is_utf8(head, complete);
                let encoding = if utf8 { UTF_8 } else { WINDOWS_1252 };
                self.decoder = Some(encoding.new_decoder_without_bom_handling());
                return Ok(());
            }
            let end = pending.is_empty();
            self.out.extend_from_slice(&pending[..ascii]);
            self.in_pos += ascii;
            if end {
                self.end_of_input();
            }
            self.scan();
            return Ok(());
        };
        let name = decoder.encoding().name();
        self.out.resize(self.out.capacity(), 0);
        let last = self.eof;
        let (result, read, written) =
            decoder.decode_to_utf8_without_replacement(pending, &mut self.out, last);
        self.in_pos += read;
        self.out.truncate(written);
        self.scan();
        match result {
            DecoderResult::InputEmpty if last => self.end_of_input(),
            DecoderResult::InputEmpty => {}
            DecoderResult::OutputFull => {}
            DecoderResult::Malformed(..) => self.fail(
                self.line,
                format!(
                    "bytes that are not valid {name}; the file mixes encodings \
                     (open it and save it again as CSV UTF-8)"
                ),
            ),
        }
        Ok(())
    }

    /// Follows rows and lines through freshly decoded output.
    fn scan(&mut self) {
        for i in 0..self.out.len() {
            let b = self.out[i];
            let newline = b == b'\n' || b == b'\r';
            self.quote = match (self.quote, b) {
                (Field::Quoted, b'"') => Field::QuoteSeen,
                (Field::Quoted, _) => Field::Quoted,
                (Field::Start, b'"') | (Field::QuoteSeen, b'"') => Field::Quoted,
                (_, b) if b == self.delimiter || newline => Field::Start,
                _ => Field::Unquoted,
            };
            if b == b'\n' {
                self.line += 1;
            }
            if self.row_bytes == 0 && !newline {
                self.row_lines.push_back(self.line);
            }
            if newline && self.quote == Field::Start {
                self.row_bytes = 0;
                self.row_start_line = self.line;
            } else {
                self.row_bytes += 1;
                if self.row_bytes > MAX_ROW_BYTES {
                    self.out.truncate(i);
                    self.fail(
                        self.row_start_line,
                        format!(
                            "the row starting here is longer than {} KiB: a quote (\") is \
                             never closed, or a field is far larger than any message",
                            MAX_ROW_BYTES / 1024
                        ),
                    );
                    break;
                }
            }
        }
    }

    /// All input is decoded; a quote still open swallowed the rest of the file.
    fn end_of_input(&mut self) {
        if self.quote == Field::Quoted {
            let reason = "a quote (\") opened in the row starting here is never closed";
            self.fail(self.row_start_line, reason.into());
        }
        self.finished = true;
    }

    /// Stops decoding; `problem` is returned once the output before it is read.
    fn fail(&mut self, line: u64, reason: String) {
        if self.failure.is_none() {
            self.failure = Some(DecodeProblem { line, reason });
        }
        self.finished = true;
    }
}

impl<R: Read> Read for Decode<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.out_pos == self.out.len() {
            if self.finished {
                return match self.failure.take() {
                    Some(problem) => Err(io::Error::new(io::ErrorKind::InvalidData, problem)),
                    None => Ok(0),
                };
            }
            self.produce()?;
        }
        let n = buf.len().min(self.out.len() - self.out_pos);
        buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}
