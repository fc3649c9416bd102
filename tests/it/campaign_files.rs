//! Campaign files as marketers really make them, and as they break: every
//! fixture is written by the test itself. Each bad input must give a clear
//! error, never a panic; every data row must become exactly one recipient.

use std::path::{Path, PathBuf};

use encoding_rs::WINDOWS_1252;
use proptest::prelude::*;
use wutt_campaign::campaign::Problem;
use wutt_campaign::campaign::csv::CsvSource;
use wutt_campaign::campaign::manifest::Manifest;
use wutt_campaign::campaign::plan::{PlannedRecipient, Planner, Verdict};

#[derive(Debug, Clone, Copy)]
enum Enc {
    Utf8,
    Utf8Bom,
    Utf16Le,
    Utf16Be,
    Windows1252,
}

const ENCODINGS: [Enc; 5] = [
    Enc::Utf8,
    Enc::Utf8Bom,
    Enc::Utf16Le,
    Enc::Utf16Be,
    Enc::Windows1252,
];

fn encode(text: &str, enc: Enc) -> Vec<u8> {
    let utf16 = |bom: [u8; 2], f: fn(u16) -> [u8; 2]| {
        let mut out = bom.to_vec();
        text.encode_utf16().for_each(|u| out.extend(f(u)));
        out
    };
    match enc {
        Enc::Utf8 => text.as_bytes().to_vec(),
        Enc::Utf8Bom => [b"\xEF\xBB\xBF", text.as_bytes()].concat(),
        Enc::Utf16Le => utf16([0xFF, 0xFE], u16::to_le_bytes),
        Enc::Utf16Be => utf16([0xFE, 0xFF], u16::to_be_bytes),
        Enc::Windows1252 => {
            let (bytes, _, unmappable) = WINDOWS_1252.encode(text);
            assert!(!unmappable, "fixture not representable in Windows-1252");
            bytes.into_owned()
        }
    }
}

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Dir {
        Dir(tempfile::tempdir().unwrap())
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn path(&self) -> &Path {
        self.0.path()
    }
}

/// Reads and plans a whole file; `Err` is the problem that rejects it.
fn load(path: &Path, manifest: &Manifest) -> Result<Vec<PlannedRecipient>, Vec<Problem>> {
    let mut source = CsvSource::open(path).map_err(|p| vec![p])?;
    let planner = Planner::new(manifest, source.headers())?;
    let mut planned = Vec::new();
    while let Some(row) = source.next_row() {
        planned.push(planner.plan(&row.map_err(|p| vec![p])?));
    }
    Ok(planned)
}

fn load_bytes(bytes: &[u8]) -> Result<Vec<PlannedRecipient>, Vec<Problem>> {
    let dir = Dir::new();
    load(&dir.write("list.csv", bytes), &text_manifest())
}

fn text_manifest() -> Manifest {
    Manifest::parse("message = \"Hi {{ FirstName }}, {{note}}\"").unwrap()
}

