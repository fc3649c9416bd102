//! End to end against the simulator answering as the real Wutt server does
//! (SERVER.md): the real binary, real PostgreSQL, campaign files loaded with
//! `load`, sent with `run --once`. Template variables in the defective and the
//! fixed server; refusals mid-run that must pause (not fail) and resume;
//! WhatsApp's throughput and pair rate limits; a template on page 3 of the
//! list; texts to contacts and non-contacts; an unreachable server and a
//! wrong base path.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use crate::support::bin::*;
use crate::support::db::{seed, states};
use crate::support::sim::*;
use wutt_campaign::db::testing::TestDb;
use wutt_campaign::simulator::{
    self, AccountSetting, Plan, SeedContact, SimConfig, SimHandle, WhatsAppRule,
};

const WAIT: Duration = Duration::from_secs(60);

fn mobile(i: usize) -> String {
    format!("17{:08}", 20_000_000 + i)
}

/// `n` rows `phone,first_name,order_id`.
fn order_rows(n: usize) -> String {
    let mut csv = String::from("phone,first_name,order_id\n");
    for i in 0..n {
        csv.push_str(&format!("+880{},Name{i},A-{i}\n", mobile(i)));
    }
    csv
}

async fn load(db: &TestDb, sim: &SimHandle, file: &Path) {
    let out = run(command(
        &db.url,
        &sim.base_url(),
        SECRET,
        &["load", "--settle", "0", file.to_str().unwrap()],
    ))
    .await;
    assert_eq!(code(&out), 0, "load: {}", stderr(&out));
}

async fn campaign_id(db: &TestDb, name: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM campaigns WHERE name = $1")
        .bind(name)
        .fetch_one(&db.pool)
        .await
        .expect("the campaign was loaded")
}

