//! End to end, reading the server back: the real binary, real PostgreSQL,
//! the simulator keeping conversations as the server does. Ambiguous sends
//! (timeouts after sending, dropped answers, 500s before acting, a dead
//! runner) to contacts end `sent` or are sent again — each number reaches
//! WhatsApp exactly once; to non-contacts they stay `unknown`. A customer's
//! reply in the way, a server clock 90 s off, no `Date` header, and the
//! `reconcile` command with and without `--dry-run`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use crate::support::bin::*;
use crate::support::db::{eventually, seed, states};
use crate::support::runner;
use crate::support::sim::*;
use serde_json::Value;
use wutt_campaign::db::testing::TestDb;
use wutt_campaign::simulator::{
    self, Faults, LatencyRange, SeedContact, SimClock, SimConfig, SimHandle,
};

const WAIT: Duration = Duration::from_secs(240);

/// The 2,000-recipient runs take turns: each holds hundreds of withheld
/// answers, and three at once on a small machine make the one-second client
/// timeout fire on answers that were merely slow.
static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn mobile(i: usize) -> String {
    format!("17{:08}", 30_000_000 + i)
}

/// `n` rows `phone,firstname,lastname`.
fn rows(n: usize) -> String {
    let mut csv = String::from("phone,firstname,lastname\n");
    for i in 0..n {
        csv.push_str(&format!("+880{},First{i},Last{i}\n", mobile(i)));
    }
    csv
}

/// A template campaign (one body variable) to the `n` numbers.
fn template_campaign(name: &str, n: usize, extra: &str) -> Drop {
    let manifest = format!(
        "name = \"{name}\"\ntemplate_id = {}\nbody_variables = [\"{{{{firstname}}}}\"]\n{extra}",
        simulator::TEMPLATE_ONE_VAR
    );
    drop_files(name, &manifest, &rows(n))
}

/// Makes the `n` numbers contacts, two minutes ago on the server's clock
/// (contacts of long standing, whose customers last wrote back then).
fn old_contacts(sim: &SimHandle, n: usize) {
    contacts_since(sim, n, 120);
}

/// Makes the `n` numbers contacts, `secs` ago on the server's clock.
fn contacts_since(sim: &SimHandle, n: usize, secs: i64) {
    let now = sim.clock();
    sim.set_clock(SimClock {
        offset_secs: now.offset_secs - secs,
        ..now
    });
    let contacts: Vec<SeedContact> = (0..n)
        .map(|i| SeedContact {
            firstname: format!("First{i}"),
            lastname: format!("Last{i}"),
            mobile_code: "880".into(),
            mobile: mobile(i),
            blocked: false,
        })
        .collect();
    sim.add_contacts(&contacts);
    sim.set_clock(now);
}

fn faults(timeout: f64, drop: f64, error: f64) -> Faults {
    Faults {
        timeout_rate: timeout,
        drop_rate: drop,
        error_rate: error,
        latency_ms: LatencyRange { min: 0, max: 2 },
        ..Faults::default()
    }
}

async fn load(db: &TestDb, sim: &SimHandle, file: &Path) -> i64 {
    let out = run(command(
        &db.url,
        &sim.base_url(),
        SECRET,
        &["load", "--settle", "0", file.to_str().unwrap()],
    ))
    .await;
    assert_eq!(code(&out), 0, "load: {}", stderr(&out));
    let name = file.file_stem().unwrap().to_str().unwrap();
    sqlx::query_scalar("SELECT id FROM campaigns WHERE name = $1")
        .bind(name)
        .fetch_one(&db.pool)
        .await
        .expect("the campaign was loaded")
}

/// `run --once` with a one-second client timeout (the simulator's timeout
/// fault holds the answer much longer).
fn run_once(db: &TestDb, sim: &SimHandle) -> std::process::Command {
    command(
        &db.url,
        &sim.base_url(),
        SECRET,
        &["--timeout", "1", "run", "--once"],
    )
}

/// Runs the binary to the end, within [`WAIT`].
async fn run_to_end(cmd: std::process::Command) -> std::process::Output {
    tokio::time::timeout(WAIT, run(cmd))
        .await
        .expect("the run ended in time")
}

