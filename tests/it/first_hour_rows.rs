//! The first hour with a campaign file, as the real binary shows it against
//! real PostgreSQL: every problem of a manifest in one run, named by the
//! file; the reasons of invalid rows printed by `load`, with the command that
//! lists them all; a duplicate naming the line it repeats (dry run, `error`,
//! the export's `duplicate_of`); the export in the delimiter of the user's
//! Excel; one table style in every command; times that say their zone.

use std::path::Path;
use std::process::{Command, Output};

use wutt_campaign::db::testing::TestDb;
use wutt_campaign::report::export::CSV_HEADER;

/// Runs the binary with the test's database and drop folder, no API
/// credentials unless `env` gives them.
fn run(db: &TestDb, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wutt-campaign"));
    cmd.args(args)
        .current_dir(dir)
        .env("DATABASE_URL", &db.url)
        .env("WUTT_CAMPAIGNS_DIR", dir.join("campaigns"))
        .env_remove("WUTT_CLIENT_ID")
        .env_remove("WUTT_CLIENT_SECRET")
        .env_remove("WUTT_CLIENT_SECRET_FILE")
        .env_remove("WUTT_BASE_URL")
        .env_remove("TZ")
        .env("RUST_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run the binary")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn text(o: &Output) -> String {
    format!("{}{}", stdout(o), String::from_utf8_lossy(&o.stderr))
}

/// Line 4 is blank and the row on lines 5–6 has a line break in a field, so
/// a row's line is not its data row number + 1: rows 2 and 5 repeat the
/// numbers of rows 1 and 3 (lines 3 → 2 and 8 → 5); row 4 (line 7) is invalid.
const WITH_DUPLICATES: &str = "phone,firstname\n\
    +8801711000001,Ann\n\
    +8801711000001,Ann again\n\
    \n\
    +8801711000002,\"Bo\nB.\"\n\
    +8801711000003;x,Cy\n\
    +8801711000002,Bo again\n";

#[tokio::test]
async fn every_problem_of_a_manifest_in_one_run_each_named_by_the_file() {
    let db = TestDb::new().await;
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("list.csv"),
        "phone,firstname\n+8801711000001,A\n",
    )
    .unwrap();
    // A typo, a send window without its timezone, a word where a number
    // belongs, and a number in quotes (accepted).
    std::fs::write(
        tmp.path().join("list.toml"),
        "name = \"Spring\"\n\
         mesage = \"Hi {{firstname}}\"\n\
         send_window = { start = \"09:00\", end = \"20:00\" }\n\
         max_attempts = \"three\"\n\
         rate_per_second = \"5\"\n",
    )
    .unwrap();
    for args in [
        &["load", "--settle", "0", "--dry-run", "list.csv"][..],
        &["load", "--settle", "0", "list.csv"][..],
    ] {
        let out = run(&db, tmp.path(), args, &[]);
        let all = text(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {all}");
        for must in [
            "list.toml line 2: unknown key \"mesage\": did you mean message?",
            "list.toml line 3, key \"send_window.timezone\": missing: the IANA timezone",
            "list.toml line 4, key \"max_attempts\", value \"three\": must be a whole number, e.g. max_attempts = 3",
        ] {
            assert!(all.contains(must), "{args:?}: {must:?} in\n{all}");
        }
        assert!(
            !all.contains("rate_per_second"),
            "a quoted number is a number: {all}"
        );
        assert!(!all.contains("dry run of \"\""), "{all}");
        assert!(
            !all.contains("| queued"),
            "no counts of rows never read: {all}"
        );
    }
    let dry = text(&run(
        &db,
        tmp.path(),
        &["load", "--settle", "0", "--dry-run", "list.csv"],
        &[],
    ));
    assert!(
        dry.starts_with(
            "dry run of list.csv: list.toml has 3 problem(s), so the rows were not checked:"
        ),
        "{dry}"
    );
    let campaigns: i64 = sqlx::query_scalar("SELECT count(*) FROM campaigns")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(campaigns, 0);

    // Fixed, with the template id in quotes: it loads as the number it is.
    std::fs::write(
        tmp.path().join("list.toml"),
        "template_id = \"42\"\nbody_variables = [\"{{firstname}}\"]\n",
    )
    .unwrap();
    let out = run(
        &db,
        tmp.path(),
        &["load", "--settle", "0", "--dry-run", "list.csv"],
        &[],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(
        all.contains("line 2 → +8801711000001: template 42"),
        "{all}"
    );
}

#[tokio::test]
async fn load_prints_why_rows_are_invalid_and_warns_when_most_are() {
    let db = TestDb::new().await;
    let tmp = tempfile::tempdir().unwrap();
    let mut csv = String::from("phone,firstname\n+8801711000001,A\n+8801711000002,B\n");
    for i in 0..8 {
        csv.push_str(&format!("0171100000{i},N{i}\n"));
    }
    std::fs::write(tmp.path().join("local.csv"), csv).unwrap();
    std::fs::write(
        tmp.path().join("local.toml"),
        "message = \"Hi {{firstname}}\"\n",
    )
    .unwrap();
    let out = run(
        &db,
        tmp.path(),
        &["load", "--settle", "0", "local.csv"],
        &[],
    );
    let all = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        all.contains("8 invalid rows, not sent; the first 5:"),
        "{all}"
    );
    let reasons: Vec<&str> = all
        .lines()
        .filter(|l| l.starts_with("  line ") && l.contains("not in international form"))
        .collect();
    assert_eq!(reasons.len(), 5, "{all}");
    assert!(
        reasons[0].starts_with("  line 4, value \"01711000000\""),
        "{all}"
    );
    let warned = String::from_utf8_lossy(&out.stderr);
    assert!(
        warned.contains("warning: 8 of 10 rows are invalid (80%)")
            && warned.contains("to stop it: wutt-campaign campaign cancel id:1"),
        "a warning, on stderr: {}",
        text(&out)
    );
    let command = all
        .lines()
        .find_map(|l| l.trim().strip_prefix("all of them: "))
        .expect("the command that lists them all");
    assert_eq!(
        command,
        "wutt-campaign report id:1 --recipients --state invalid"
    );

    // The command works as printed, and lists every one with its reason.
    let args: Vec<&str> = command.split(' ').skip(1).collect();
    let listed = run(&db, tmp.path(), &args, &[]);
    assert_eq!(listed.status.code(), Some(0), "{}", text(&listed));
    let rows = csv_rows(&listed.stdout, b',');
    assert_eq!(rows.len(), 8);
    let error = column("error");
    assert!(
        rows.iter()
            .all(|r| r[error].contains("not in international form")),
        "{rows:?}"
    );

    // A file of mostly good rows loads without the warning.
    std::fs::write(
        tmp.path().join("fine.csv"),
        "phone\n+8801711000011\n+8801711000012\nnope\n",
    )
    .unwrap();
    std::fs::write(tmp.path().join("fine.toml"), "message = \"Hi\"\n").unwrap();
    let out = run(&db, tmp.path(), &["load", "--settle", "0", "fine.csv"], &[]);
    let all = text(&out);
    assert!(
        all.contains("1 invalid row, not sent:\n  line 4, value \"nope\""),
        "{all}"
    );
    assert!(!all.contains("rows are invalid"), "{all}");
}

#[tokio::test]
async fn a_duplicate_names_the_line_it_repeats_in_the_dry_run_the_error_and_the_export() {
    let db = TestDb::new().await;
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("dups.csv"), WITH_DUPLICATES).unwrap();
    std::fs::write(
        tmp.path().join("dups.toml"),
        "message = \"Hi {{firstname}}\"\n",
    )
    .unwrap();

    let dry = run(
        &db,
        tmp.path(),
        &["load", "--settle", "0", "--dry-run", "dups.csv"],
        &[],
    );
    let out = stdout(&dry);
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry));
    assert!(
        out.contains(
            "2 duplicate rows, not sent again:\n  \
             line 3, value \"+8801711000001\": same number as line 2\n  \
             line 8, value \"+8801711000002\": same number as line 5\n"
        ),
        "{out}"
    );
    // One way to point at a row: its line, as a spreadsheet numbers it.
    assert!(out.contains("line 5 → +8801711000002"), "{out}");
    assert!(out.contains("line 7, value \"+8801711000003;x\""), "{out}");
    let by_row = regex::Regex::new(r"\brow \d").unwrap();
    assert!(!by_row.is_match(&out), "{out}");

    let load = run(&db, tmp.path(), &["load", "--settle", "0", "dups.csv"], &[]);
    assert_eq!(load.status.code(), Some(0), "{}", text(&load));

    let export = run(&db, tmp.path(), &["report", "dups", "--recipients"], &[]);
    assert_eq!(export.status.code(), Some(0), "{}", text(&export));
    let header = csv_header(&export.stdout, b',');
    assert_eq!(header.last().map(String::as_str), Some("duplicate_of"));
    let rows = csv_rows(&export.stdout, b',');
    let (state, line, error, dup) = (
        column("state"),
        column("line_number"),
        column("error"),
        column("duplicate_of"),
    );
    let duplicates: Vec<(&str, &str, &str)> = rows
        .iter()
        .filter(|r| r[state] == "duplicate")
        .map(|r| (r[line].as_str(), r[dup].as_str(), r[error].as_str()))
        .collect();
    assert_eq!(
        duplicates,
        [
            ("3", "2", "same number as line 2"),
            ("8", "5", "same number as line 5")
        ]
    );
    assert!(
        rows.iter()
            .filter(|r| r[state] != "duplicate")
            .all(|r| r[dup].is_empty()),
        "{rows:?}"
    );

    let json = run(
        &db,
        tmp.path(),
        &[
            "report",
            "dups",
            "--recipients",
            "--format",
            "jsonl",
            "--state",
            "duplicate",
        ],
        &[],
    );
    let first: serde_json::Value =
        serde_json::from_str(stdout(&json).lines().next().unwrap()).unwrap();
    assert_eq!(first["duplicate_of"], 2, "{first}");
    // And in SQL, as the README shows it.
    let lines: Vec<(i32, Option<i32>)> = sqlx::query_as(
        "SELECT line_number, duplicate_of FROM recipient_results \
         WHERE state = 'duplicate' ORDER BY line_number",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(lines, [(3, Some(2)), (8, Some(5))]);
}

