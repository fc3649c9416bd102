//! Reporting against real PostgreSQL: the views add up to the rows loaded,
//! failures group by reason, CSV cells are Excel-safe, and `report
//! --recipients` streams 200,000 rows with flat memory.

use std::io::Write;
use std::process::{Command, Stdio};

use wutt_campaign::db::testing::TestDb;
use wutt_campaign::report::{self, Format, RecipientFilter, excel::neutralise};

/// Inserts a campaign and returns its id.
async fn campaign(db: &TestDb, name: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO campaigns (name, source_sha256, source_file) \
         VALUES ($1, sha256(convert_to($1, 'UTF8')), $1 || '.csv') RETURNING id",
    )
    .bind(name)
    .fetch_one(&db.pool)
    .await
    .unwrap()
}

/// Inserts `n` recipients cycling through `states`, numbered from `first`.
async fn recipients(db: &TestDb, campaign: i64, first: i32, n: i32, states: &[&str]) {
    let states: Vec<String> = states.iter().map(|s| s.to_string()).collect();
    sqlx::query(
        "INSERT INTO recipients (campaign_id, row_number, line_number, raw_phone, mobile_code, mobile, state) \
         SELECT $1, g, g + 1, '+880 1712-' || g, \
                CASE WHEN s = 'invalid' THEN NULL ELSE '880' END, \
                CASE WHEN s = 'invalid' THEN NULL ELSE '1712' || lpad(g::text, 6, '0') END, s \
         FROM generate_series($2::int, $2 + $3 - 1) g, \
              LATERAL (SELECT ($4::text[])[1 + (g % cardinality($4::text[]))] AS s) st",
    )
    .bind(campaign)
    .bind(first)
    .bind(n)
    .bind(&states)
    .execute(&db.pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn summary_counts_add_up_to_the_rows_loaded() {
    let db = TestDb::new().await;
    let a = campaign(&db, "all-states").await;
    let b = campaign(&db, "half-sent").await;
    let empty = campaign(&db, "empty").await;
    recipients(&db, a, 1, 1_001, &report::STATES).await;
    recipients(&db, b, 1, 40, &["sent", "queued"]).await;

    let all = report::summaries(&db.pool, None).await.unwrap();
    assert_eq!(all.len(), 3);
    for s in &all {
        assert_eq!(s.counts().iter().sum::<i64>(), s.total, "{s:?}");
    }
    let by_id = |id: i64| all.iter().find(|s| s.campaign_id == id).unwrap();
    assert_eq!(by_id(a).total, 1_001);
    assert!(by_id(a).counts().iter().all(|&c| c >= 91), "{:?}", by_id(a));
    assert_eq!(
        (by_id(b).total, by_id(b).sent, by_id(b).queued),
        (40, 20, 20)
    );
    assert_eq!(by_id(b).left(), 20);
    assert_eq!(by_id(empty).total, 0);

    // The same through plain SQL, as an analyst would write it.
    let bad: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM campaign_summary WHERE total <> queued + sending + retrying + sent \
         + failed + unknown + invalid + duplicate + suppressed + cancelled + expired",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(bad, 0);
    let results: i64 = sqlx::query_scalar("SELECT count(*) FROM recipient_results")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(results, 1_041);

    let one = report::summaries(&db.pool, Some(b)).await.unwrap();
    assert_eq!(one, vec![by_id(b).clone()]);
    let found = report::find_campaign(&db.pool, "half-sent").await.unwrap();
    assert_eq!(found.map(|c| c.id), Some(b));
    let found = report::find_campaign(&db.pool, &a.to_string())
        .await
        .unwrap();
    assert_eq!(found.map(|c| c.name), Some("all-states".to_string()));
    assert!(
        report::find_campaign(&db.pool, "nope")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn campaign_errors_groups_failures_by_reason() {
    let db = TestDb::new().await;
    let c = campaign(&db, "errors").await;
    recipients(&db, c, 1, 10, &["sent"]).await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "UPDATE recipients SET state = 'failed', outcome = 'rejected', remark = 'Invalid number', \
             messages = ARRAY['Number is not on WhatsApp'] WHERE campaign_id = {c} AND row_number <= 3;
         UPDATE recipients SET state = 'failed', outcome = 'transient', http_status = 502, \
             error = 'HTTP 502 after 5 attempts' WHERE campaign_id = {c} AND row_number = 4;
         UPDATE recipients SET state = 'unknown', outcome = 'ambiguous', \
             error = 'timeout after sending' WHERE campaign_id = {c} AND row_number IN (5, 6);
         UPDATE recipients SET state = 'invalid', mobile_code = NULL, mobile = NULL, \
             error = 'not a phone number' WHERE campaign_id = {c} AND row_number = 7;"
    )))
    .execute(&db.pool)
    .await
    .unwrap();

    let rows: Vec<(String, Option<String>, String, i64, String)> = sqlx::query_as(
        "SELECT outcome, remark, message, recipients, example_mobile FROM campaign_errors \
         WHERE campaign_id = $1 ORDER BY recipients DESC, outcome",
    )
    .bind(c)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let expected: Vec<(String, Option<String>, String, i64, String)> = vec![
        (
            "rejected".into(),
            Some("Invalid number".into()),
            "Number is not on WhatsApp".into(),
            3,
            "+8801712000001".into(),
        ),
        (
            "ambiguous".into(),
            None,
            "timeout after sending".into(),
            2,
            "+8801712000005".into(),
        ),
        (
            "invalid".into(),
            None,
            "not a phone number".into(),
            1,
            "+880 1712-7".into(),
        ),
        (
            "transient".into(),
            None,
            "HTTP 502 after 5 attempts".into(),
            1,
            "+8801712000004".into(),
        ),
    ];
    assert_eq!(rows, expected);
}

#[test]
fn every_dangerous_prefix_is_neutralised() {
    for cell in [
        "=1+1",
        "+8801712345678",
        "-2+3",
        "@SUM(A1)",
        "\tcmd",
        "\rcmd",
    ] {
        assert_eq!(neutralise(cell), format!("'{cell}"), "{cell:?}");
    }
}

#[test]
fn harmless_cells_are_unchanged() {
    for cell in [
        "",
        "8801712345678",
        "José Zoë",
        "a=b",
        "'already",
        " =x",
        "1712-345678",
    ] {
        assert_eq!(neutralise(cell), cell, "{cell:?}");
    }
}

#[tokio::test]
async fn csv_export_is_excel_safe_with_bom() {
    let db = TestDb::new().await;
    let c = campaign(&db, "=cmd|' /C calc'!A0").await;
    recipients(&db, c, 1, 2, &["failed"]).await;
    sqlx::query(
        "UPDATE recipients SET remark = '@SUM(1)', messages = ARRAY['-1+1'] WHERE campaign_id = $1",
    )
    .bind(c)
    .execute(&db.pool)
    .await
    .unwrap();
    let mut out = Vec::new();
    let filter = RecipientFilter {
        campaign_id: Some(c),
        state: None,
    };
    let n = report::write_recipients(&db.pool, &filter, Format::Csv, &mut out)
        .await
        .unwrap();
    assert_eq!(n, 2);
    assert!(out.starts_with(b"\xEF\xBB\xBF"), "UTF-8 BOM first");
    let text = String::from_utf8(out[3..].to_vec()).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    for record in reader.records() {
        let record = record.unwrap();
        for cell in &record {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{cell:?} in {record:?}"
            );
        }
        assert_eq!(&record[1], "'=cmd|' /C calc'!A0");
        assert_eq!(&record[8], "'@SUM(1)");
        assert_eq!(&record[9], "'-1+1");
        assert_eq!(&record[4][..4], "1712", "canonical numbers stay digits");
    }
}