fn rejected(bytes: &[u8]) -> String {
    match load_bytes(bytes) {
        Ok(planned) => panic!("accepted: {planned:?}"),
        Err(problems) => problems
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// A file with every awkward feature, written with `delimiter` and line ending `eol`.
fn messy(delimiter: char, eol: &str) -> String {
    let d = delimiter;
    [
        format!(" Phone {d} FirstName {d}note"),
        String::new(),
        format!("+880 1988-123456{d} José {d}\"say \"\"hi\"\"{d} twice\""),
        format!("00880 1711 123456{d}Zoë{d}\"€ 5 off{eol}this week\""),
        format!("{eol}+44 7911 123456{d}Ünal{d}plain"),
        format!("+1 (415) 555-2671{d}Ann"),
        format!("not a phone{d}Bob{d}x"),
        String::new(),
    ]
    .join(eol)
}

fn check_messy(planned: &[PlannedRecipient], d: char, eol: &str) {
    assert_eq!(planned.len(), 5, "{planned:#?}");
    let numbers: Vec<u64> = planned.iter().map(|p| p.line_number).collect();
    assert_eq!(numbers, [3, 4, 7, 8, 9]);
    assert_eq!(
        planned[0].message.as_deref(),
        Some(format!("Hi José, say \"hi\"{d} twice").as_str())
    );
    let note = format!("€ 5 off{eol}this week");
    assert_eq!(planned[1].message, Some(format!("Hi Zoë, {note}")));
    assert_eq!(planned[2].message.as_deref(), Some("Hi Ünal, plain"));
    assert!(matches!(&planned[2].verdict, Verdict::Ready(n) if n.e164() == "+447911123456"));
    assert!(matches!(&planned[3].verdict, Verdict::Invalid(r) if r.contains("2 fields")));
    assert!(matches!(&planned[4].verdict, Verdict::Invalid(r) if r.contains("letters")));
}

#[test]
fn every_encoding_delimiter_and_line_ending_loads() {
    for enc in ENCODINGS {
        for delimiter in [',', ';', '\t'] {
            for eol in ["\n", "\r\n"] {
                let dir = Dir::new();
                let path = dir.write("list.csv", &encode(&messy(delimiter, eol), enc));
                let planned = load(&path, &text_manifest())
                    .unwrap_or_else(|p| panic!("{enc:?} {delimiter:?} {eol:?}: {p:?}"));
                check_messy(&planned, delimiter, eol);
                let source = CsvSource::open(&path).unwrap();
                assert_eq!(source.delimiter(), delimiter as u8);
            }
        }
    }
}

#[test]
fn encoding_is_reported() {
    let cases = [
        (Enc::Utf8, "UTF-8"),
        (Enc::Utf8Bom, "UTF-8"),
        (Enc::Utf16Le, "UTF-16LE"),
        (Enc::Utf16Be, "UTF-16BE"),
        (Enc::Windows1252, "windows-1252"),
    ];
    for (enc, name) in cases {
        let dir = Dir::new();
        let source = CsvSource::open(&dir.write("a.csv", &encode(&messy(',', "\n"), enc))).unwrap();
        assert_eq!(source.encoding(), name);
        assert_eq!(source.headers(), ["Phone", "FirstName", "note"]);
    }
}

#[test]
fn whole_file_problems_reject_the_file() {
    let cases: [(&[u8], &str); 7] = [
        (b"", "empty"),
        (b"\r\n\n  \n", "no header"),
        (b"phone,name\r\n\r\n", "no data rows"),
        (b"name,city\nAnn,Dhaka\n", "no phone column"),
        (
            b"phone,Name, name \n+8801988123456,a,b\n",
            "duplicate column name",
        ),
        (b"phone,,name\n+8801988123456,a,b\n", "no name"),
        (b"phone,name\n+8801988123456,\"a\"\"b\n", "never closed"),
    ];
    for (bytes, expected) in cases {
        let error = rejected(bytes);
        assert!(error.contains(expected), "{bytes:?}: {error}");
    }
}

#[test]
fn a_20_mb_field_is_refused_quickly() {
    let mut bytes = b"phone,note\n+8801988123456,".to_vec();
    bytes.resize(bytes.len() + 20_000_000, b'a');
    bytes.extend_from_slice(b"\n");
    let started = std::time::Instant::now();
    let error = rejected(&bytes);
    assert!(
        error.contains("line 2") && error.contains("longer than"),
        "{error}"
    );
    println!("refused a 20 MB field in {:?}", started.elapsed());
    // Quoted, with newlines inside: still refused.
    let field = "x".repeat(99) + "\n";
    let quoted = format!("phone,note\n+8801988123456,\"{}\"\n", field.repeat(200_000));
    assert!(rejected(quoted.as_bytes()).contains("longer than"));
    // Under the row limit but over the field limit.
    let big = format!("phone,note\n+8801988123456,{}\n", "y".repeat(100_000));
    let error = rejected(big.as_bytes());
    assert!(
        error.contains("column \"note\"") && error.contains("64 KiB"),
        "{error}"
    );
}

#[test]
fn binary_garbage_is_not_text() {
    let mut state = 0x2545_f491_u32;
    let garbage: Vec<u8> = (0..50_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect();
    assert!(rejected(&garbage).contains("not a text file"));
    assert!(rejected(b"PK\x03\x04\x14\0\0\0rest of a workbook").contains("Excel"));
}

/// Runs `f` on a thread and fails the test if it has not returned within 10 s
/// (a hang would otherwise block the whole test binary).
fn within_10s<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(std::time::Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("{what} hung"))
}

#[cfg(unix)]
#[test]
fn a_fifo_or_a_folder_named_like_a_campaign_file_is_refused_without_hanging() {
    let dir = Dir::new();
    let fifo = dir.path().join("list.csv");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let toml = dir.path().join("list.toml");
    std::fs::create_dir(&toml).unwrap();
    let csv_error = within_10s("opening a FIFO as CSV", move || {
        CsvSource::open(&fifo).err().map(|p| p.to_string())
    });
    let csv_error = csv_error.expect("a FIFO is not a campaign file");
    assert!(csv_error.contains("not a regular file"), "{csv_error}");
    let problems = Manifest::load(&toml).unwrap_err();
    assert!(
        problems[0].reason.contains("not a regular file"),
        "{problems:?}"
    );
}

#[test]
fn manifest_with_an_unknown_key() {
    let dir = Dir::new();
    let path = dir.write("list.toml", b"name = \"Eid\"\nmesage = \"Hi\"\n");
    let problems = Manifest::load(&path).unwrap_err();
    assert!(problems[0].to_string().contains("line 2") && problems[0].reason.contains("mesage"));
}

#[test]
fn manifest_problems_all_at_once_each_naming_the_file() {
    let dir = Dir::new();
    let path = dir.write(
        "list.toml",
        b"templte_id = 4\nmessage = 7\nsend_window = { start = \"09:00\", end = \"20:00\", tz = \"UTC\" }\n",
    );
    let problems = Manifest::load(&path).unwrap_err();
    let shown: Vec<String> = problems.iter().map(Problem::to_string).collect();
    assert_eq!(
        shown,
        [
            "list.toml line 1: unknown key \"templte_id\": did you mean template_id?",
            "list.toml line 2, key \"message\", value \"7\": must be text in quotes, e.g. message = \"Hi {{firstname}}\"",
            "list.toml line 3: unknown key \"send_window.tz\": did you mean timezone?",
            "list.toml line 3, key \"send_window.timezone\": missing: the IANA timezone the hours are in, e.g. timezone = \"Asia/Dhaka\"",
        ]
    );
}

/// The README's example manifest (in "The drop folder") names every key and
/// reads as written; its commented text keys, without the template's, read too.
#[test]
fn the_readme_example_manifest_has_every_key_and_reads() {
    use wutt_campaign::campaign::manifest::read::KEYS;
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = &readme[readme.find("## The drop folder").expect("the section")..];
    let block = section
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a toml block in The drop folder");
    let written = |key: &str| {
        block
            .lines()
            .any(|l| l.trim_start_matches("# ").starts_with(&format!("{key} = ")))
    };
    for key in KEYS {
        assert!(
            written(key),
            "{key} is not in the README's example:\n{block}"
        );
    }
    let template = Manifest::parse(block).unwrap_or_else(|p| panic!("{p:?}"));
    assert_eq!(template.template_id, Some(5));
    assert_eq!(template.body_variables.as_ref().map(Vec::len), Some(2));
    assert!(template.send_window.is_some() && !template.create_contacts);
    let text: String = block
        .lines()
        .filter_map(|l| l.strip_prefix("# "))
        .filter(|l| l.contains(" = "))
        .map(|l| format!("{l}\n"))
        .collect();
    let text = Manifest::parse(&text).unwrap_or_else(|p| panic!("{p:?}\n{text}"));
    assert!(text.message.is_some() && text.image.is_some() && text.interactive_list_id.is_some());
}

#[test]
fn placeholder_for_a_missing_column() {
    let dir = Dir::new();
    let path = dir.write("list.csv", b"phone,first\n+8801988123456,Ann\n");
    let manifest = Manifest::parse("message = \"Hi {{firstname}} {{ first }}\"").unwrap();
    let problems = load(&path, &manifest).unwrap_err();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].column.as_deref(), Some("firstname"));
    assert!(problems[0].reason.contains("phone, first"));
}