#[tokio::test]
async fn the_recipients_export_takes_the_delimiter_of_the_users_excel() {
    let db = TestDb::new().await;
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("semi.csv"),
        "phone,firstname\n+8801711000001,Ann\n+8801711000002,Bo\n",
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("semi.toml"),
        "name = \"Eid; Spring\"\nmessage = \"Hi {{firstname}}\"\n",
    )
    .unwrap();
    let load = run(&db, tmp.path(), &["load", "--settle", "0", "semi.csv"], &[]);
    assert_eq!(load.status.code(), Some(0), "{}", text(&load));

    let out = run(
        &db,
        tmp.path(),
        &[
            "report",
            "Eid; Spring",
            "--recipients",
            "--delimiter",
            ";",
            "-o",
            "r.csv",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let bytes = std::fs::read(tmp.path().join("r.csv")).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "still a BOM for Excel");
    let first_line = String::from_utf8_lossy(&bytes[3..])
        .lines()
        .next()
        .unwrap()
        .to_string();
    assert_eq!(first_line, CSV_HEADER.join(";"));
    let rows = csv_rows(&bytes, b';');
    assert_eq!(rows.len(), 2);
    // A value holding the delimiter is quoted, and reads back whole.
    let raw = String::from_utf8_lossy(&bytes);
    assert!(raw.contains("1;\"Eid; Spring\";1;880;"), "{raw}");
    assert!(
        rows.iter()
            .all(|r| r[column("campaign_name")] == "Eid; Spring")
    );

    let summary = run(
        &db,
        tmp.path(),
        &["report", "--format", "csv", "--delimiter", "tab"],
        &[],
    );
    assert_eq!(summary.status.code(), Some(0), "{}", text(&summary));
    assert!(
        stdout(&summary).contains("campaign_id\tcampaign_name\tstatus\ttotal"),
        "{}",
        stdout(&summary)
    );
    for bad in [
        &["report", "--recipients", "--delimiter", "ab"][..],
        &["report", "--delimiter", ";"][..],
        &[
            "report",
            "--recipients",
            "--format",
            "json",
            "--delimiter",
            ";",
        ][..],
    ] {
        let out = run(&db, tmp.path(), bad, &[]);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", text(&out));
        assert!(
            text(&out).contains("--delimiter"),
            "{bad:?}: {}",
            text(&out)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_draws_its_tables_in_one_style_and_times_say_their_zone() {
    use wutt_campaign::simulator::{self, SimConfig};
    let db = TestDb::new().await;
    let sim = simulator::start(SimConfig::default(), "127.0.0.1:0".parse().unwrap())
        .await
        .expect("simulator");
    let base = sim.base_url();
    let api = [
        ("WUTT_BASE_URL", base.as_str()),
        ("WUTT_CLIENT_ID", "demo-id"),
        ("WUTT_CLIENT_SECRET", "demo-secret"),
    ];
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("t.csv"), WITH_DUPLICATES).unwrap();
    std::fs::write(
        tmp.path().join("t.toml"),
        "message = \"Hi {{firstname}}\"\n",
    )
    .unwrap();
    let suppress = run(&db, tmp.path(), &["suppress", "add", "+8801711000009"], &[]);
    assert_eq!(suppress.status.code(), Some(0), "{}", text(&suppress));

    let mut outputs = Vec::new();
    for args in [
        &["load", "--settle", "0", "--dry-run", "t.csv"][..],
        &["load", "--settle", "0", "t.csv"][..],
        &["report"][..],
        &["campaign", "list"][..],
        &["suppress", "list"][..],
        &["templates", "list"][..],
    ] {
        let out = run(&db, tmp.path(), args, &api);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out));
        outputs.push((args, stdout(&out)));
    }
    for (args, out) in &outputs {
        let table: Vec<&str> = out
            .lines()
            .filter(|l| l.starts_with('+') || l.starts_with('|'))
            .collect();
        assert!(table.len() >= 4, "{args:?} draws a table:\n{out}");
        assert!(
            table.iter().all(|l| l.is_ascii()),
            "{args:?}: plain ASCII, no box drawing:\n{out}"
        );
        assert!(
            table[0].starts_with("+-") && table[2].starts_with("+="),
            "{args:?}: border, header, header rule:\n{out}"
        );
        assert!(
            !table[3..table.len() - 1]
                .iter()
                .any(|l| l.starts_with("+-") || l.starts_with("|-")),
            "{args:?}: no rules between rows:\n{out}"
        );
    }

    // Times in tables follow TZ and say their offset.
    sqlx::query("UPDATE campaigns SET started_at = '2026-12-01T03:00:00Z'")
        .execute(&db.pool)
        .await
        .unwrap();
    let dhaka = stdout(&run(&db, tmp.path(), &["report"], &[("TZ", "Asia/Dhaka")]));
    assert!(dhaka.contains("2026-12-01 09:00 +06:00"), "{dhaka}");
    let utc = stdout(&run(&db, tmp.path(), &["report"], &[("TZ", "UTC")]));
    assert!(utc.contains("2026-12-01 03:00 UTC"), "{utc}");
    let list = stdout(&run(
        &db,
        tmp.path(),
        &["suppress", "list"],
        &[("TZ", "Asia/Dhaka")],
    ));
    assert!(list.contains(" +06:00"), "{list}");
}

/// The index of `name` in the export's columns.
fn column(name: &str) -> usize {
    CSV_HEADER
        .iter()
        .position(|c| *c == name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

fn reader(bytes: &[u8], delimiter: u8) -> csv::Reader<&[u8]> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_reader(bytes)
}

fn csv_header(bytes: &[u8], delimiter: u8) -> Vec<String> {
    reader(bytes, delimiter)
        .headers()
        .unwrap()
        .iter()
        .map(String::from)
        .collect()
}

fn csv_rows(bytes: &[u8], delimiter: u8) -> Vec<Vec<String>> {
    reader(bytes, delimiter)
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect()
}
