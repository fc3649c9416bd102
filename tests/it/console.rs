//! The web console: in a real headless Chromium (Debian's `chromium` and
//! `chromium-driver`, driven over WebDriver) against the real binary running
//! `run --console-addr` beside the simulator, and over plain HTTP for the
//! token checks. The browser tests write the screenshots of
//! `docs/console/*.png`.
//!
//! Without `chromedriver` the browser tests are skipped with a message,
//! unless `CI` is set: under CI they fail.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use wutt_campaign::db::testing::TestDb;
use wutt_campaign::simulator::SimHandle;

use crate::support::bin::command;
use crate::support::db::{eventually, seed, states};
use crate::support::sim::{SECRET, rehearsal, sim};

const TOKEN: &str = "console-test-token-0123456789";

/// A free loopback port (bound and released).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn chromedriver() -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("chromedriver"))
            .find(|p| p.is_file())
    })
}

/// The driver, or `None` (skip) when it is missing and this is not CI.
fn driver_or_skip(test: &str) -> Option<PathBuf> {
    match chromedriver() {
        Some(p) => Some(p),
        None if std::env::var("CI").is_ok_and(|v| !v.is_empty()) => {
            panic!("{test}: chromedriver is missing (CI must install chromium and chromium-driver)")
        }
        None => {
            eprintln!(
                "SKIPPED {test}: no chromedriver on PATH \
                 (apt-get install chromium chromium-driver to run the browser tests)"
            );
            None
        }
    }
}