#[test]
fn template_variables_and_contact_names_from_every_spreadsheet_export() {
    let dir = Dir::new();
    let manifest = Manifest::load(
        &dir.write(
            "list.toml",
            "template_id = 12\nbody_variables = [\"{{ First Name }}\", \"Order {{order}}\"]\n\
         header_variables = [\"{{last name}}\"]\ncreate_contacts = true\n"
                .as_bytes(),
        ),
    )
    .unwrap();
    let text = "Phone;First Name;Last Name;Order\r\n\
                +880 1988-123456; José ;Müller;A-1\r\n\
                +44 7911 123456;Zoë;;B-2\r\n\
                +1 415 555 2671;Ann;Lee;\"two\r\nlines\"\r\n\
                +1 415 555 2672;Bo;Lee;\r\n";
    for enc in ENCODINGS {
        let planned = load(&dir.write("list.csv", &encode(text, enc)), &manifest)
            .unwrap_or_else(|p| panic!("{enc:?}: {p:?}"));
        assert_eq!(planned.len(), 4, "{enc:?}");
        let p = &planned[0];
        assert!(matches!(p.verdict, Verdict::Ready(_)), "{enc:?}: {p:?}");
        assert_eq!(
            p.body_variables.as_deref(),
            Some(&["José".to_string(), "Order A-1".to_string()][..]),
            "{enc:?}"
        );
        assert_eq!(
            p.header_variables.as_deref(),
            Some(&["Müller".to_string()][..])
        );
        assert_eq!(
            (p.firstname.as_deref(), p.lastname.as_deref()),
            (Some("José"), Some("Müller"))
        );
        let reasons: Vec<String> = planned[1..3]
            .iter()
            .map(|p| match &p.verdict {
                Verdict::Invalid(reason) => reason.clone(),
                Verdict::Ready(n) => panic!("{enc:?}: ready for {n}"),
            })
            .collect();
        // The empty last name fails the header variable before the contact check.
        assert_eq!(
            reasons[0], "header variable 1 ({{last name}}) is empty on this row",
            "{enc:?}"
        );
        assert!(
            reasons[1].contains("body variable 2 (Order {{order}}) contains a line break"),
            "{enc:?}: {reasons:?}"
        );
        // "Order " alone is not empty: the marketer wrote text around it.
        assert_eq!(
            planned[3].body_variables.as_deref(),
            Some(&["Bo".to_string(), "Order".to_string()][..])
        );
    }
}