/// Read-backs of a campaign by (verdict, rule).
async fn read_backs(db: &TestDb, id: i64) -> BTreeMap<(String, String), i64> {
    sqlx::query_as::<_, (String, String, i64)>(
        "SELECT verdict, rule, count(*) FROM read_backs WHERE campaign_id = $1 GROUP BY 1, 2",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await
    .unwrap()
    .into_iter()
    .map(|(v, r, n)| ((v, r), n))
    .collect()
}

fn count(rb: &BTreeMap<(String, String), i64>, verdict: &str, rule: &str) -> i64 {
    rb.get(&(verdict.to_owned(), rule.to_owned()))
        .copied()
        .unwrap_or(0)
}

fn fault(faults: &BTreeMap<String, u64>, kind: &str) -> i64 {
    faults.get(kind).copied().unwrap_or(0) as i64
}

fn assert_each_once(sim: &SimHandle, n: usize) {
    let counts = sim_counts(sim);
    for (mobile, k) in &counts {
        assert_eq!(*k, 1, "{mobile} reached WhatsApp {k} times");
    }
    assert_eq!(counts.len(), n, "numbers that reached WhatsApp");
}

/// One recipient: (state, attempts, read_back_verdict, read_back_rule).
async fn recipient(
    db: &TestDb,
    id: i64,
    row: i32,
) -> (String, i32, Option<String>, Option<String>) {
    sqlx::query_as(
        "SELECT state, attempts, read_back_verdict, read_back_rule FROM recipient_results \
         WHERE campaign_id = $1 AND row_number = $2",
    )
    .bind(id)
    .bind(row)
    .fetch_one(&db.pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_contacts_through_timeouts_and_drops_leave_no_unknown() {
    let _turn = HEAVY.lock().await;
    let db = TestDb::new().await;
    let sim = sim(SimConfig {
        faults: faults(0.10, 0.05, 0.0),
        ..SimConfig::default()
    })
    .await;
    old_contacts(&sim, 2000);
    let files = template_campaign("contacts", 2000, "");
    let id = load(&db, &sim, &files.csv).await;
    let out = run_to_end(run_once(&db, &sim)).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let s = states(&db.pool, id).await;
    assert_eq!(s.get("sent"), Some(&2000), "{s:?}");
    assert_eq!(s.len(), 1, "no unknown left: {s:?}");
    assert_each_once(&sim, 2000);
    let faults = sim.stats().faults;
    let (timeouts, drops) = (fault(&faults, "timeout"), fault(&faults, "drop"));
    let rb = read_backs(&db, id).await;
    let moved = count(&rb, "sent", "moved");
    eprintln!(
        "contacts: {timeouts} timeouts, {drops} drops; read back: {rb:?}; messages {}",
        sim.messages().len()
    );
    assert!(timeouts > 100 && drops > 50, "{faults:?}");
    // Every ambiguous send was settled by a read-back, and all of them had
    // moved the conversation (the simulator's timeouts and drops act first;
    // a busy machine may add a few timeouts of the client's own).
    assert!(moved >= timeouts + drops, "{rb:?}");
    let shown: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM recipient_results WHERE campaign_id = $1 \
           AND read_back_verdict = 'sent' AND read_back_rule = 'moved' \
           AND read_back_detail LIKE 'conversation % last moved at %' \
           AND error LIKE 'sent: confirmed by reading the server back%'",
    )
    .bind(id)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(shown, moved, "the evidence is in recipient_results");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_contacts_campaign_through_timeouts_and_drops_leaves_no_unknown() {
    let _turn = HEAVY.lock().await;
    let db = TestDb::new().await;
    let sim = sim(SimConfig {
        faults: faults(0.10, 0.05, 0.0),
        ..SimConfig::default()
    })
    .await;
    let files = drop_files(
        "warm",
        "name = \"warm\"\nmessage = \"Hello {{firstname}}\"\ncreate_contacts = true\n",
        &rows(2000),
    );
    let id = load(&db, &sim, &files.csv).await;
    let out = run_to_end(run_once(&db, &sim)).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let s = states(&db.pool, id).await;
    assert_eq!(s.get("sent"), Some(&2000), "{s:?}");
    assert_eq!(s.len(), 1, "no unknown left: {s:?}");
    assert_each_once(&sim, 2000);
    let rb = read_backs(&db, id).await;
    let faults = sim.stats().faults;
    eprintln!("create_contacts: faults {faults:?}; read back: {rb:?}");
    // Every send the simulator took and then withheld the answer of was
    // read back as moved (more may be: a runner this busy also times out on
    // its own, before or after the simulator acted, or in the contact step).
    assert!(
        count(&rb, "sent", "moved") >= fault(&faults, "timeout") + fault(&faults, "drop"),
        "{rb:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_non_contacts_stay_unknown_and_none_is_sent_twice() {
    let _turn = HEAVY.lock().await;
    let db = TestDb::new().await;
    let sim = sim(SimConfig {
        faults: faults(0.10, 0.05, 0.0),
        ..SimConfig::default()
    })
    .await;
    let files = template_campaign("strangers", 2000, "");
    let id = load(&db, &sim, &files.csv).await;
    let out = run_to_end(run_once(&db, &sim)).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let s = states(&db.pool, id).await;
    let faults = sim.stats().faults;
    let ambiguous = fault(&faults, "timeout") + fault(&faults, "drop");
    let rb = read_backs(&db, id).await;
    eprintln!("non-contacts: {s:?}; faults {faults:?}; read back: {rb:?}");
    // Every ambiguous send (the simulator's, and any timeout of the client's
    // own on a busy machine) stays unknown: read once, no contact's
    // conversation found, final.
    let unknown = s.get("unknown").copied().unwrap_or(0);
    assert!(unknown >= ambiguous, "{s:?}");
    assert_eq!(s.get("sent"), Some(&(2000 - unknown)), "{s:?}");
    assert_eq!(rb.len(), 1, "{rb:?}");
    assert_eq!(count(&rb, "unknown", "not_a_contact"), unknown);
    assert_each_once(&sim, 2000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_reply_before_the_read_back_is_taken_for_sent_never_resent() {
    let db = TestDb::new().await;
    // Every send fails before WhatsApp (the simulator's 500 answers first).
    let sim = sim(SimConfig {
        faults: faults(0.0, 0.0, 1.0),
        ..SimConfig::default()
    })
    .await;
    old_contacts(&sim, 2);
    let files = template_campaign("reply", 2, "");
    let id = load(&db, &sim, &files.csv).await;
    let mut child = spawn(run_once(&db, &sim));
    let unknown = |row: i32| {
        let db = &db;
        async move { recipient(db, id, row).await.0 == "unknown" }
    };
    assert!(
        eventually(WAIT, || unknown(1)).await,
        "row 1 became unknown"
    );
    // The customer of row 1 writes before the read-back (a few seconds later).
    sim.customer_reply("880", &mobile(0));
    assert!(
        eventually(WAIT, || unknown(2)).await,
        "row 2 became unknown"
    );
    sim.set_faults(Faults::default());
    let exited = eventually(WAIT, || {
        let done = child.try_wait().ok().flatten().is_some();
        async move { done }
    })
    .await;
    if !exited {
        let _ = child.kill();
    }
    let status = child.wait().unwrap();
    assert!(exited && status.success(), "the run ended: {status:?}");

    // Row 1: the reply moved the conversation after the attempt started:
    // taken for sent (wrongly, which the README says), and never sent again.
    let (state, attempts, verdict, rule) = recipient(&db, id, 1).await;
    assert_eq!(
        (
            state.as_str(),
            attempts,
            verdict.as_deref(),
            rule.as_deref()
        ),
        ("sent", 1, Some("sent"), Some("moved"))
    );
    // Row 2: its conversation did not move: not sent, sent again, once.
    let (state, attempts, verdict, rule) = recipient(&db, id, 2).await;
    assert_eq!(
        (state.as_str(), verdict.as_deref(), rule.as_deref()),
        ("sent", Some("not_sent"), Some("not_moved"))
    );
    assert!(attempts >= 2, "{attempts}");
    let counts = sim_counts(&sim);
    assert_eq!(counts.get(&mobile(0)), None, "row 1 never reached WhatsApp");
    assert_eq!(counts.get(&mobile(1)), Some(&1));
    let calls: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM send_attempts a JOIN recipients r ON r.id = a.recipient_id \
         WHERE r.campaign_id = $1 AND r.row_number = 1",
    )
    .bind(id)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(calls, 1, "row 1 was sent once, never again");
    let seen: Value = sqlx::query_scalar(
        "SELECT seen FROM read_backs b JOIN recipients r ON r.id = b.recipient_id \
         WHERE r.campaign_id = $1 AND r.row_number = 1",
    )
    .bind(id)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(seen["search"], mobile(0), "{seen}");
    assert_eq!(seen["matches"].as_array().map(Vec::len), Some(1), "{seen}");
}

/// A server clock `offset_secs` off ours: 500s before acting and timeouts
/// after sending, until every number is sent, each once. The customers last
/// wrote a minute before the run on the server's clock — less than 90 s, so
/// a read-back that ignored the offset would take their messages for ours
/// (server ahead: 500s called sent, never sent) or ours for theirs (server
/// behind: sends called not sent, sent twice).
async fn clock_off_by(offset_secs: i64) {
    let db = TestDb::new().await;
    let sim = sim(SimConfig {
        faults: faults(0.3, 0.0, 0.3),
        ..SimConfig::default()
    })
    .await;
    sim.set_clock(SimClock {
        offset_secs,
        date_header: true,
    });
    contacts_since(&sim, 30, 60);
    let files = template_campaign("clock", 30, "max_attempts = 50\n");
    let id = load(&db, &sim, &files.csv).await;
    let out = run_to_end(run_once(&db, &sim)).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let s = states(&db.pool, id).await;
    let rb = read_backs(&db, id).await;
    eprintln!("clock {offset_secs:+} s: {s:?}; read back: {rb:?}");
    assert_eq!(s.get("sent"), Some(&30), "{offset_secs}: {s:?}");
    assert_eq!(s.len(), 1, "{offset_secs}: {s:?}");
    assert_each_once(&sim, 30);
    assert!(count(&rb, "sent", "moved") > 0, "{rb:?}");
    assert!(count(&rb, "not_sent", "not_moved") > 0, "{rb:?}");
    let (lo, hi): (f64, f64) =
        sqlx::query_as("SELECT min(offset_ms), max(offset_ms) FROM read_backs")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    let expected = offset_secs as f64 * 1000.0;
    assert!(
        (lo - expected).abs() < 1500.0 && (hi - expected).abs() < 1500.0,
        "measured {lo}..{hi} ms"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_clock_90_s_ahead_is_allowed_for() {
    clock_off_by(90).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_clock_90_s_behind_is_allowed_for() {
    clock_off_by(-90).await;
}

/// The recipients of a campaign as a person would compare them.
async fn snapshot(db: &TestDb, id: i64) -> Vec<(i32, String, i32, Option<String>, i64)> {
    sqlx::query_as(
        "SELECT r.row_number, r.state, r.attempts, r.error, \
                (SELECT count(*) FROM read_backs b WHERE b.recipient_id = r.id) \
         FROM recipients r WHERE r.campaign_id = $1 ORDER BY r.row_number",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await
    .unwrap()
}

/// `reconcile NAME --json [--dry-run]`: (row, verdict, rule, state) per line.
async fn reconcile(
    db: &TestDb,
    sim: &SimHandle,
    name: &str,
    dry_run: bool,
) -> BTreeSet<(i64, String, String, String)> {
    let mut args = vec!["reconcile", name, "--json"];
    if dry_run {
        args.push("--dry-run");
    }
    let out = run_to_end(command(&db.url, &sim.base_url(), SECRET, &args)).await;
    assert_eq!(code(&out), 0, "reconcile: {}", stderr(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).expect("a JSON line");
            assert_eq!(v["dry_run"], dry_run);
            let text = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
            (
                v["row_number"].as_i64().unwrap(),
                text("verdict"),
                text("rule"),
                text("state"),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_date_header_nothing_is_decided_and_reconcile_does_what_its_dry_run_said() {
    let db = TestDb::new().await;
    let sim = sim(SimConfig {
        faults: faults(0.3, 0.0, 0.3),
        ..SimConfig::default()
    })
    .await;
    old_contacts(&sim, 24);
    // One more row that is not a contact.
    let mut csv = rows(24);
    csv.push_str(&format!("+880{},Stranger,Unknown\n", mobile(99)));
    let manifest = format!(
        "name = \"nodate\"\ntemplate_id = {}\nbody_variables = [\"{{{{firstname}}}}\"]\n",
        simulator::TEMPLATE_ONE_VAR
    );
    let files = drop_files("nodate", &manifest, &csv);
    let id = load(&db, &sim, &files.csv).await;
    sim.set_clock(SimClock {
        offset_secs: 0,
        date_header: false,
    });
    let out = run_to_end(run_once(&db, &sim)).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let (stranger, ..) = recipient(&db, id, 25).await;
    let s = states(&db.pool, id).await;
    let rb = read_backs(&db, id).await;
    eprintln!("no Date: {s:?}; read back: {rb:?}");
    let unknown = s.get("unknown").copied().unwrap_or(0);
    assert!(unknown >= 5, "{s:?}");
    // Nothing decided: every read-back is "unknown", for want of a clock.
    assert!(
        rb.keys()
            .all(|(v, r)| v == "unknown" && r == "clock_unknown"),
        "{rb:?}"
    );
    assert!(!rb.is_empty(), "the service tried");

    // With the Date back: the dry run decides and changes nothing.
    sim.set_clock(SimClock::default());
    let before = snapshot(&db, id).await;
    let table = run_to_end(command(
        &db.url,
        &sim.base_url(),
        SECRET,
        &["reconcile", "nodate", "--dry-run"],
    ))
    .await;
    let table = String::from_utf8_lossy(&table.stdout).into_owned();
    eprintln!("{table}");
    assert!(
        table.contains("read back — dry run, nothing changed") && table.contains("would become"),
        "{table}"
    );
    let planned = reconcile(&db, &sim, "nodate", true).await;
    assert_eq!(snapshot(&db, id).await, before, "--dry-run changed nothing");
    assert_eq!(planned.len() as i64, unknown, "{planned:?}");
    let states_planned: BTreeSet<&str> = planned.iter().map(|p| p.3.as_str()).collect();
    assert!(
        states_planned.contains("sent") && states_planned.contains("queued"),
        "{planned:?}"
    );
    // The stranger, if its send was ambiguous, cannot be told.
    assert_eq!(
        planned.contains(&(
            25,
            "unknown".into(),
            "not_a_contact".into(),
            "unknown".into()
        )),
        stranger == "unknown",
        "{planned:?}"
    );
    // Without it: the same decisions, done.
    let done = reconcile(&db, &sim, "nodate", false).await;
    assert_eq!(done, planned, "reconcile did what its dry run printed");
    for (row, _, _, state) in &done {
        let (now, ..) = recipient(&db, id, *row as i32).await;
        assert_eq!(&now, state, "row {row}");
    }
    // The ones not sent go out once more; nobody twice.
    sim.set_faults(Faults::default());
    let out = run_to_end(run_once(&db, &sim)).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let s = states(&db.pool, id).await;
    let stranger_sent = i64::from(stranger == "sent");
    assert_eq!(s.get("sent"), Some(&(24 + stranger_sent)), "{s:?}");
    assert_eq!(
        s.get("unknown"),
        (stranger_sent == 0).then_some(&1),
        "{s:?}"
    );
    let counts = sim_counts(&sim);
    for (mobile, k) in &counts {
        assert_eq!(*k, 1, "{mobile} reached WhatsApp {k} times");
    }
    for i in 0..24 {
        assert_eq!(counts.get(&mobile(i)), Some(&1), "row {}", i + 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_runners_claims_are_read_back_from_their_claim() {
    let db = TestDb::new().await;
    // Every send is taken, then its answer withheld.
    let sim = sim(SimConfig {
        faults: faults(1.0, 0.0, 0.0),
        ..SimConfig::default()
    })
    .await;
    old_contacts(&sim, 10);
    let files = template_campaign("dead", 10, "");
    let id = load(&db, &sim, &files.csv).await;
    let runner = || {
        command(
            &db.url,
            &sim.base_url(),
            SECRET,
            &["--timeout", "3", "run", "--once", "--lease-secs", "6"],
        )
    };
    let mut child = spawn(runner());
    assert!(
        eventually(WAIT, || async { sim.messages().len() >= 10 }).await,
        "every send reached WhatsApp"
    );
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
    sim.set_faults(Faults::default());
    // Their leases run out; the next run rescues them as unknown, then
    // reads them back.
    assert!(
        eventually(WAIT, || async {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM recipients WHERE state = 'sending' AND lease_expires_at > now()",
            )
            .fetch_one(&db.pool)
            .await
            .unwrap()
                == 0
        })
        .await
    );
    let out = run_to_end(runner()).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let s = states(&db.pool, id).await;
    assert_eq!(s.get("sent"), Some(&10), "{s:?}");
    assert_each_once(&sim, 10);
    let from: Vec<(String, String)> =
        sqlx::query_as("SELECT started_from, rule FROM read_backs WHERE campaign_id = $1")
            .bind(id)
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(from.len(), 10, "{from:?}");
    assert!(
        from.iter().all(|(f, r)| f == "claim" && r == "moved"),
        "{from:?}"
    );
}

/// The service's own pass, called as a library: what is due is read back,
/// a dry run changes nothing, and a settled row is not read again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_once_settles_what_is_due_and_a_dry_run_changes_nothing() {
    use wutt_campaign::campaign::phone::PhoneNumber;
    use wutt_campaign::delivery::reconcile::{Changes, ReadBack, ReadBackConfig, Scope, Verdict};
    use wutt_campaign::wutt::{OutcomeClass, SendMessage};

    let db = TestDb::new().await;
    let sim = sim(SimConfig::default()).await;
    // db::seed's numbers: +880 1 000000001 …
    let numbers: Vec<String> = (1..=4).map(|g| format!("1{g:09}")).collect();
    let now = sim.clock();
    sim.set_clock(SimClock {
        offset_secs: -120,
        ..now
    });
    sim.add_contacts(
        &numbers
            .iter()
            .map(|m| SeedContact {
                firstname: "A".into(),
                lastname: "B".into(),
                mobile_code: "880".into(),
                mobile: m.clone(),
                blocked: false,
            })
            .collect::<Vec<_>>(),
    );
    sim.set_clock(now);
    let id = seed(&db.pool, "lib", 4).await;
    // Claimed; rows 1 and 2 reach the server; then all four are lost as a
    // dead runner's would be (the rescue makes them unknown).
    sqlx::query(
        "UPDATE recipients SET state = 'sending', updated_at = now() WHERE campaign_id = $1",
    )
    .bind(id)
    .execute(&db.pool)
    .await
    .unwrap();
    let client = wutt_campaign::wutt::Client::new(wutt_campaign::wutt::ClientConfig {
        client_id: ID.into(),
        ..runner::client(&sim.base_url(), SECRET, Duration::from_secs(5))
            .config()
            .clone()
    })
    .unwrap();
    for m in &numbers[..2] {
        let o = client
            .send_message(&SendMessage::text(
                PhoneNumber::from_canonical(880, m.clone()),
                "hello",
            ))
            .await;
        assert_eq!(o.class(), OutcomeClass::Success, "{o:?}");
    }
    sqlx::query("UPDATE recipients SET state = 'unknown' WHERE campaign_id = $1")
        .bind(id)
        .execute(&db.pool)
        .await
        .unwrap();
    let config = ReadBackConfig {
        delay: Duration::ZERO,
        quiet_unanswered: Duration::ZERO,
        calls_per_second: 50.0,
        ..ReadBackConfig::default()
    };
    let rb = ReadBack::new(db.pool.clone(), client, config);
    let stop = tokio_util::sync::CancellationToken::new();

    let before = snapshot(&db, id).await;
    let dry = rb
        .run_once(Scope::Due, Changes::DryRun, &stop)
        .await
        .unwrap();
    assert_eq!(snapshot(&db, id).await, before, "a dry run changes nothing");
    let done = rb
        .run_once(Scope::Due, Changes::Apply, &stop)
        .await
        .unwrap();
    for report in [&dry, &done] {
        assert_eq!(
            (report.count(Verdict::Sent), report.count(Verdict::NotSent)),
            (2, 2),
            "{report:?}"
        );
        assert_eq!(report.stopped, None);
    }
    let actions: Vec<(i32, &str)> = done
        .settled
        .iter()
        .map(|s| (s.candidate.row_number, s.action.as_str()))
        .collect();
    assert_eq!(
        actions,
        [(1, "sent"), (2, "sent"), (3, "queued"), (4, "queued")]
    );
    for s in &done.settled {
        assert!(s.candidate.claimed_at.is_some(), "dated from its claim");
    }
    let s = states(&db.pool, id).await;
    assert_eq!(
        (s.get("sent"), s.get("queued")),
        (Some(&2), Some(&2)),
        "{s:?}"
    );
    let again = rb
        .run_once(Scope::Due, Changes::Apply, &stop)
        .await
        .unwrap();
    assert!(again.settled.is_empty(), "{again:?}");
}
