//! `load`, `suppress` and `run --once` as a user runs them: output, exit
//! codes, and two runners started together on one inbox.

use std::process::{Command, Output};

use wutt_campaign::db::testing::TestDb;

fn run(db: &TestDb, dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wutt-campaign"))
        .args(args)
        .env("DATABASE_URL", &db.url)
        .env("WUTT_CAMPAIGNS_DIR", dir.join("campaigns"))
        .env_remove("WUTT_CLIENT_ID")
        .env_remove("WUTT_CLIENT_SECRET")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test]
async fn load_exit_codes_say_what_happened() {
    let db = TestDb::new().await;
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good.csv");
    std::fs::write(
        &good,
        "phone,firstname\n+8801711000001,A\n+8801711000001,B\n",
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("good.toml"),
        "message = \"Hi {{firstname}}\"\n",
    )
    .unwrap();
    let bad = tmp.path().join("bad.csv");
    std::fs::write(&bad, "phone,firstname\n+8801711000001,A\n").unwrap();
    std::fs::write(tmp.path().join("bad.toml"), "message = \"Hi {{nick}}\"\n").unwrap();
    let (g, b) = (good.to_str().unwrap(), bad.to_str().unwrap());

    let dry = run(&db, tmp.path(), &["load", "--settle", "0", "--dry-run", g]);
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry));
    assert!(text(&dry).contains("Hi A"), "{}", text(&dry));

    let ok = run(&db, tmp.path(), &["load", "--settle", "0", g]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    let out = text(&ok);
    assert!(out.contains("campaign 1 \"good\" loaded"), "{out}");
    assert!(out.contains("| duplicate  |          1 |"), "{out}");
    assert!(
        out.contains("1 duplicate row, not sent again:\n  line 3, value \"+8801711000001\": same number as line 2"),
        "{out}"
    );
    assert_eq!(
        out.matches("reaches only numbers").count(),
        1,
        "each warning once: {out}"
    );
    assert!(
        out.contains("warning: free-form text (message, media, location, interactive) reaches only numbers that are already Wutt contacts"),
        "{out}"
    );

    let rejected = run(&db, tmp.path(), &["load", "--settle", "0", b]);
    assert_eq!(rejected.status.code(), Some(1), "{}", text(&rejected));
    assert!(text(&rejected).contains("nick"), "{}", text(&rejected));

    let missing = run(&db, tmp.path(), &["load", "/nonexistent/x.csv"]);
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing));
}

#[tokio::test]
async fn a_dry_run_prints_the_variables_and_the_contacts() {
    let db = TestDb::new().await;
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("shipped.csv");
    std::fs::write(
        &csv,
        "phone,firstname,lastname,order_id\n+8801711000001,Ann,Lee,A-1\n+8801711000002,Bob,Roy,\n",
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("shipped.toml"),
        "template_id = 42\nbody_variables = [\"{{firstname}}\", \"{{order_id}}\"]\nheader_variables = [\"{{firstname}}\"]\ncreate_contacts = true\n",
    )
    .unwrap();
    let dry = run(
        &db,
        tmp.path(),
        &["load", "--settle", "0", "--dry-run", csv.to_str().unwrap()],
    );
    let out = text(&dry);
    assert_eq!(dry.status.code(), Some(0), "{out}");
    assert!(
        out.contains(
            "line 2 → +8801711000001: template 42 · body variables [\"Ann\", \"A-1\"] · header variables [\"Ann\"] · contact \"Ann\" \"Lee\""
        ),
        "{out}"
    );
    assert!(
        out.contains("body variable 2 ({{order_id}}) is empty on this row"),
        "{out}"
    );
    assert!(out.contains("warning: templates not verified"), "{out}");
    assert!(
        out.contains("warning: create_contacts = true with template_id"),
        "{out}"
    );
    assert!(!out.contains("reaches only numbers"), "{out}");
    let campaigns: i64 = sqlx::query_scalar("SELECT count(*) FROM campaigns")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(campaigns, 0);

    let text_csv = tmp.path().join("hello.csv");
    std::fs::write(&text_csv, "phone\n+8801711000001\n").unwrap();
    std::fs::write(tmp.path().join("hello.toml"), "message = \"Hello\"\n").unwrap();
    let dry = run(
        &db,
        tmp.path(),
        &[
            "load",
            "--settle",
            "0",
            "--dry-run",
            text_csv.to_str().unwrap(),
        ],
    );
    let out = text(&dry);
    assert_eq!(dry.status.code(), Some(0), "{out}");
    assert!(
        out.contains(
            "reaches only numbers that are already Wutt contacts with an open 24-hour window"
        ) && out.contains("create_contacts = true"),
        "{out}"
    );
}