#[test]
fn template_variables_naming_no_column_are_problems_of_the_manifest() {
    let dir = Dir::new();
    let path = dir.write("list.csv", b"phone,first\n+8801988123456,Ann\n");
    let manifest =
        Manifest::parse("template_id = 3\nbody_variables = [\"{{first}}\", \"{{ order_id }}\"]")
            .unwrap();
    let problems = load(&path, &manifest).unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].column.as_deref(), Some("body_variables"));
    assert!(
        problems[0]
            .to_string()
            .contains("variable 2 (\"{{ order_id }}\"): placeholder {{order_id}} names no column; the columns are: phone, first"),
        "{}",
        problems[0]
    );
}

fn media_problem(dir: &Path, toml: &str) -> String {
    let manifest = Manifest::parse(toml).unwrap();
    let problems = manifest.media(dir).unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:?}");
    problems[0].to_string()
}

#[test]
fn media_must_stay_inside_the_folder_and_within_limits() {
    let outside = Dir::new();
    outside.write("secret.png", b"png");
    let dir = Dir::new();
    dir.write("banner.PNG", b"\x89PNG...");
    dir.write("notes.txt", b"text");
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let big = std::fs::File::create(dir.path().join("huge.jpg")).unwrap();
    big.set_len(5_000_001).unwrap();
    let cases = [
        ("image = \"../banner.png\"", "`..`"),
        ("image = \"sub/../banner.PNG\"", "`..`"),
        (
            &format!("image = {:?}", dir.path().join("banner.PNG")),
            "absolute",
        ),
        ("image = \"notes.txt\"", "not an accepted image type"),
        ("video = \"banner.PNG\"", "accepted: mp4"),
        ("image = \"huge.jpg\"", "limit for image is 5000000"),
        ("image = \"missing.png\"", "not found"),
        ("image = \"sub\"", "not a regular file"),
    ];
    for (toml, expected) in cases {
        let error = media_problem(dir.path(), toml);
        assert!(error.contains(expected), "{toml}: {error}");
        assert!(error.contains("column \"image\"") || error.contains("column \"video\""));
    }
    let manifest =
        Manifest::parse("image = \"banner.PNG\"\ndocument = \"sub/../notes.txt\"").unwrap();
    assert_eq!(manifest.media(dir.path()).unwrap_err().len(), 1);
    let ok = Manifest::parse("image = \"./banner.PNG\"")
        .unwrap()
        .media(dir.path())
        .unwrap();
    assert_eq!((ok[0].mime_type.as_str(), ok[0].size), ("image/png", 7));
    assert_eq!(ok[0].file_name, "banner.PNG");
}

#[cfg(unix)]
#[test]
fn a_symlink_leading_out_of_the_folder_is_refused() {
    use std::os::unix::fs::symlink;
    let outside = Dir::new();
    let secret = outside.write("secret.png", b"png");
    let dir = Dir::new();
    dir.write("banner.png", b"png");
    symlink(&secret, dir.path().join("escape.png")).unwrap();
    symlink(outside.path(), dir.path().join("linked")).unwrap();
    symlink(dir.path().join("banner.png"), dir.path().join("alias.png")).unwrap();
    for name in ["escape.png", "linked/secret.png"] {
        let error = media_problem(dir.path(), &format!("image = {name:?}"));
        assert!(error.contains("outside the campaign's folder"), "{error}");
    }
    let inside = Manifest::parse("image = \"alias.png\"")
        .unwrap()
        .media(dir.path())
        .unwrap();
    assert_eq!(
        inside[0].path,
        dir.path().canonicalize().unwrap().join("banner.png")
    );
}