/// Counts what is written without keeping it.
#[derive(Default)]
struct Counting {
    bytes: u64,
    lines: u64,
}

impl Write for Counting {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes += buf.len() as u64;
        self.lines += buf.iter().filter(|&&b| b == b'\n').count() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs the binary to the end: its exit code and its peak resident memory in
/// KiB (`VmHWM`, sampled every few milliseconds while it runs). Not the
/// `ru_maxrss` of `wait4`: that carries the parent's high-water mark across
/// the fork and exec, and the parent here is the whole test suite.
fn run_binary(db_url: &str, args: &[&str]) -> (i32, i64) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wutt-campaign"))
        .args(args)
        .env("DATABASE_URL", db_url)
        .env("RUST_LOG", "warn")
        .env_remove("WUTT_CLIENT_ID")
        .env_remove("WUTT_CLIENT_SECRET")
        .env_remove("WUTT_CLIENT_SECRET_FILE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("start the binary");
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0i64;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_file)
            && let Some(kib) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
        {
            peak_kib = peak_kib.max(kib);
        }
        if let Some(status) = child.try_wait().expect("wait for the binary") {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the binary did not finish"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    (status.code().expect("the binary was killed"), peak_kib)
}

#[tokio::test]
async fn recipients_export_streams_200k_rows_with_flat_memory() {
    const ROWS: i64 = 200_000;
    let db = TestDb::new().await;
    let c = campaign(&db, "big").await;
    // Realistic rows (~400 bytes each): 200k of them held in memory would be well over 100 MiB.
    sqlx::query(
        "INSERT INTO recipients (campaign_id, row_number, line_number, raw_phone, mobile_code, mobile, \
             state, remark, messages, data, outcome, http_status, attempts) \
         SELECT $1, g, g + 1, '+880 1712-' || g, '880', '1712' || lpad(g::text, 6, '0'), 'failed', \
                'Message could not be delivered to this recipient', \
                ARRAY['The number is not registered on WhatsApp', 'Please check the number and try again'], \
                jsonb_build_object('id', g, 'conversation', md5(g::text), 'note', repeat('x', 120)), \
                'rejected', 200, 1 \
         FROM generate_series(1, $2::int) g",
    )
    .bind(c)
    .bind(ROWS as i32)
    .execute(&db.pool)
    .await
    .unwrap();

    let mut sink = Counting::default();
    let filter = RecipientFilter {
        campaign_id: Some(c),
        state: Some("failed".into()),
    };
    let n = report::write_recipients(&db.pool, &filter, Format::Csv, &mut sink)
        .await
        .unwrap();
    assert_eq!(n, ROWS as u64);
    assert_eq!(
        sink.lines,
        ROWS as u64 + 1,
        "header and one line per recipient"
    );
    assert!(
        sink.bytes > 300 * ROWS as u64,
        "rows are realistic: {} bytes",
        sink.bytes
    );

    let url = db.url.clone();
    let id = c.to_string();
    let (summary, streamed) = tokio::task::spawn_blocking(move || {
        let summary = run_binary(&url, &["report", &id]);
        let streamed = run_binary(
            &url,
            &[
                "report",
                &id,
                "--recipients",
                "--format",
                "csv",
                "--output",
                "/dev/null",
            ],
        );
        (summary, streamed)
    })
    .await
    .unwrap();
    assert_eq!(summary.0, 0);
    assert_eq!(streamed.0, 0);
    let (base_mib, peak_mib) = (summary.1 / 1024, streamed.1 / 1024);
    eprintln!("peak RSS: summary {base_mib} MiB, 200k-row export {peak_mib} MiB");
    assert!(peak_mib < 100, "export peaked at {peak_mib} MiB");
    assert!(
        peak_mib < base_mib + 40,
        "export {peak_mib} MiB vs summary {base_mib} MiB"
    );
}

#[tokio::test]
async fn unknown_campaign_is_a_usage_error() {
    let db = TestDb::new().await;
    let url = db.url.clone();
    let (code, _) =
        tokio::task::spawn_blocking(move || run_binary(&url, &["report", "no-such-campaign"]))
            .await
            .unwrap();
    assert_eq!(code, 2);
}

#[tokio::test]
async fn recipient_exports_carry_the_template_variables() {
    let db = TestDb::new().await;
    let c = campaign(&db, "shipped").await;
    recipients(&db, c, 1, 2, &["queued"]).await;
    sqlx::query(
        "UPDATE recipients SET body_variables = ARRAY['Ann', '=1+1', 'a, \"b\"; c'], \
             header_variables = ARRAY['Ann'] \
         WHERE campaign_id = $1 AND row_number = 1",
    )
    .bind(c)
    .execute(&db.pool)
    .await
    .unwrap();
    let filter = RecipientFilter {
        campaign_id: Some(c),
        state: None,
    };
    let mut out = Vec::new();
    report::write_recipients(&db.pool, &filter, Format::Csv, &mut out)
        .await
        .unwrap();
    let text = String::from_utf8(out[3..].to_vec()).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        &header[header.len() - 8..],
        [
            "body_variables",
            "header_variables",
            "read_back_verdict",
            "read_back_rule",
            "read_back_at",
            "read_back_attempt",
            "read_back_detail",
            "duplicate_of"
        ]
    );
    assert_eq!(header, report::export::CSV_HEADER);
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let n = header.len() - 6;
    let body: Vec<String> = serde_json::from_str(&records[0][n - 2]).unwrap();
    assert_eq!(body, ["Ann", "=1+1", "a, \"b\"; c"]);
    assert_eq!(&records[0][n - 1], "[\"Ann\"]");
    assert_eq!((&records[1][n - 2], &records[1][n - 1]), ("", ""));

    let mut out = Vec::new();
    report::write_recipients(&db.pool, &filter, Format::JsonLines, &mut out)
        .await
        .unwrap();
    let rows: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        rows[0]["body_variables"],
        serde_json::json!(["Ann", "=1+1", "a, \"b\"; c"])
    );
    assert_eq!(rows[0]["header_variables"], serde_json::json!(["Ann"]));
    assert!(rows[1]["body_variables"].is_null());
}