#[tokio::test]
async fn suppress_commands_manage_the_list() {
    let db = TestDb::new().await;
    let tmp = tempfile::tempdir().unwrap();
    let add = run(
        &db,
        tmp.path(),
        &["suppress", "add", "+880 1711-000001", "--reason", "STOP"],
    );
    assert_eq!(add.status.code(), Some(0), "{}", text(&add));
    let list = tmp.path().join("optout.csv");
    std::fs::write(
        &list,
        "mobile_code;mobile\n880;01711000001\n880;01711000002\n880;12\n",
    )
    .unwrap();
    let import = run(
        &db,
        tmp.path(),
        &["suppress", "import", list.to_str().unwrap()],
    );
    assert_eq!(import.status.code(), Some(0), "{}", text(&import));
    assert!(
        text(&import).contains("1 added, 1 already on the list, 1 invalid"),
        "{}",
        text(&import)
    );
    let json = run(&db, tmp.path(), &["suppress", "list", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v.as_array().map(Vec::len), Some(2), "{v}");
    assert_eq!(v[0]["reason"], "STOP");
    let rm = run(&db, tmp.path(), &["suppress", "remove", "008801711000001"]);
    assert!(text(&rm).contains("removed"), "{}", text(&rm));
    let bad = run(&db, tmp.path(), &["suppress", "add", "not a number"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
}

/// Two `run --once` processes started together on one inbox of six template
/// campaign files: each file becomes exactly one campaign, and each recipient
/// is sent exactly once, whichever process loaded or sent it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_run_once_processes_load_and_send_each_file_once() {
    use std::collections::HashMap;
    use wutt_campaign::simulator::{self, SimConfig, TEMPLATE_ONE_VAR};

    let db = TestDb::new().await;
    let sim = simulator::start(
        SimConfig {
            seed: Some(3),
            ..SimConfig::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .expect("simulator");
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("campaigns");
    let inbox = root.join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    let mut rows = 0;
    for f in 0..6u32 {
        let mut csv = String::from("phone,firstname\n");
        for r in 0..(3 + f) {
            csv.push_str(&format!("+8801713{:06},N{r}\n", f * 100 + r));
            rows += 1;
        }
        std::fs::write(inbox.join(format!("f{f}.csv")), csv).unwrap();
        // A template: free-form text would reach only numbers that are
        // already contacts, and these are not.
        std::fs::write(
            inbox.join(format!("f{f}.toml")),
            format!("template_id = {TEMPLATE_ONE_VAR}\nbody_variables = [\"{{{{firstname}}}}\"]\n"),
        )
        .unwrap();
    }
    let children: Vec<_> = (0..2)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_wutt-campaign"))
                .args(["run", "--once", "--settle", "0"])
                .env("DATABASE_URL", &db.url)
                .env("WUTT_CAMPAIGNS_DIR", &root)
                .env("WUTT_BASE_URL", sim.base_url())
                .env("WUTT_CLIENT_ID", "demo-id")
                .env("WUTT_CLIENT_SECRET", "demo-secret")
                .env_remove("WUTT_CLIENT_SECRET_FILE")
                .env("WUTT_RATE", "1000")
                .env("RUST_LOG", "warn")
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn the binary")
        })
        .collect();
    for child in children {
        let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }

    let campaigns: i64 = sqlx::query_scalar("SELECT count(*) FROM campaigns")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(campaigns, 6);
    let states: Vec<(String, i64)> =
        sqlx::query_as("SELECT state, count(*) FROM recipients GROUP BY state")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(states, vec![("sent".to_string(), rows)], "{states:?}");
    assert_eq!(std::fs::read_dir(&inbox).unwrap().count(), 0);
    let mut processed: Vec<String> = std::fs::read_dir(root.join("processed"))
        .unwrap()
        .map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            // `ID-NAME`: the campaign id first.
            name.split_once('-').expect("id prefix").1.to_string()
        })
        .collect();
    processed.sort();
    let mut expected: Vec<String> = (0..6)
        .flat_map(|f| [format!("f{f}.csv"), format!("f{f}.toml")])
        .collect();
    expected.sort();
    assert_eq!(processed, expected, "every file processed once");
    let mut sent: HashMap<String, usize> = HashMap::new();
    for m in sim.messages() {
        // The row's first name went out as the template's body variable.
        assert_eq!(m.template_id, Some(TEMPLATE_ONE_VAR), "{m:?}");
        assert!(
            matches!(&m.body_variables[..], [name] if name.starts_with('N')),
            "{m:?}"
        );
        *sent.entry(m.mobile).or_default() += 1;
    }
    assert_eq!(sent.len() as i64, rows);
    assert!(sent.values().all(|&n| n == 1), "{sent:?}");
}

/// `load FILE` on a file written a moment ago reads it at once and commits
/// once the file has settled; a file that changes meanwhile is not loaded
/// from the read that began before the change: it is loaded again, whole.
#[tokio::test]
async fn load_reads_while_the_file_settles_and_never_commits_a_changed_file() {
    let db = TestDb::new().await;
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("fresh.csv");
    let rows = |n: usize| {
        let mut s = String::from("phone,firstname\n");
        for i in 0..n {
            s.push_str(&format!("+88017110{i:05},A\n"));
        }
        s
    };
    std::fs::write(&csv, rows(3000)).unwrap();
    std::fs::write(tmp.path().join("fresh.toml"), "message = \"Hi\"\n").unwrap();
    let path = csv.to_str().unwrap().to_string();
    let (url, dir) = (db.url.clone(), tmp.path().to_path_buf());
    let load = std::thread::spawn(move || {
        Command::new(env!("CARGO_BIN_EXE_wutt-campaign"))
            .args(["load", "--settle", "3", &path])
            .env("DATABASE_URL", &url)
            .env("WUTT_CAMPAIGNS_DIR", dir.join("campaigns"))
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    });
    // Whether this lands before or after the first read, the one campaign
    // loaded holds the file as it ended: 3,001 rows.
    std::thread::sleep(std::time::Duration::from_millis(700));
    let mut more = std::fs::OpenOptions::new().append(true).open(&csv).unwrap();
    std::io::Write::write_all(&mut more, b"+8801719999999,B\n").unwrap();
    drop(more);
    let out = tokio::task::spawn_blocking(move || load.join().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let loaded: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT c.id, count(r.id) FROM campaigns c JOIN recipients r ON r.campaign_id = c.id GROUP BY c.id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(loaded.len(), 1, "{loaded:?}");
    assert_eq!(loaded[0].1, 3001, "{loaded:?}");
}