/// One generated row: the values it should read back as, and how it is written.
#[derive(Debug, Clone)]
struct GenRow {
    cells: Vec<(String, bool, usize)>,
    blank_before: usize,
}

const WORDS: [&str; 10] = [
    "José",
    "Zoë",
    "€5",
    "Ünal",
    "a,b",
    "x;y",
    "tab\there",
    "say \"hi\"",
    "two\nlines",
    "",
];
const PHONES: [&str; 5] = [
    "+880 1988-123456",
    "+1 (415) 555-2671",
    "0044 7911 123456",
    "junk",
    "",
];

fn gen_row(columns: usize) -> impl Strategy<Value = GenRow> {
    let cell = (0..WORDS.len(), any::<bool>(), 0..3usize);
    let len = prop_oneof![8 => Just(columns), 1 => 1..columns + 2];
    (len, 0..2usize, 0..PHONES.len())
        .prop_flat_map(move |(len, blank_before, phone)| {
            (
                prop::collection::vec(cell.clone(), len),
                Just(blank_before),
                Just(phone),
            )
        })
        .prop_map(|(cells, blank_before, phone)| {
            let mut cells: Vec<(String, bool, usize)> = cells
                .into_iter()
                .map(|(w, quote, spaces)| (WORDS[w].to_string(), quote, spaces))
                .collect();
            cells[0].0 = PHONES[phone].to_string();
            if cells.len() == 1 && cells[0].0.is_empty() {
                cells[0].0 = "junk".into(); // a lone empty field is a blank line
            }
            GenRow {
                cells,
                blank_before,
            }
        })
}

/// Writes `rows` as CSV; quotes what must be quoted, pads others with spaces.
fn write_csv(header: &[&str], rows: &[GenRow], d: char, eol: &str) -> String {
    let field = |(value, quote, spaces): &(String, bool, usize)| {
        let special = value.contains([d, '"', '\n', '\r']) || value.is_empty();
        if *quote || special {
            format!("\"{}\"", value.replace('"', "\"\""))
        } else {
            let pad = " ".repeat(*spaces);
            format!("{pad}{value}{pad}")
        }
    };
    let mut out = header.join(&d.to_string()) + eol;
    for row in rows {
        out.push_str(&eol.repeat(row.blank_before));
        let fields: Vec<String> = row.cells.iter().map(field).collect();
        out.push_str(&fields.join(&d.to_string()));
        out.push_str(eol);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn every_data_row_becomes_one_recipient(
        rows in prop::collection::vec(gen_row(3), 1..40),
        delimiter in prop::sample::select(vec![',', ';', '\t']),
        enc in prop::sample::select(ENCODINGS.to_vec()),
        crlf in any::<bool>(),
    ) {
        let eol = if crlf { "\r\n" } else { "\n" };
        let text = write_csv(&["phone", "FirstName", "note"], &rows, delimiter, eol);
        let text = text.replace('\n', eol).replace("\r\r\n", "\r\n");
        let planned = load_bytes(&encode(&text, enc)).map_err(|p| TestCaseError::fail(format!("{p:?}")))?;
        prop_assert_eq!(planned.len(), rows.len());
        for (row, plan) in rows.iter().zip(&planned) {
            prop_assert_eq!(plan.raw_phone.as_str(), row.cells[0].0.trim());
            if row.cells.len() < 3 {
                prop_assert!(matches!(plan.verdict, Verdict::Invalid(_)));
            }
        }
    }
}

/// `cargo test --test campaign_files -- --ignored --nocapture` prints the rate.
#[test]
#[ignore = "throughput measurement, not a check"]
fn stream_a_million_rows() {
    use std::io::Write;
    let dir = Dir::new();
    let path = dir.path().join("million.csv");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(file, "phone,firstname,note").unwrap();
    for i in 0..1_000_000u32 {
        writeln!(
            file,
            "+880 1{:09},Name {i},\"note, with comma\"",
            700_000_000 + i
        )
        .unwrap();
    }
    file.flush().unwrap();
    drop(file);
    let started = std::time::Instant::now();
    let mut source = CsvSource::open(&path).unwrap();
    let planner = Planner::new(&text_manifest(), source.headers()).unwrap();
    let mut ready = 0;
    while let Some(row) = source.next_row() {
        ready += usize::from(matches!(
            planner.plan(&row.unwrap()).verdict,
            Verdict::Ready(_)
        ));
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "1,000,000 rows in {elapsed:.2} s: {:.0} rows/s",
        1e6 / elapsed
    );
    assert_eq!(ready, 1_000_000);
}
