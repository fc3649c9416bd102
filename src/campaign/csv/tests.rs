//! Decoding mechanics: chunk boundaries, late encoding decisions, line
//! numbers. File-level cases (each encoding, delimiter, bad input) are in
//! `tests/campaign_files.rs`.

use std::io::Write;

use super::*;

fn source(bytes: &[u8]) -> (tempfile::NamedTempFile, Result<CsvSource, Problem>) {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(bytes).unwrap();
    let source = CsvSource::open(file.path());
    (file, source)
}

fn rows(source: &mut CsvSource) -> Result<Vec<CsvRow>, Problem> {
    std::iter::from_fn(|| source.next_row()).collect()
}

#[test]
fn windows_1252_after_a_long_ascii_start() {
    let mut bytes = b"phone,name\n".to_vec();
    for _ in 0..5000 {
        bytes.extend_from_slice(b"+8801988123456,Plain Ascii Name\n");
    }
    bytes.extend_from_slice(b"+8801988123456,Jos\xE9 \x80\n");
    let (_f, source) = source(&bytes);
    let mut source = source.unwrap();
    assert_eq!(source.encoding(), "ASCII");
    let rows = rows(&mut source).unwrap();
    assert_eq!(rows.len(), 5001);
    assert_eq!(rows[5000].fields[1], "José €");
    assert_eq!(rows[5000].line_number, 5002);
    assert_eq!(source.encoding(), "windows-1252");
}

#[test]
fn utf8_characters_cut_by_chunk_boundaries() {
    let mut bytes = b"phone,name\n".to_vec();
    let line = "+8801988123456,Zoë Ünal ☎ 😀\n".as_bytes();
    while bytes.len() < 3 * SAMPLE_BYTES {
        bytes.extend_from_slice(line);
    }
    let expected = (bytes.len() - 11) / line.len();
    let (_f, source) = source(&bytes);
    let mut source = source.unwrap();
    let rows = rows(&mut source).unwrap();
    assert_eq!(rows.len(), expected);
    assert!(rows.iter().all(|r| r.fields[1] == "Zoë Ünal ☎ 😀"));
    assert_eq!(source.encoding(), "UTF-8");
}

#[test]
fn utf8_then_invalid_bytes_is_an_error_with_its_line() {
    let mut bytes = "phone,name\n+8801988123456,Zoë\n".as_bytes().to_vec();
    for _ in 0..3000 {
        bytes.extend_from_slice(b"+8801988123456,Plain Ascii Name\n");
    }
    bytes.extend_from_slice(b"+8801988123456,Jos\xE9\n");
    let (_f, source) = source(&bytes);
    let mut source = source.unwrap();
    let err = rows(&mut source).unwrap_err();
    assert_eq!(err.line, Some(3003));
    assert!(err.reason.contains("not valid UTF-8"), "{err}");
    assert!(source.next_row().is_none());
}

#[test]
fn line_numbers_count_blank_lines_and_embedded_newlines() {
    let (_f, source) = source(b"\r\nphone;note\r\n\r\n+1;\"two\r\nlines\"\r\n+2;x\r\n");
    let mut source = source.unwrap();
    assert_eq!(source.delimiter(), b';');
    let rows = rows(&mut source).unwrap();
    let lines: Vec<_> = rows.iter().map(|r| r.line_number).collect();
    assert_eq!(lines, [4, 6]);
    assert_eq!(rows[0].fields[1], "two\r\nlines");
    assert_eq!(rows[1].row_number, 2);
}

#[test]
fn an_unclosed_quote_is_refused_without_buffering_the_rest() {
    let mut bytes = b"phone,note\n+1,\"never closed\n".to_vec();
    for _ in 0..100_000 {
        bytes.extend_from_slice(b"+8801988123456,more\n");
    }
    let (_f, source) = source(&bytes);
    let err = match source {
        Ok(mut s) => rows(&mut s).unwrap_err(),
        Err(e) => e,
    };
    assert_eq!(err.line, Some(2));
    assert!(err.reason.contains("never"), "{err}");
}