async fn status(db: &TestDb, id: i64) -> (String, Option<String>) {
    sqlx::query_as("SELECT status, pause_reason FROM campaigns WHERE id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

fn run_once(db: &TestDb, sim: &SimHandle, extra: &[&str]) -> std::process::Command {
    let mut args = vec!["run", "--once"];
    args.extend_from_slice(extra);
    command(&db.url, &sim.base_url(), SECRET, &args)
}

fn assert_each_once(sim: &SimHandle) {
    for (mobile, n) in sim_counts(sim) {
        assert_eq!(n, 1, "{mobile} reached WhatsApp {n} times");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_with_two_variables_is_sent_once_each_by_a_defective_and_a_fixed_server() {
    for fixed in [false, true] {
        let db = TestDb::new().await;
        let sim = sim(SimConfig {
            fixed,
            ..SimConfig::default()
        })
        .await;
        let manifest = format!(
            "name = \"orders\"\ntemplate_id = {}\nbody_variables = [\"{{{{first_name}}}}\", \"{{{{order_id}}}}\"]\n",
            simulator::TEMPLATE_TWO_VARS
        );
        let files = drop_files("orders", &manifest, &order_rows(1000));
        load(&db, &sim, &files.csv).await;
        let out = run(run_once(&db, &sim, &[])).await;
        assert_eq!(code(&out), 0, "fixed={fixed}: {}", stderr(&out));
        let id = campaign_id(&db, "orders").await;
        let s = states(&db.pool, id).await;
        assert_eq!(s.get("sent"), Some(&1000), "fixed={fixed}: {s:?}");
        assert_eq!(s.len(), 1, "none failed or unknown: {s:?}");
        assert_each_once(&sim);
        let msgs = sim.messages();
        assert_eq!(msgs.len(), 1000);
        let by_mobile: HashMap<String, Vec<String>> = msgs
            .into_iter()
            .map(|m| (m.mobile, m.body_variables))
            .collect();
        for i in 0..1000 {
            assert_eq!(
                by_mobile.get(&mobile(i)),
                Some(&vec![format!("Name{i}"), format!("A-{i}")]),
                "row {i}"
            );
        }
        if !fixed {
            // The defect's answer is kept, with the note that it meant "sent".
            let (remark, error): (Option<String>, Option<String>) = sqlx::query_as(
                "SELECT remark, error FROM recipient_results WHERE campaign_id = $1 LIMIT 1",
            )
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
            assert_eq!(remark.as_deref(), Some("exception"));
            assert!(error.is_some_and(|e| e.starts_with("sent:")));
        }
    }
}

/// Starts a run of `n` recipients, lets `before` messages through, breaks
/// the server with `break_it`, and checks the pause; then mends it with
/// `mend`, resumes and checks that the rest is sent, nobody twice.
async fn refused_mid_run(
    name: &str,
    break_it: impl FnOnce(&SimHandle),
    mend: impl FnOnce(&SimHandle),
    words: &str,
) {
    let db = TestDb::new().await;
    let sim = sim(SimConfig::default()).await;
    let n = 300;
    let manifest = format!("name = \"{name}\"\ntemplate_id = 1\n");
    let files = drop_files(name, &manifest, &order_rows(n));
    load(&db, &sim, &files.csv).await;
    let mut cmd = run_once(&db, &sim, &[]);
    cmd.env("WUTT_RATE", "60");
    let child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let got = sim.wait_for_messages(30, WAIT).await;
    assert!(got.len() >= 30, "{name}: the run started");
    break_it(&sim);
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(code(&out), 3, "{name}: {}", stderr(&out));
    let id = campaign_id(&db, name).await;
    let (st, reason) = status(&db, id).await;
    assert_eq!(st, "paused", "{name}");
    let reason = reason.unwrap_or_default();
    assert!(reason.contains(words), "{name}: {reason}");
    let s = states(&db.pool, id).await;
    assert_eq!(s.get("failed"), None, "{name}: nobody failed: {s:?}");
    assert_eq!(s.get("unknown"), None, "{name}: {s:?}");
    assert!(s.get("queued").copied().unwrap_or(0) > 0, "{name}: {s:?}");

    let list = run(command(
        &db.url,
        &sim.base_url(),
        SECRET,
        &["campaign", "list"],
    ))
    .await;
    assert!(
        String::from_utf8_lossy(&list.stdout).contains(words),
        "campaign list shows the server's words"
    );

    mend(&sim);
    let out = run(command(
        &db.url,
        &sim.base_url(),
        SECRET,
        &["campaign", "resume", name],
    ))
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run(run_once(&db, &sim, &[])).await;
    assert_eq!(code(&out), 0, "{name}: {}", stderr(&out));
    let s = states(&db.pool, id).await;
    assert_eq!(s.get("sent"), Some(&(n as i64)), "{name}: {s:?}");
    assert_eq!(sim.messages().len(), n, "{name}");
    assert_each_once(&sim);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whatsapp_number_disconnected_mid_run_pauses_and_resumes() {
    refused_mid_run(
        "disconnected",
        |sim| {
            sim.set_account(AccountSetting {
                whatsapp_connected: Some(false),
                ..AccountSetting::default()
            });
        },
        |sim| {
            sim.set_account(AccountSetting {
                whatsapp_connected: Some(true),
                ..AccountSetting::default()
            });
        },
        "Please connect your whatsapp account first",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_expiring_mid_run_pauses_and_resumes() {
    refused_mid_run(
        "expired",
        |sim| {
            sim.set_account(AccountSetting {
                plan: Some(Plan::Expired),
                ..AccountSetting::default()
            });
        },
        |sim| {
            sim.set_account(AccountSetting {
                plan: Some(Plan::Active),
                ..AccountSetting::default()
            });
        },
        "Your plan has expired",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_unapproved_after_load_pauses_and_resumes() {
    refused_mid_run(
        "unapproved",
        |sim| {
            sim.set_template_status(1, 2);
        },
        |sim| {
            sim.set_template_status(1, 1);
        },
        "The template is not found",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whatsapp_throughput_limits_are_retried_without_spending_attempts() {
    let db = TestDb::new().await;
    let sim = sim(SimConfig::default()).await;
    sim.set_whatsapp_rules(vec![WhatsAppRule {
        code: Some(130429),
        rate: 0.2,
        ..WhatsAppRule::default()
    }]);
    let files = drop_files(
        "throughput",
        "name = \"throughput\"\ntemplate_id = 1\n",
        &order_rows(300),
    );
    load(&db, &sim, &files.csv).await;
    let out = run(run_once(&db, &sim, &[])).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let id = campaign_id(&db, "throughput").await;
    let s = states(&db.pool, id).await;
    assert_eq!(s.get("sent"), Some(&300), "{s:?}");
    assert_each_once(&sim);
    let most: i32 =
        sqlx::query_scalar("SELECT max(attempts) FROM recipients WHERE campaign_id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(most, 1, "throttled calls spend no attempt");
    let throttled: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM send_attempts WHERE campaign_id = $1 AND outcome = 'throttled'",
    )
    .bind(id)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert!(throttled > 20, "130429 was met: {throttled}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whatsapp_pair_limits_delay_only_their_numbers() {
    let db = TestDb::new().await;
    let sim = sim(SimConfig::default()).await;
    let chosen: Vec<String> = (0..5).map(|i| format!("880{}", mobile(i * 7))).collect();
    sim.set_whatsapp_rules(vec![WhatsAppRule {
        code: Some(131056),
        numbers: chosen.clone(),
        times: Some(1),
        ..WhatsAppRule::default()
    }]);
    let files = drop_files(
        "pairs",
        "name = \"pairs\"\ntemplate_id = 1\n",
        &order_rows(200),
    );
    load(&db, &sim, &files.csv).await;
    let mut cmd = run_once(&db, &sim, &[]);
    cmd.env("WUTT_PAIR_WAIT_MS", "3000");
    let out = run(cmd).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let id = campaign_id(&db, "pairs").await;
    let s = states(&db.pool, id).await;
    assert_eq!(s.get("sent"), Some(&200), "{s:?}");
    assert_each_once(&sim);
    let classes: Vec<(String, String, i32)> = sqlx::query_as(
        "SELECT r.mobile_code || r.mobile, a.outcome, r.attempts FROM send_attempts a \
         JOIN recipients r ON r.id = a.recipient_id \
         WHERE a.campaign_id = $1 AND a.outcome <> 'success'",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let mut paired: Vec<String> = classes.iter().map(|(m, _, _)| m.clone()).collect();
    paired.sort();
    let mut want = chosen.clone();
    want.sort();
    assert_eq!(paired, want, "131056 only for the chosen numbers");
    for (mobile, class, attempts) in &classes {
        assert_eq!(class, "recipient_throttled", "{mobile}");
        assert_eq!(*attempts, 1, "{mobile}: no attempt spent on the wait");
    }
    // The account was not slowed: everyone else went before the chosen
    // numbers' wait was over.
    let msgs = sim.messages();
    let is_chosen =
        |m: &&simulator::SentMessage| chosen.contains(&format!("{}{}", m.mobile_code, m.mobile));
    let last_other = msgs
        .iter()
        .filter(|m| !is_chosen(m))
        .map(|m| m.seq)
        .max()
        .unwrap();
    let first_chosen = msgs.iter().filter(is_chosen).map(|m| m.seq).min().unwrap();
    assert!(
        first_chosen > last_other,
        "the other 195 did not wait for the 5: {first_chosen} vs {last_other}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_on_page_3_of_the_list_loads_and_sends() {
    let db = TestDb::new().await;
    let sim = sim(SimConfig::default()).await;
    let manifest = format!(
        "name = \"page3\"\ntemplate_id = {}\n",
        simulator::TEMPLATE_ON_PAGE_3
    );
    let files = drop_files("page3", &manifest, &order_rows(10));
    load(&db, &sim, &files.csv).await;
    let out = run(run_once(&db, &sim, &[])).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let s = states(&db.pool, campaign_id(&db, "page3").await).await;
    assert_eq!(s.get("sent"), Some(&10), "{s:?}");
    assert!(
        sim.messages()
            .iter()
            .all(|m| m.template_id == Some(simulator::TEMPLATE_ON_PAGE_3))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn texts_reach_contacts_and_non_contacts_only_once_contacts_are_created() {
    let db = TestDb::new().await;
    let sim = sim(SimConfig::default()).await;
    let contacts: Vec<SeedContact> = (0..3)
        .map(|i| SeedContact {
            firstname: format!("Known{i}"),
            lastname: "Contact".into(),
            mobile_code: "880".into(),
            mobile: mobile(i),
            blocked: false,
        })
        .collect();
    sim.add_contacts(&contacts);
    let mut csv = String::from("phone,firstname,lastname\n");
    for i in 0..6 {
        csv.push_str(&format!("+880{},First{i},Last{i}\n", mobile(i)));
    }

    // Without create_contacts: the three strangers fail at their first attempt.
    let files = drop_files(
        "cold",
        "name = \"cold\"\nmessage = \"Hi {{firstname}}\"\n",
        &csv,
    );
    load(&db, &sim, &files.csv).await;
    let out = run(run_once(&db, &sim, &[])).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let id = campaign_id(&db, "cold").await;
    let s = states(&db.pool, id).await;
    assert_eq!(
        (s.get("sent"), s.get("failed")),
        (Some(&3), Some(&3)),
        "{s:?}"
    );
    let failed: Vec<(i32, String)> = sqlx::query_as(
        "SELECT attempts, error FROM recipients WHERE campaign_id = $1 AND state = 'failed'",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    for (attempts, error) in failed {
        assert_eq!(attempts, 1, "not retried");
        assert!(error.contains("create_contacts"), "{error}");
    }
    assert_eq!(sim.messages().len(), 3);

    // With it: every number is made a contact (once) and all six are sent.
    let files = drop_files(
        "warm",
        "name = \"warm\"\nmessage = \"Hello {{firstname}}\"\ncreate_contacts = true\n",
        &csv,
    );
    load(&db, &sim, &files.csv).await;
    let out = run(run_once(&db, &sim, &[])).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let s = states(&db.pool, campaign_id(&db, "warm").await).await;
    assert_eq!(s.get("sent"), Some(&6), "{s:?}");
    let contacts = sim.contacts();
    for i in 0..6 {
        let n = contacts
            .iter()
            .filter(|c| c.mobile_code == "880" && c.mobile == mobile(i))
            .count();
        assert_eq!(n, 1, "{} is one contact", mobile(i));
    }
    let created: i64 = sqlx::query_scalar("SELECT count(*) FROM wutt_contacts WHERE created")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(created, 3, "only the strangers were created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_pauses_even_a_two_recipient_campaign() {
    let db = TestDb::new().await;
    let id = seed(&db.pool, "nowhere", 2).await;
    let started = std::time::Instant::now();
    let out = run(command(
        &db.url,
        "http://127.0.0.1:1",
        SECRET,
        &["run", "--once"],
    ))
    .await;
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(30));
    let (st, reason) = status(&db, id).await;
    assert_eq!(st, "paused");
    let reason = reason.unwrap_or_default();
    assert!(
        reason.contains("cannot reach the Wutt server at http://127.0.0.1:1")
            && reason.contains("WUTT_BASE_URL"),
        "{reason}"
    );
    let s = states(&db.pool, id).await;
    assert_eq!(s.get("failed"), None, "{s:?}");
    assert_eq!(s.get("queued"), Some(&2), "{s:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_base_path_pauses_text_and_template_campaigns_with_one_sentence() {
    let db = TestDb::new().await;
    let sim = sim(SimConfig::default()).await;
    let id = seed(&db.pool, "wrong-path", 5).await;
    let wrong = format!("{}/api/v1", sim.base_url());
    let out = run(command(&db.url, &wrong, SECRET, &["run", "--once"])).await;
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let (st, reason) = status(&db, id).await;
    assert_eq!(st, "paused");
    let reason = reason.unwrap_or_default();
    assert!(
        reason.contains("404") && reason.contains("HTML page") && reason.contains("WUTT_BASE_URL"),
        "{reason}"
    );
    assert!(!reason.contains("<html"), "no HTML in the reason: {reason}");
    assert!(sim.messages().is_empty());

    // A template campaign meets the same answer in its template check: the
    // load warns in one sentence, the run pauses it and exits 3.
    let files = drop_files(
        "tpl-path",
        "name = \"tpl-path\"\ntemplate_id = 1\n",
        &order_rows(3),
    );
    let out = run(command(
        &db.url,
        &wrong,
        SECRET,
        &["load", "--settle", "0", files.csv.to_str().unwrap()],
    ))
    .await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let warning = stderr(&out);
    assert!(
        warning.contains("HTTP 404 with an HTML page") && warning.contains("WUTT_BASE_URL"),
        "{warning}"
    );
    assert!(!warning.contains("<html"), "{warning}");
    let tpl = campaign_id(&db, "tpl-path").await;
    let out = run(command(&db.url, &wrong, SECRET, &["run", "--once"])).await;
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let (st, reason) = status(&db, tpl).await;
    assert_eq!(st, "paused");
    let reason = reason.unwrap_or_default();
    assert!(
        reason.contains("HTTP 404 with an HTML page") && reason.contains("WUTT_BASE_URL"),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_campaign_without_a_connected_number_pauses_the_account() {
    let db = TestDb::new().await;
    let sim = sim(rehearsal()).await;
    sim.set_account(AccountSetting {
        whatsapp_connected: Some(false),
        ..AccountSetting::default()
    });
    let text = seed(&db.pool, "texts", 20).await;
    let other = seed(&db.pool, "other", 20).await;
    let out = run(run_once(&db, &sim, &[])).await;
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    for id in [text, other] {
        let (st, reason) = status(&db, id).await;
        assert_eq!(st, "paused", "every campaign of the account");
        assert!(
            reason
                .unwrap_or_default()
                .contains("no WhatsApp number is connected"),
            "{id}"
        );
        assert_eq!(states(&db.pool, id).await.get("failed"), None);
    }
    assert!(sim.messages().is_empty());
}
