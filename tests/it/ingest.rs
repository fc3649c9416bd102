//! The drop folder against real PostgreSQL: atomic loads, every row accounted
//! for, rejections with every problem, duplicates by content, concurrent
//! runners, the opt-out list, ignored and unsettled files, hostile symlinks,
//! dry runs, template variables checked against every page of the template
//! list (the simulator's and a paged stand-in's), and contacts' names. Every
//! test writes its own files into a temporary folder.

use std::path::Path;
use std::time::{Duration, SystemTime};

use serde_json::json;
use sqlx::PgPool;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};
use wutt_campaign::campaign::phone::PhoneNumber;
use wutt_campaign::db::testing::TestDb;
use wutt_campaign::ingest::{self, CampaignsDir, IngestOptions, LoadOutcome};
use wutt_campaign::queue::suppress;
use wutt_campaign::simulator::{
    TEMPLATE_HEADER_VAR, TEMPLATE_ON_PAGE_3, TEMPLATE_ONE_VAR, TEMPLATE_PENDING, TEMPLATE_TWO_VARS,
};

fn setup() -> (tempfile::TempDir, CampaignsDir) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = CampaignsDir::new(tmp.path().join("campaigns"));
    dir.ensure().unwrap();
    (tmp, dir)
}

fn now() -> IngestOptions {
    IngestOptions {
        settle: Duration::ZERO,
    }
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// `n` rows `+8801711NNNNNN,Name N`.
fn phones_csv(n: u32) -> String {
    let mut s = String::from("phone,firstname\n");
    for i in 0..n {
        s.push_str(&format!("+8801711{:06},Name {i}\n", i));
    }
    s
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

async fn count(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

async fn states(pool: &PgPool) -> Vec<(i32, String, Option<i32>)> {
    sqlx::query_as("SELECT row_number, state, duplicate_of FROM recipients ORDER BY row_number")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_file_loads_as_one_whole_campaign() {
    let db = TestDb::new().await;
    let (_tmp, dir) = setup();
    write(&dir.inbox(), "spring.csv", &phones_csv(25));
    write(
        &dir.inbox(),
        "spring.toml",
        "name = \"Spring sale\"\nmessage = \"Hi {{firstname}}!\"\nstart_at = \"2030-01-02T03:04:05Z\"\n",
    );
    let summary = ingest::ingest_inbox(&db.pool, &dir, &now(), None)
        .await
        .unwrap();
    assert_eq!(summary.loaded.len(), 1, "{summary:?}");
    let loaded = &summary.loaded[0];
    assert_eq!(loaded.name, "Spring sale");
    assert_eq!(loaded.counts.queued, 25);
    let id = loaded.campaign_id;
    assert_eq!(
        names(&dir.processed()),
        vec![format!("{id}-spring.csv"), format!("{id}-spring.toml")]
    );
    assert!(names(&dir.inbox()).is_empty());
    assert_eq!(count(&db.pool, "SELECT count(*) FROM recipients").await, 25);
    let (msg, due): (String, bool) = sqlx::query_as(
        "SELECT r.message, r.next_attempt_at = c.start_at
         FROM recipients r JOIN campaigns c ON c.id = r.campaign_id WHERE r.row_number = 3",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(msg, "Hi Name 2!");
    assert!(due, "queued rows wait for the campaign's start_at");
    let (code, mobile): (String, String) =
        sqlx::query_as("SELECT mobile_code, mobile FROM recipients WHERE row_number = 1")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!((code.as_str(), mobile.as_str()), ("880", "1711000000"));
}

#[tokio::test]
async fn every_data_row_becomes_one_recipient_row_even_in_a_messy_file() {
    let db = TestDb::new().await;
    let (_tmp, dir) = setup();
    // 7 data rows: a valid one, a quoted multi-line note, a bad number, an empty
    // number, a ragged row, a repeat, and one with a tab and a backslash.
    let text = "phone;firstname;note\r\n\
                +8801711000001;Ann;plain\r\n\
                +8801711000002;Bob;\"two\r\nlines; and \"\"quotes\"\"\"\r\n\
                12ab;Cy;bad\r\n\
                ;Dee;empty\r\n\
                \r\n\
                +8801711000003;Eve\r\n\
                +880 1711-000001;Ann again;repeat\r\n\
                +8801711000004;F\\g;a\ttab\r\n";
    write(&dir.inbox(), "messy.csv", text);
    write(
        &dir.inbox(),
        "messy.toml",
        "message = \"Hello {{firstname}}: {{note}}\"\n",
    );
    let summary = ingest::ingest_inbox(&db.pool, &dir, &now(), None)
        .await
        .unwrap();
    assert_eq!(summary.loaded.len(), 1, "{summary:?}");
    let c = summary.loaded[0].counts;
    assert_eq!(c.total(), 7, "{c:?}");
    assert_eq!(count(&db.pool, "SELECT count(*) FROM recipients").await, 7);
    // Bad number, empty number and the short (ragged) row are invalid.
    assert_eq!((c.invalid, c.duplicate), (3, 1), "{c:?}");
    let note: String = sqlx::query_scalar("SELECT message FROM recipients WHERE row_number = 2")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(note, "Hello Bob: two\r\nlines; and \"quotes\"");
    let msg: String = sqlx::query_scalar("SELECT message FROM recipients WHERE row_number = 7")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(msg, "Hello F\\g: a\ttab");
    let err: Option<String> =
        sqlx::query_scalar("SELECT error FROM recipients WHERE row_number = 3")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(err.is_some_and(|e| !e.is_empty()));
}

#[tokio::test]
async fn a_rejected_file_leaves_nothing_and_lists_every_problem() {
    let db = TestDb::new().await;
    let (_tmp, dir) = setup();
    write(&dir.inbox(), "typo.csv", &phones_csv(3));
    write(
        &dir.inbox(),
        "typo.toml",
        "message = \"Hi {{first_name}}, {{city}}\"\n",
    );
    write(&dir.inbox(), "keys.csv", &phones_csv(3));
    write(&dir.inbox(), "keys.toml", "mesage = \"Hi\"\n");
    let summary = ingest::ingest_inbox(&db.pool, &dir, &now(), None)
        .await
        .unwrap();
    assert_eq!(summary.rejected.len(), 2, "{summary:?}");
    assert_eq!(count(&db.pool, "SELECT count(*) FROM campaigns").await, 0);
    assert_eq!(count(&db.pool, "SELECT count(*) FROM recipients").await, 0);
    assert!(names(&dir.inbox()).is_empty());
    let rejected = names(&dir.rejected());
    for f in [
        "typo.csv",
        "typo.toml",
        "typo.errors.txt",
        "keys.csv",
        "keys.errors.txt",
    ] {
        assert!(rejected.contains(&f.to_string()), "{f} in {rejected:?}");
    }
    let errors = std::fs::read_to_string(dir.rejected().join("typo.errors.txt")).unwrap();
    assert!(
        errors.contains("first_name") && errors.contains("city"),
        "{errors}"
    );
    let errors = std::fs::read_to_string(dir.rejected().join("keys.errors.txt")).unwrap();
    assert!(errors.contains("mesage"), "{errors}");
}

#[tokio::test]
async fn an_empty_or_header_only_file_is_rejected() {
    let db = TestDb::new().await;
    let (_tmp, dir) = setup();
    write(&dir.inbox(), "empty.csv", "");
    write(&dir.inbox(), "header.csv", "phone,firstname\n");
    write(&dir.inbox(), "header.toml", "message = \"Hi\"\n");
    let summary = ingest::ingest_inbox(&db.pool, &dir, &now(), None)
        .await
        .unwrap();
    assert_eq!(summary.rejected.len(), 2, "{summary:?}");
    assert_eq!(count(&db.pool, "SELECT count(*) FROM campaigns").await, 0);
    assert!(names(&dir.rejected()).contains(&"header.errors.txt".to_string()));
}

#[tokio::test]
async fn the_same_content_under_another_name_is_not_loaded_twice() {
    let db = TestDb::new().await;
    let (_tmp, dir) = setup();
    let manifest = "message = \"Hi {{firstname}}\"\n";
    write(&dir.inbox(), "a.csv", &phones_csv(4));
    write(&dir.inbox(), "a.toml", manifest);
    let first = ingest::ingest_inbox(&db.pool, &dir, &now(), None)
        .await
        .unwrap();
    let id = first.loaded[0].campaign_id;
    write(&dir.inbox(), "copy of a.csv", &phones_csv(4));
    write(&dir.inbox(), "copy of a.toml", manifest);
    let second = ingest::ingest_inbox(&db.pool, &dir, &now(), None)
        .await
        .unwrap();
    assert_eq!(second.duplicates, vec![("copy of a.csv".to_string(), id)]);
    assert_eq!(count(&db.pool, "SELECT count(*) FROM campaigns").await, 1);
    assert_eq!(count(&db.pool, "SELECT count(*) FROM recipients").await, 4);
    let note = std::fs::read_to_string(dir.rejected().join("copy of a.errors.txt")).unwrap();
    assert!(note.contains(&format!("campaign {id}")), "{note}");
    // Different manifest = different drop, and a name that is taken gets a suffix.
    write(&dir.inbox(), "a.csv", &phones_csv(4));
    write(&dir.inbox(), "a.toml", "message = \"Bye {{firstname}}\"\n");
    let third = ingest::ingest_inbox(&db.pool, &dir, &now(), None)
        .await
        .unwrap();
    assert_eq!(third.loaded.len(), 1, "{third:?}");
    assert_eq!(third.loaded[0].name, "a (2)");
}

#[tokio::test]
async fn two_runners_on_one_inbox_load_each_file_once() {
    let db = TestDb::new().await;
    let (_tmp, dir) = setup();
    for i in 0..6 {
        write(&dir.inbox(), &format!("f{i}.csv"), &phones_csv(200 + i));
        write(&dir.inbox(), &format!("f{i}.toml"), "message = \"Hi\"\n");
    }
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let (url, dir) = (db.url.clone(), dir.clone());
        tasks.push(tokio::spawn(async move {
            let pool = wutt_campaign::db::connect(&url, 4, Duration::from_secs(5))
                .await
                .unwrap();
            ingest::ingest_inbox(&pool, &dir, &now(), None)
                .await
                .unwrap()
        }));
    }
    let mut loaded = 0;
    for t in tasks {
        let s = t.await.unwrap();
        assert!(s.errors.is_empty() && s.rejected.is_empty(), "{s:?}");
        loaded += s.loaded.len();
    }
    assert_eq!(loaded, 6);
    assert_eq!(count(&db.pool, "SELECT count(*) FROM campaigns").await, 6);
    let expected: i64 = (0..6).map(|i| 200 + i).sum();
    assert_eq!(
        count(&db.pool, "SELECT count(*) FROM recipients").await,
        expected
    );
    assert!(names(&dir.inbox()).is_empty(), "{:?}", names(&dir.inbox()));
    assert_eq!(names(&dir.processed()).len(), 12);
    assert!(names(&dir.rejected()).is_empty());
}

#[tokio::test]
async fn opted_out_and_repeated_numbers_get_their_states() {
    let db = TestDb::new().await;
    let (_tmp, dir) = setup();
    let out = PhoneNumber::parse_international("+8801711000002").unwrap();
    assert!(
        suppress::add(&db.pool, &out, "+8801711000002", "asked", "test")
            .await
            .unwrap()
    );
    let text = "mobile_code,mobile,firstname\n880,01711000001,A\n880,01711000002,B\n880,1711000001,C\n880,01711000003,D\n880,01711000001,E\n";
    write(&dir.inbox(), "s.csv", text);
    write(&dir.inbox(), "s.toml", "message = \"Hi\"\n");
    let summary = ingest::ingest_inbox(&db.pool, &dir, &now(), None)
        .await
        .unwrap();
    assert_eq!(summary.loaded.len(), 1, "{summary:?}");
    assert_eq!(
        states(&db.pool).await,
        vec![
            (1, "queued".into(), None),
            (2, "suppressed".into(), None),
            (3, "duplicate".into(), Some(1)),
            (4, "queued".into(), None),
            (5, "duplicate".into(), Some(1)),
        ]
    );
}

#[tokio::test]
async fn leftovers_are_ignored_and_unsettled_files_wait() {
    let db = TestDb::new().await;
    let (_tmp, dir) = setup();
    for name in [
        ".hidden.csv",
        "a.csv.tmp",
        "b.csv.part",
        "~$c.csv",
        "notes.txt",
        "lonely.toml",
    ] {
        write(&dir.inbox(), name, &phones_csv(2));
    }
    let fresh = write(&dir.inbox(), "fresh.csv", &phones_csv(2));
    write(&dir.inbox(), "fresh.toml", "message = \"Hi\"\n");
    let settle = IngestOptions {
        settle: Duration::from_secs(3600),
    };
    let s = ingest::ingest_inbox(&db.pool, &dir, &settle, None)
        .await
        .unwrap();
    assert_eq!(s.unsettled, 1, "{s:?}");
    assert!(s.loaded.is_empty() && s.rejected.is_empty());
    assert_eq!(names(&dir.inbox()).len(), 8);
    assert_eq!(count(&db.pool, "SELECT count(*) FROM campaigns").await, 0);
    // Once older than the settle time it is loaded; the leftovers stay.
    let past = SystemTime::now() - Duration::from_secs(7200);
    for f in [fresh.clone(), dir.inbox().join("fresh.toml")] {
        std::fs::File::options()
            .write(true)
            .open(&f)
            .unwrap()
            .set_modified(past)
            .unwrap();
    }
    let s = ingest::ingest_inbox(&db.pool, &dir, &settle, None)
        .await
        .unwrap();
    assert_eq!(s.loaded.len(), 1, "{s:?}");
    assert_eq!(names(&dir.inbox()).len(), 6);
}

#[tokio::test]
async fn a_symlink_leading_out_of_the_inbox_is_rejected_not_followed() {
    let db = TestDb::new().await;
    let (tmp, dir) = setup();
    let secret = write(tmp.path(), "outside.csv", &phones_csv(3));
    std::os::unix::fs::symlink(&secret, dir.inbox().join("link.csv")).unwrap();
    let s = ingest::ingest_inbox(&db.pool, &dir, &now(), None)
        .await
        .unwrap();
    assert_eq!(s.rejected.len(), 1, "{s:?}");
    assert_eq!(count(&db.pool, "SELECT count(*) FROM campaigns").await, 0);
    assert!(secret.is_file(), "the target is left alone");
    let errors = std::fs::read_to_string(dir.rejected().join("link.errors.txt")).unwrap();
    assert!(errors.contains("symlink"), "{errors}");
}

#[tokio::test]
async fn a_media_path_leaving_the_folder_rejects_the_file() {
    let db = TestDb::new().await;
    let (tmp, dir) = setup();
    write(tmp.path(), "evil.png", "png");
    write(&dir.inbox(), "m.csv", &phones_csv(2));
    write(
        &dir.inbox(),
        "m.toml",
        "message = \"Hi\"\nimage = \"../../evil.png\"\n",
    );
    let s = ingest::ingest_inbox(&db.pool, &dir, &now(), None)
        .await
        .unwrap();
    assert_eq!(s.rejected.len(), 1, "{s:?}");
    assert_eq!(count(&db.pool, "SELECT count(*) FROM campaigns").await, 0);
    // An image inside the folder is captured with the campaign.
    write(&dir.inbox(), "banner.png", "\u{89}PNG fake");
    write(&dir.inbox(), "ok.csv", &phones_csv(2));
    write(
        &dir.inbox(),
        "ok.toml",
        "message = \"Hi\"\nimage = \"banner.png\"\n",
    );
    let s = ingest::ingest_inbox(&db.pool, &dir, &now(), None)
        .await
        .unwrap();
    assert_eq!(s.loaded.len(), 1, "{s:?}");
    assert_eq!(
        count(&db.pool, "SELECT count(*) FROM campaign_media").await,
        1
    );
    assert_eq!(count(&db.pool, "SELECT count(*) FROM media_blobs").await, 1);
}

#[tokio::test]
async fn a_dry_run_writes_nothing_and_moves_nothing() {
    let db = TestDb::new().await;
    let (_tmp, dir) = setup();
    let out = PhoneNumber::parse_international("+8801711000001").unwrap();
    suppress::add(&db.pool, &out, "x", "", "test")
        .await
        .unwrap();
    let csv = write(
        &dir.inbox(),
        "d.csv",
        &(phones_csv(8) + "+8801711000003,Again\nnope,X\n"),
    );
    write(&dir.inbox(), "d.toml", "message = \"Hi {{firstname}}\"\n");
    let r = ingest::dry_run(&csv, Some(&db.pool), None).await.unwrap();
    assert!(r.would_load(), "{r:?}");
    assert_eq!(
        (
            r.counts.queued,
            r.counts.suppressed,
            r.counts.duplicate,
            r.counts.invalid
        ),
        (7, 1, 1, 1)
    );
    assert_eq!(r.samples.len(), 5);
    assert_eq!(r.samples[0].message.as_deref(), Some("Hi Name 0"));
    assert_eq!(r.invalid_rows.total(), 1);
    assert_eq!(count(&db.pool, "SELECT count(*) FROM campaigns").await, 0);
    assert_eq!(names(&dir.inbox()), vec!["d.csv", "d.toml"]);
    assert!(names(&dir.processed()).is_empty() && names(&dir.rejected()).is_empty());
}

#[tokio::test]
async fn load_outside_the_inbox_leaves_the_file_in_place() {
    let db = TestDb::new().await;
    let (tmp, dir) = setup();
    let csv = write(tmp.path(), "direct.csv", &phones_csv(3));
    write(tmp.path(), "direct.toml", "message = \"Hi\"\n");
    let out = ingest::load_file(&db.pool, &dir, &csv, &now(), None)
        .await
        .unwrap();
    assert!(
        matches!(out, LoadOutcome::Loaded(ref l) if l.counts.queued == 3),
        "{out:?}"
    );
    assert!(csv.is_file());
    let again = ingest::load_file(&db.pool, &dir, &csv, &now(), None)
        .await
        .unwrap();
    assert!(matches!(again, LoadOutcome::Duplicate { .. }), "{again:?}");
}

#[tokio::test]
async fn the_opt_out_list_matches_numbers_however_written() {
    let db = TestDb::new().await;
    let a = PhoneNumber::parse_international("+880 1711-000001").unwrap();
    let b = PhoneNumber::parse_parts("880", "01711000002").unwrap();
    let c = PhoneNumber::parse_international("+8801711000003").unwrap();
    let added = suppress::add_many(
        &db.pool,
        &[
            (a.clone(), "a".into()),
            (b.clone(), "b".into()),
            (a.clone(), "a".into()),
        ],
        "import",
        "test",
    )
    .await
    .unwrap();
    assert_eq!(added, 2);
    let a2 = PhoneNumber::parse_international("008801711000001").unwrap();
    assert!(suppress::is_suppressed(&db.pool, &a2).await.unwrap());
    assert!(!suppress::is_suppressed(&db.pool, &c).await.unwrap());
    let hits = suppress::suppressed_among(&db.pool, &[a.clone(), c.clone(), b.clone()])
        .await
        .unwrap();
    assert_eq!(hits, [a.clone(), b.clone()].into_iter().collect());
    assert!(suppress::remove(&db.pool, &a).await.unwrap());
    assert!(!suppress::remove(&db.pool, &a).await.unwrap());
    assert_eq!(suppress::list(&db.pool).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_whole_file_problem_deep_in_a_big_file_rolls_everything_back() {
    let db = TestDb::new().await;
    let (_tmp, dir) = setup();
    // Thousands of good rows (several batches), then a 20 MB field.
    let mut text = phones_csv(9000);
    text.push_str(&format!("+8801799000001,{}\n", "x".repeat(20 << 20)));
    text.push_str("+8801799000002,after\n");
    write(&dir.inbox(), "big.csv", &text);
    write(&dir.inbox(), "big.toml", "message = \"Hi\"\n");
    let s = ingest::ingest_inbox(&db.pool, &dir, &now(), None)
        .await
        .unwrap();
    assert_eq!(s.rejected.len(), 1, "{s:?}");
    assert_eq!(count(&db.pool, "SELECT count(*) FROM campaigns").await, 0);
    assert_eq!(count(&db.pool, "SELECT count(*) FROM recipients").await, 0);
    let errors = std::fs::read_to_string(dir.rejected().join("big.errors.txt")).unwrap();
    assert!(errors.contains("line 9002"), "{errors}");
}

/// The real client aimed at an in-process simulator (demo credentials).
async fn sim_client() -> (
    wutt_campaign::simulator::SimHandle,
    wutt_campaign::wutt::Client,
) {
    use wutt_campaign::simulator::{self, SimConfig};
    use wutt_campaign::wutt::{Client, ClientConfig};
    let cfg = SimConfig {
        seed: Some(1),
        ..SimConfig::default()
    };
    let (client_id, client_secret) = (cfg.client_id.clone(), cfg.client_secret.clone());
    let sim = simulator::start(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("simulator");
    let client = Client::new(ClientConfig {
        base_url: url::Url::parse(&format!("{}/external-api", sim.base_url())).unwrap(),
        client_id,
        client_secret,
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(10),
        user_agent: "wutt-campaign-test/1".into(),
    })
    .expect("client");
    (sim, client)
}

#[tokio::test]
async fn a_template_the_account_cannot_send_rejects_the_file() {
    let db = TestDb::new().await;
    let (_tmp, dir) = setup();
    let (sim, client) = sim_client().await;
    for (name, id, says) in [
        (
            "draft",
            TEMPLATE_PENDING,
            format!("template {TEMPLATE_PENDING} "),
        ),
        (
            "ghost",
            999_999,
            "template 999999 is not in the account's template list".to_string(),
        ),
    ] {
        write(&dir.inbox(), &format!("{name}.csv"), &phones_csv(3));
        write(
            &dir.inbox(),
            &format!("{name}.toml"),
            &format!("template_id = {id}\n"),
        );
        let summary = ingest::ingest_inbox(&db.pool, &dir, &now(), Some(&client))
            .await
            .unwrap();
        assert_eq!(summary.rejected.len(), 1, "{name}: {summary:?}");
        assert!(summary.loaded.is_empty(), "{name}: {summary:?}");
        let errors =
            std::fs::read_to_string(dir.rejected().join(format!("{name}.errors.txt"))).unwrap();
        assert!(errors.contains(&says), "{name}: {errors}");
        if name == "draft" {
            assert!(
                errors.contains("is not approved (its status is pending)"),
                "{errors}"
            );
        }
    }
    assert_eq!(count(&db.pool, "SELECT count(*) FROM campaigns").await, 0);
    assert_eq!(count(&db.pool, "SELECT count(*) FROM recipients").await, 0);
    assert!(names(&dir.inbox()).is_empty(), "{:?}", names(&dir.inbox()));
    assert!(sim.messages().is_empty());
}

/// `n` texts `{{column}}` for a template part that needs `n` variables.
fn variables_toml(key: &str, n: usize) -> String {
    let list: Vec<&str> = ["\"{{firstname}}\"", "\"{{order_id}}\"", "\"{{city}}\""]
        .into_iter()
        .cycle()
        .take(n)
        .collect();
    format!("{key} = [{}]\n", list.join(", "))
}

/// `n` rows with a first name, an order id and a city.
fn orders_csv(n: u32) -> String {
    let mut s = String::from("phone,firstname,order_id,city\n");
    for i in 0..n {
        s.push_str(&format!("+8801712{i:06},Name {i},A-{i},Dhaka\n"));
    }
    s
}

#[tokio::test]
async fn the_simulator_template_list_is_read_to_its_last_page() {
    let db = TestDb::new().await;
    let (_tmp, dir) = setup();
    let (sim, client) = sim_client().await;
    let list = client.templates().await.unwrap();
    assert!(list.len() > 40, "{} templates", list.len());
    let on_page_3 = list
        .iter()
        .find(|t| t.id == TEMPLATE_ON_PAGE_3)
        .expect("the template on page 3 is read");
    assert!(on_page_3.is_approved(), "{on_page_3:?}");
    write(&dir.inbox(), "late.csv", &orders_csv(3));
    write(
        &dir.inbox(),
        "late.toml",
        &format!(
            "template_id = {TEMPLATE_ON_PAGE_3}\n{}{}",
            variables_toml("body_variables", on_page_3.body_params),
            variables_toml("header_variables", on_page_3.header_params)
        ),
    );
    let summary = ingest::ingest_inbox(&db.pool, &dir, &now(), Some(&client))
        .await
        .unwrap();
    assert_eq!(summary.loaded.len(), 1, "{summary:?}");
    assert_eq!(summary.loaded[0].counts.queued, 3);
    assert_eq!(summary.loaded[0].template_verified, Some(true));
    assert!(sim.messages().is_empty(), "loading sends nothing");
}

#[tokio::test]
async fn the_simulator_templates_need_their_own_number_of_variables() {
    let db = TestDb::new().await;
    let (_tmp, dir) = setup();
    let (_sim, client) = sim_client().await;
    let list = client.templates().await.unwrap();
    let find = |id: i64| list.iter().find(|t| t.id == id).unwrap().clone();
    let (one, two, header) = (
        find(TEMPLATE_ONE_VAR),
        find(TEMPLATE_TWO_VARS),
        find(TEMPLATE_HEADER_VAR),
    );
    assert_eq!((one.body_params, two.body_params), (1, 2));
    assert!(header.header_params >= 1, "{header:?}");
    let cases = [
        (
            "two",
            format!(
                "template_id = {}\n{}",
                two.id,
                variables_toml("body_variables", 1)
            ),
            format!(
                "template {} {:?} needs 2 body variables, the manifest gives 1 — its body is: {:?}",
                two.id, two.name, two.body
            ),
        ),
        (
            "none",
            format!("template_id = {}\n", one.id),
            format!(
                "template {} {:?} needs 1 body variable, the manifest gives 0 — its body is: {:?}",
                one.id, one.name, one.body
            ),
        ),
        (
            "header",
            format!(
                "template_id = {}\n{}",
                header.id,
                variables_toml("body_variables", header.body_params)
            ),
            format!(
                "the manifest gives 0 — its header is: {:?}",
                header.header.clone().unwrap_or_default()
            ),
        ),
    ];
    for (name, manifest, says) in cases {
        write(&dir.inbox(), &format!("{name}.csv"), &orders_csv(2));
        write(&dir.inbox(), &format!("{name}.toml"), &manifest);
        let summary = ingest::ingest_inbox(&db.pool, &dir, &now(), Some(&client))
            .await
            .unwrap();
        assert_eq!(summary.rejected.len(), 1, "{name}: {summary:?}");
        let errors =
            std::fs::read_to_string(dir.rejected().join(format!("{name}.errors.txt"))).unwrap();
        assert!(errors.contains(&says), "{name}: {says}\n{errors}");
    }
    assert_eq!(count(&db.pool, "SELECT count(*) FROM campaigns").await, 0);
}

/// A Wutt stand-in whose template list comes two a page over three pages,
/// whatever `paginate` asks (a site setting can do that), and a client for it.
async fn paged_templates() -> (MockServer, wutt_campaign::wutt::Client) {
    let template = |id: i64, name: &str, status: i64, body: &str, header: Option<&str>| {
        json!({"id": id, "name": name, "language_id": 1, "category_id": 2, "body": body,
            "header": header, "header_format": header.map(|_| "TEXT"), "footer": null,
            "buttons": null, "status": status, "whatsapp_template_id": format!("wa{id}")})
    };
    let pages = [
        vec![
            template(1, "welcome", 1, "Welcome to our shop!", None),
            template(2, "promo_draft", 0, "Draft {{1}}", None),
        ],
        vec![
            template(3, "old_offer", 3, "Old {{1}}", None),
            template(7, "one_var", 1, "Hello {{1}}", None),
        ],
        vec![
            template(
                42,
                "order_shipped",
                1,
                "Hi {{1}}, order {{2}} has shipped",
                Some("For {{1}}"),
            ),
            template(43, "refused", 2, "No", None),
        ],
    ];
    let server = MockServer::start().await;
    for (i, items) in pages.into_iter().enumerate() {
        let page = i + 1;
        let body = json!({"remark": "inbox", "status": "success", "data": {"templates": {
            "current_page": page, "data": items, "first_page_url": "/?page=1",
            "from": 2 * i + 1, "last_page": 3, "last_page_url": "/?page=3", "links": [],
            "next_page_url": if page < 3 { json!(format!("/?page={}", page + 1)) } else { json!(null) },
            "path": "/inbox/template-list", "per_page": 2,
            "prev_page_url": null, "to": 2 * i + 2, "total": 6}}});
        Mock::given(method("GET"))
            .and(path("/external-api/inbox/template-list"))
            .and(query_param("page", page.to_string()))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
    }
    let client = client_at(&format!("{}/external-api", server.uri()), "id", "secret");
    (server, client)
}

fn client_at(base_url: &str, id: &str, secret: &str) -> wutt_campaign::wutt::Client {
    use wutt_campaign::wutt::{Client, ClientConfig};
    Client::new(ClientConfig {
        base_url: url::Url::parse(base_url).unwrap(),
        client_id: id.into(),
        client_secret: secret.to_string().into(),
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(10),
        user_agent: "wutt-campaign-test/1".into(),
    })
    .expect("client")
}

type VariableRow = (
    i32,
    String,
    Option<Vec<String>>,
    Option<Vec<String>>,
    Option<String>,
);

async fn variable_rows(pool: &PgPool) -> Vec<VariableRow> {
    sqlx::query_as(
        "SELECT row_number, state, body_variables, header_variables, error
         FROM recipient_results ORDER BY row_number",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

fn strings(v: &[&str]) -> Option<Vec<String>> {
    Some(v.iter().map(|s| s.to_string()).collect())
}

#[tokio::test]
async fn a_template_on_page_3_loads_with_its_rendered_variables() {
    let db = TestDb::new().await;
    let (_tmp, dir) = setup();
    let (_server, client) = paged_templates().await;
    write(
        &dir.inbox(),
        "shipped.csv",
        "phone,firstname,order_id\n+8801711000001, Ann ,A-1\n+8801711000002,Bob,\n+8801711000003,Cy,{{ contactName }}\n",
    );
    write(
        &dir.inbox(),
        "shipped.toml",
        "template_id = 42\nbody_variables = [\"{{firstname}}\", \"{{ Order_ID }}\"]\nheader_variables = [\"{{firstname}}\"]\n",
    );
    let summary = ingest::ingest_inbox(&db.pool, &dir, &now(), Some(&client))
        .await
        .unwrap();
    assert_eq!(summary.loaded.len(), 1, "{summary:?}");
    let loaded = &summary.loaded[0];
    assert_eq!(loaded.template_verified, Some(true), "{loaded:?}");
    assert_eq!((loaded.counts.queued, loaded.counts.invalid), (1, 2));
    assert_eq!(loaded.invalid_rows.total(), 2);
    // Two of three rows invalid: most of the file, which is said.
    assert!(
        matches!(&loaded.warnings[..], [w] if w.starts_with("2 of 3 rows are invalid (66%)")),
        "{:?}",
        loaded.warnings
    );
    let rows = variable_rows(&db.pool).await;
    assert_eq!(
        rows[0],
        (
            1,
            "queued".into(),
            strings(&["Ann", "A-1"]),
            strings(&["Ann"]),
            None
        )
    );
    assert_eq!(rows[1].1, "invalid");
    assert_eq!(
        rows[1].4.as_deref(),
        Some("body variable 2 ({{ Order_ID }}) is empty on this row")
    );
    assert!(
        rows[2]
            .4
            .as_deref()
            .unwrap()
            .contains("the server would send a blank instead"),
        "{rows:?}"
    );
    let (body, header, contacts): (Vec<String>, Vec<String>, bool) =
        sqlx::query_as("SELECT body_variables, header_variables, create_contacts FROM campaigns")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(body, ["{{firstname}}", "{{ Order_ID }}"]);
    assert_eq!(header, ["{{firstname}}"]);
    assert!(!contacts);
}

#[tokio::test]
async fn variables_that_do_not_match_the_template_reject_the_file_quoting_it() {
    let db = TestDb::new().await;
    let (_tmp, dir) = setup();
    let (_server, client) = paged_templates().await;
    let cases = [
        (
            "short",
            "template_id = 42\nbody_variables = [\"{{firstname}}\"]\nheader_variables = [\"x\"]\n",
            vec![
                "short.toml, key \"body_variables\": template 42 \"order_shipped\" needs 2 body variables, the manifest gives 1 — its body is: \"Hi {{1}}, order {{2}} has shipped\"",
            ],
        ),
        (
            "none",
            "template_id = 42\n",
            vec![
                "needs 2 body variables, the manifest gives 0",
                "none.toml, key \"header_variables\": template 42 \"order_shipped\" needs 1 header variable, the manifest gives 0 — its header is: \"For {{1}}\"",
            ],
        ),
        (
            "extra",
            "template_id = 1\nbody_variables = [\"{{firstname}}\"]\n",
            vec![
                "template 1 \"welcome\" needs 0 body variables, the manifest gives 1 — its body is: \"Welcome to our shop!\"",
            ],
        ),
        (
            "draft",
            "template_id = 2\nbody_variables = [\"{{firstname}}\"]\n",
            vec!["template 2 \"promo_draft\" is not approved (its status is pending)"],
        ),
        (
            "disabled",
            "template_id = 3\nbody_variables = [\"{{firstname}}\"]\n",
            vec!["its status is disabled"],
        ),
        (
            "rejected",
            "template_id = 43\n",
            vec!["its status is rejected"],
        ),
    ];
    for (name, manifest, says) in cases {
        write(&dir.inbox(), &format!("{name}.csv"), &orders_csv(2));
        write(&dir.inbox(), &format!("{name}.toml"), manifest);
        let summary = ingest::ingest_inbox(&db.pool, &dir, &now(), Some(&client))
            .await
            .unwrap();
        assert_eq!(summary.rejected.len(), 1, "{name}: {summary:?}");
        let errors =
            std::fs::read_to_string(dir.rejected().join(format!("{name}.errors.txt"))).unwrap();
        for s in says {
            assert!(errors.contains(s), "{name}: {s}\n{errors}");
        }
    }
    assert_eq!(count(&db.pool, "SELECT count(*) FROM campaigns").await, 0);
    assert_eq!(count(&db.pool, "SELECT count(*) FROM recipients").await, 0);
}

#[tokio::test]
async fn a_row_whose_own_template_needs_other_variables_loads_as_invalid() {
    let db = TestDb::new().await;
    let (_tmp, dir) = setup();
    let (_server, client) = paged_templates().await;
    write(
        &dir.inbox(),
        "mixed.csv",
        "phone,firstname,order_id,template_id\n+8801711000001,Ann,A-1,\n+8801711000002,Bob,B-2,7\n+8801711000003,Cy,C-3,42\n+8801711000004,Di,D-4,1\n",
    );
    write(
        &dir.inbox(),
        "mixed.toml",
        "template_id = 42\nbody_variables = [\"{{firstname}}\", \"{{order_id}}\"]\nheader_variables = [\"{{firstname}}\"]\n",
    );
    let summary = ingest::ingest_inbox(&db.pool, &dir, &now(), Some(&client))
        .await
        .unwrap();
    assert_eq!(summary.loaded.len(), 1, "{summary:?}");
    let rows = variable_rows(&db.pool).await;
    let states: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(
        states,
        ["queued", "invalid", "queued", "invalid"],
        "{rows:?}"
    );
    assert_eq!(
        rows[1].4.as_deref(),
        Some(
            "body_variables: template 7 \"one_var\" needs 1 body variable, the manifest gives 2 — its body is: \"Hello {{1}}\"; header_variables: template 7 \"one_var\" needs 0 header variables, the manifest gives 1 — it has no text header"
        )
    );
    assert!(
        rows[3]
            .4
            .as_deref()
            .unwrap()
            .contains("template 1 \"welcome\" needs 0 body variables")
    );
    assert_eq!(rows[2].2, strings(&["Cy", "C-3"]));
}

#[tokio::test]
async fn an_unreachable_template_list_leaves_the_campaign_unverified() {
    let db = TestDb::new().await;
    let (_tmp, dir) = setup();
    // Nothing listens there: the list cannot be read.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let client = client_at(
        &format!("http://127.0.0.1:{port}/external-api"),
        "id",
        "secret",
    );
    write(&dir.inbox(), "blind.csv", &orders_csv(2));
    write(
        &dir.inbox(),
        "blind.toml",
        &format!("template_id = 42\n{}", variables_toml("body_variables", 5)),
    );
    let summary = ingest::ingest_inbox(&db.pool, &dir, &now(), Some(&client))
        .await
        .unwrap();
    assert_eq!(summary.loaded.len(), 1, "{summary:?}");
    let loaded = &summary.loaded[0];
    assert_eq!(loaded.template_verified, None);
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.contains("templates not verified")),
        "{:?}",
        loaded.warnings
    );
    let verified: Option<bool> = sqlx::query_scalar("SELECT template_verified FROM campaigns")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(verified, None);
}

#[tokio::test]
async fn create_contacts_stores_the_names_and_checks_them() {
    let db = TestDb::new().await;
    let (_tmp, dir) = setup();
    let long = "x".repeat(41);
    write(
        &dir.inbox(),
        "people.csv",
        &format!(
            "Phone;First Name;LASTNAME\n+8801711000001;Ann;Lee\n+8801711000002;Bob;\n+8801711000003;{long};Lee\n"
        ),
    );
    write(
        &dir.inbox(),
        "people.toml",
        "message = \"Hi {{first name}}\"\ncreate_contacts = true\n",
    );
    let summary = ingest::ingest_inbox(&db.pool, &dir, &now(), None)
        .await
        .unwrap();
    assert_eq!(summary.loaded.len(), 1, "{summary:?}");
    let loaded = &summary.loaded[0];
    assert_eq!((loaded.counts.queued, loaded.counts.invalid), (1, 2));
    assert!(
        !loaded
            .warnings
            .iter()
            .any(|w| w == ingest::loader::TEXT_REACHES_CONTACTS_ONLY),
        "{:?}",
        loaded.warnings
    );
    assert!(
        loaded.warnings.iter().any(|w| w.contains("24 hours")),
        "{:?}",
        loaded.warnings
    );
    type NameRow = (String, Option<String>, Option<String>, Option<String>);
    let rows: Vec<NameRow> = sqlx::query_as(
        "SELECT state, firstname, lastname, error FROM recipients ORDER BY row_number",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        rows[0],
        (
            "queued".into(),
            Some("Ann".into()),
            Some("Lee".into()),
            None
        )
    );
    assert_eq!(
        rows[1].3.as_deref(),
        Some(
            "create_contacts: lastname is empty on this row (a Wutt contact needs a first and a last name)"
        )
    );
    assert_eq!(
        rows[2].3.as_deref(),
        Some("create_contacts: firstname is 41 characters; Wutt allows 40")
    );
    let contacts: bool = sqlx::query_scalar("SELECT create_contacts FROM campaigns")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(contacts);

    // Without the name columns the file is rejected; without create_contacts
    // the names are not stored and the load says who text reaches.
    write(
        &dir.inbox(),
        "nameless.csv",
        "phone,firstname\n+8801711000009,Ann\n",
    );
    write(
        &dir.inbox(),
        "nameless.toml",
        "message = \"Hi\"\ncreate_contacts = true\n",
    );
    write(&dir.inbox(), "cold.csv", &phones_csv(2));
    write(&dir.inbox(), "cold.toml", "message = \"Hi\"\n");
    let summary = ingest::ingest_inbox(&db.pool, &dir, &now(), None)
        .await
        .unwrap();
    assert_eq!(
        summary.rejected,
        vec![("nameless.csv".to_string(), 1)],
        "{summary:?}"
    );
    let errors = std::fs::read_to_string(dir.rejected().join("nameless.errors.txt")).unwrap();
    assert!(
        errors.contains("create_contacts = true needs a firstname and a lastname column")
            && errors.contains("missing: lastname"),
        "{errors}"
    );
    assert_eq!(summary.loaded.len(), 1, "{summary:?}");
    assert!(
        summary.loaded[0]
            .warnings
            .iter()
            .any(|w| w == ingest::loader::TEXT_REACHES_CONTACTS_ONLY),
        "{:?}",
        summary.loaded[0].warnings
    );
    let named: i64 = count(
        &db.pool,
        "SELECT count(*) FROM recipients WHERE firstname IS NOT NULL",
    )
    .await;
    assert_eq!(named, 3, "only the create_contacts campaign stores names");
}

#[tokio::test]
async fn a_dry_run_shows_the_variables_and_how_the_campaign_will_reach_people() {
    let (_tmp, dir) = setup();
    let csv = write(
        &dir.inbox(),
        "t.csv",
        "phone,firstname,lastname,order_id\n+8801711000001,Ann,Lee,A-1\n",
    );
    write(
        &dir.inbox(),
        "t.toml",
        "template_id = 42\nbody_variables = [\"{{firstname}}\", \"{{order_id}}\"]\ncreate_contacts = true\n",
    );
    let r = ingest::dry_run(&csv, None, None).await.unwrap();
    assert!(r.would_load(), "{r:?}");
    assert_eq!(r.samples[0].body_variables, strings(&["Ann", "A-1"]));
    assert_eq!(r.samples[0].header_variables, None);
    assert_eq!(
        (
            r.samples[0].firstname.as_deref(),
            r.samples[0].lastname.as_deref()
        ),
        (Some("Ann"), Some("Lee"))
    );
    for says in [
        "templates not verified",
        "create_contacts = true with template_id",
    ] {
        assert!(
            r.warnings.iter().any(|w| w.contains(says)),
            "{says}: {:?}",
            r.warnings
        );
    }
    assert!(
        !r.warnings
            .iter()
            .any(|w| w == ingest::loader::TEXT_REACHES_CONTACTS_ONLY)
    );

    let text = write(&dir.inbox(), "x.csv", &phones_csv(2));
    write(&dir.inbox(), "x.toml", "image = \"a.png\"\n");
    write(&dir.inbox(), "a.png", "\u{89}PNG fake");
    let r = ingest::dry_run(&text, None, None).await.unwrap();
    assert!(r.would_load(), "{r:?}");
    assert!(
        r.warnings
            .iter()
            .any(|w| w == ingest::loader::TEXT_REACHES_CONTACTS_ONLY),
        "{:?}",
        r.warnings
    );
    assert_eq!(
        names(&dir.processed()).len() + names(&dir.rejected()).len(),
        0
    );
}