/// A headless Chromium behind its chromedriver, both ended on drop.
struct Browser {
    client: Client,
    driver: Child,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

async fn browser(driver: &Path) -> Browser {
    let port = free_port();
    let mut child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let url = format!("http://127.0.0.1:{port}");
    let up = eventually(Duration::from_secs(20), || async {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
    })
    .await;
    if !up {
        let _ = child.kill();
        panic!("chromedriver did not start");
    }
    let mut caps = serde_json::Map::new();
    let mut args = vec![
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1200,860",
    ];
    if std::env::var_os("WUTT_CONSOLE_TEST_HEADFUL").is_some() {
        args.remove(0);
    }
    let mut opts = serde_json::json!({ "args": args });
    if Path::new("/usr/bin/chromium").exists() {
        opts["binary"] = "/usr/bin/chromium".into();
    }
    caps.insert("goog:chromeOptions".into(), opts);
    let client = ClientBuilder::rustls()
        .expect("TLS roots")
        .capabilities(caps)
        .connect(&url)
        .await
        .expect("a Chromium session");
    Browser {
        client,
        driver: child,
    }
}

/// The runner (`run --console-addr`) with its console, ended on drop.
struct Runner {
    child: Child,
    console: String,
    dir: tempfile::TempDir,
}

impl Drop for Runner {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn runner(db: &TestDb, sim: &SimHandle, rate: &str) -> Runner {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["inbox", "processed", "rejected"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
    }
    runner_in(db, sim, rate, dir).await
}

async fn runner_in(db: &TestDb, sim: &SimHandle, rate: &str, dir: tempfile::TempDir) -> Runner {
    let port = free_port();
    let console = format!("http://127.0.0.1:{port}");
    let log = std::fs::File::create(dir.path().join("runner.log")).unwrap();
    let mut cmd = command(&db.url, &sim.base_url(), SECRET, &["run"]);
    cmd.env("WUTT_CAMPAIGNS_DIR", dir.path())
        .env("WUTT_CONSOLE_ADDR", format!("127.0.0.1:{port}"))
        .env("WUTT_CONSOLE_TOKEN", TOKEN)
        .env("WUTT_RATE", rate)
        .env("WUTT_BATCH_SIZE", "2")
        .env("WUTT_SETTLE", "0.2")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log);
    let child = cmd.spawn().expect("start the runner");
    let runner = Runner {
        child,
        console,
        dir,
    };
    let login = format!("{}/login", runner.console);
    let up = eventually(Duration::from_secs(30), || async {
        reqwest::get(&login)
            .await
            .is_ok_and(|r| r.status().is_success())
    })
    .await;
    assert!(
        up,
        "the console did not come up: {}",
        std::fs::read_to_string(runner.dir.path().join("runner.log")).unwrap_or_default()
    );
    runner
}

async fn login(b: &Browser, console: &str) {
    b.client
        .goto(&format!("{console}/login?token={TOKEN}"))
        .await
        .unwrap();
    b.client
        .wait()
        .for_element(Locator::Css("h1"))
        .await
        .unwrap();
}

async fn screenshot(b: &Browser, name: &str) {
    let png = b.client.screenshot().await.expect("screenshot");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/console");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), png).unwrap();
}

async fn attr(b: &Browser, css: &str, name: &str) -> Option<String> {
    match b.client.find(Locator::Css(css)).await {
        Ok(e) => e.attr(name).await.ok().flatten(),
        Err(_) => None,
    }
}

async fn sent_of(b: &Browser, row: &str) -> i64 {
    attr(b, row, "data-sent")
        .await
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or(0)
}

async fn text(b: &Browser, css: &str) -> String {
    match b.client.find(Locator::Css(css)).await {
        Ok(e) => e.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn campaigns_page_shows_progress_live_and_pause_stops_sending() {
    let Some(driver) = driver_or_skip("campaigns_page_shows_progress_live_and_pause_stops_sending")
    else {
        return;
    };
    let db = TestDb::new().await;
    let sim = sim(rehearsal()).await;
    for (name, n) in [("autumn-newsletter", 12), ("eid-offer", 40)] {
        seed(&db.pool, name, n).await;
    }
    let id = seed(&db.pool, "spring-offer", 400).await;
    let runner = runner(&db, &sim, "8").await;
    let b = browser(&driver).await;
    login(&b, &runner.console).await;
    b.client
        .goto(&format!("{}/", runner.console))
        .await
        .unwrap();
    let row = format!("#campaign-{id}");
    // Mark the document: a reload would lose the mark.
    b.client
        .execute("window.__notReloaded = true;", vec![])
        .await
        .unwrap();
    let first = sent_of(&b, &row).await;
    let moved = eventually(Duration::from_secs(15), || async {
        sent_of(&b, &row).await >= first + 10
    })
    .await;
    let later = sent_of(&b, &row).await;
    assert!(
        moved,
        "the campaigns page did not show sending progress live ({first} → {later})"
    );
    let same_document = b
        .client
        .execute("return window.__notReloaded === true;", vec![])
        .await
        .unwrap();
    assert_eq!(same_document, serde_json::json!(true), "the page reloaded");
    assert!(text(&b, &row).await.contains("active"));
    screenshot(&b, "campaigns.png").await;

    // Pause from the campaign page: the simulator gets nothing more.
    b.client
        .goto(&format!("{}/campaigns/{id}", runner.console))
        .await
        .unwrap();
    let pause = b
        .client
        .find(Locator::XPath("//button[normalize-space()='Pause']"))
        .await
        .expect("a Pause button");
    pause.click().await.unwrap();
    let paused = eventually(Duration::from_secs(5), || async {
        attr(&b, "#campaign-status", "data-status").await.as_deref() == Some("paused")
    })
    .await;
    assert!(
        paused,
        "the campaign page does not show it paused: {}",
        text(&b, "body").await
    );
    // Every request asks the dispatch gate right before it leaves, so nothing
    // leaves once the page has shown the pause (a request already on its way
    // may still land).
    // The other two campaigns go on sending: what counts is this one's
    // answers, as recorded.
    let sent_here = || async { states(&db.pool, id).await.get("sent").copied().unwrap_or(0) };
    let paused_at = tokio::time::Instant::now();
    let (mut last, mut changed) = (sent_here().await, paused_at);
    while changed.elapsed() < Duration::from_secs(1)
        && paused_at.elapsed() < Duration::from_secs(15)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let n = sent_here().await;
        if n != last {
            (last, changed) = (n, tokio::time::Instant::now());
        }
    }
    let drain = changed - paused_at;
    eprintln!(
        "sending stopped {} ms after the page showed the pause",
        drain.as_millis()
    );
    let at_pause = sent_here().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        sent_here().await,
        at_pause,
        "messages of the paused campaign were sent after Pause"
    );
    assert!(
        drain < Duration::from_secs(1),
        "sending went on {drain:?} after Pause"
    );
    let st = states(&db.pool, id).await;
    assert!(st.get("queued").copied().unwrap_or(0) > 0, "{st:?}");
    let page = text(&b, "main").await;
    assert!(
        page.contains("Someone paused it") && page.contains("Resume"),
        "{page}"
    );
    screenshot(&b, "campaign.png").await;
    b.client.clone().close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn upload_dry_run_approve_sends_and_rejected_files_show_their_errors() {
    let Some(driver) =
        driver_or_skip("upload_dry_run_approve_sends_and_rejected_files_show_their_errors")
    else {
        return;
    };
    let db = TestDb::new().await;
    let sim = sim(rehearsal()).await;
    let dir = tempfile::tempdir().unwrap();
    for sub in ["inbox", "processed", "rejected"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
    }
    // A broken drop: the runner rejects it at start.
    std::fs::write(
        dir.path().join("inbox/broken.csv"),
        "phone,firstname\n+8801711000001,Ana\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("inbox/broken.toml"),
        "mesage = \"Hi {{firstname}}\"\nrate_per_second = -3\n",
    )
    .unwrap();
    let runner = runner_in(&db, &sim, "1000", dir).await;
    let rejected = runner.dir.path().join("rejected");
    let moved = eventually(Duration::from_secs(20), || async {
        std::fs::read_dir(&rejected)
            .map(|d| d.count() > 0)
            .unwrap_or(false)
    })
    .await;
    assert!(moved, "the broken file was not rejected");

    let b = browser(&driver).await;
    login(&b, &runner.console).await;
    b.client
        .goto(&format!("{}/inbox", runner.console))
        .await
        .unwrap();
    let shown = text(&b, "details.rejected").await;
    assert!(
        shown.contains("broken") && shown.contains("mesage"),
        "the rejected file's errors are not shown: {shown:?}"
    );

    // Upload → dry run → approve → sent.
    let upload = tempfile::tempdir().unwrap();
    let csv = upload.path().join("welcome.csv");
    let mut rows = String::from("phone,firstname\n");
    for i in 0..6 {
        rows.push_str(&format!("+88017120000{i:02},Guest{i}\n"));
    }
    rows.push_str("not-a-number,Nobody\n");
    std::fs::write(&csv, rows).unwrap();
    let manifest = upload.path().join("welcome.toml");
    std::fs::write(&manifest, "message = \"Welcome {{firstname}}!\"\n").unwrap();
    b.client
        .find(Locator::Css("#csv"))
        .await
        .unwrap()
        .send_keys(csv.to_str().unwrap())
        .await
        .unwrap();
    b.client
        .find(Locator::Css("#manifest"))
        .await
        .unwrap()
        .send_keys(manifest.to_str().unwrap())
        .await
        .unwrap();
    screenshot(&b, "inbox.png").await;
    b.client
        .find(Locator::XPath("//button[contains(., 'dry run')]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    if b.client
        .wait()
        .for_element(Locator::Css("#dry-run-counts"))
        .await
        .is_err()
    {
        panic!("no dry run shown: {}", text(&b, "body").await);
    }
    let counts = text(&b, "#dry-run-counts").await;
    assert!(
        counts.contains('6') && counts.contains("invalid"),
        "{counts}"
    );
    let samples = text(&b, "#samples").await;
    assert!(samples.contains("Welcome Guest0!"), "{samples}");
    assert!(
        text(&b, "#invalid-rows").await.contains("not-a-number"),
        "the invalid row is not listed"
    );
    assert!(
        sim.messages().is_empty(),
        "a dry run must not send anything"
    );
    screenshot(&b, "dry-run.png").await;
    b.client
        .find(Locator::XPath(
            "//button[starts-with(normalize-space(), 'Approve')]",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.client
        .wait()
        .for_element(Locator::Css("#campaign-status"))
        .await
        .unwrap();
    let all_sent = eventually(Duration::from_secs(20), || async {
        sim.messages().len() == 6
    })
    .await;
    assert!(all_sent, "sent {} of 6", sim.messages().len());
    let shown = eventually(Duration::from_secs(10), || async {
        text(&b, "#sent-count").await == "6"
    })
    .await;
    assert!(shown, "the campaign page does not show 6 sent");
    b.client.clone().close().await.unwrap();
}

/// The console's answers to requests without the token, with the wrong CSRF
/// token, or from another site; and the token never reaches a page.
#[tokio::test]
async fn actions_without_the_token_are_refused() {
    let db = TestDb::new().await;
    let id = seed(&db.pool, "guarded", 5).await;
    let dir = tempfile::tempdir().unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let s = stop.clone();
    let server = wutt_campaign::console::serve(
        wutt_campaign::console::ConsoleConfig {
            addr: "127.0.0.1:0".parse().unwrap(),
            token: Some(wutt_campaign::config::Secret::new(TOKEN)),
            campaigns_dir: dir.path().to_path_buf(),
            settle: Duration::from_secs(5),
            account_rate: 20.0,
            sending: false,
        },
        db.pool.clone(),
        None,
        async move { s.cancelled().await },
    )
    .await
    .unwrap();
    let base = format!("http://{}", server.local_addr);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let pause = format!("{base}/campaigns/{id}/pause");
    let status = |r: &reqwest::Response| r.status().as_u16();

    // No token at all.
    let r = http
        .post(&pause)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={}", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(status(&r), 401);
    let r = http.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(status(&r), 401);
    let r = http
        .get(format!("{base}/api/campaigns"))
        .send()
        .await
        .unwrap();
    assert_eq!(status(&r), 401);
    // A wrong token does not log in.
    let r = http
        .get(format!("{base}/login?token=wrong-token-wrong-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(status(&r), 401);
    // Logged in, the page carries a CSRF token but never the token itself.
    let r = http
        .get(format!("{base}/login?token={TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(status(&r), 303);
    let cookie = r
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert!(!cookie.contains(TOKEN));
    let page = http
        .get(format!("{base}/campaigns/{id}"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains(TOKEN), "the token reached a page");
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a CSRF field")
        .to_string();
    // The cookie without the form's CSRF token.
    let r = http
        .post(&pause)
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={}", "forged"))
        .send()
        .await
        .unwrap();
    assert_eq!(status(&r), 403);
    // Everything right, but sent by another site.
    let r = http
        .post(&pause)
        .header("cookie", &cookie)
        .header("origin", "http://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}"))
        .send()
        .await
        .unwrap();
    assert_eq!(status(&r), 403);
    let r = http
        .post(&pause)
        .header("cookie", &cookie)
        .header("sec-fetch-site", "cross-site")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}"))
        .send()
        .await
        .unwrap();
    assert_eq!(status(&r), 403);
    let still: String = sqlx::query_scalar("SELECT status FROM campaigns WHERE id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(still, "active", "a refused action changed the campaign");
    // The same origin with the CSRF token, and a script with the bearer token, may.
    let r = http
        .post(&pause)
        .header("cookie", &cookie)
        .header("origin", &base)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={csrf}"))
        .send()
        .await
        .unwrap();
    assert_eq!(status(&r), 303);
    let r = http
        .post(format!("{base}/campaigns/{id}/resume"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(status(&r), 303);
    let now: String = sqlx::query_scalar("SELECT status FROM campaigns WHERE id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(now, "active");
    stop.cancel();
    server.task.await.unwrap().unwrap();
}

/// A manifest with `require_approval = true` loads as a draft that nothing
/// claims until `campaign approve`.
#[tokio::test]
async fn require_approval_loads_a_draft_until_approved() {
    let db = TestDb::new().await;
    let sim = sim(rehearsal()).await;
    let drop = crate::support::bin::drop_files(
        "needs-ok",
        "message = \"Hi {{firstname}}\"\nrequire_approval = true\n",
        "phone,firstname\n+8801713000001,Ana\n+8801713000002,Bo\n",
    );
    let csv = drop.csv.to_str().unwrap().to_string();
    let out =
        crate::support::bin::run(command(&db.url, &sim.base_url(), SECRET, &["load", &csv])).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status: String = sqlx::query_scalar("SELECT status FROM campaigns WHERE name = 'needs-ok'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(status, "draft");
    let out = crate::support::bin::run(command(
        &db.url,
        &sim.base_url(),
        SECRET,
        &["run", "--once"],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0));
    assert!(sim.messages().is_empty(), "a draft was sent");
    let out = crate::support::bin::run(command(
        &db.url,
        &sim.base_url(),
        SECRET,
        &["campaign", "approve", "needs-ok"],
    ))
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = crate::support::bin::run(command(
        &db.url,
        &sim.base_url(),
        SECRET,
        &["run", "--once"],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(sim.messages().len(), 2);
}

/// The maintained counts follow every insert, update and delete of recipients.
#[tokio::test]
async fn maintained_counts_match_a_scan() {
    let db = TestDb::new().await;
    let a = seed(&db.pool, "a", 50).await;
    let b = seed(&db.pool, "b", 7).await;
    sqlx::query("UPDATE recipients SET state = 'sent' WHERE campaign_id = $1 AND row_number <= 20")
        .bind(a)
        .execute(&db.pool)
        .await
        .unwrap();
    wutt_campaign::report::console::compact_counts(&db.pool)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE recipients SET state = 'failed' WHERE campaign_id = $1 AND row_number <= 3",
    )
    .bind(b)
    .execute(&db.pool)
    .await
    .unwrap();
    let cs = wutt_campaign::report::console::campaigns(&db.pool)
        .await
        .unwrap();
    for c in &cs {
        let scan = states(&db.pool, c.id).await;
        for (state, n) in &scan {
            assert_eq!(c.count(state), *n, "campaign {} state {state}", c.id);
        }
        assert_eq!(c.total(), scan.values().sum::<i64>());
    }
}
