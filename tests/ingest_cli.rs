//! `load` and `suppress` as a user runs them: output and exit codes.

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
    assert!(out.contains("duplicate           1"), "{out}");

    let rejected = run(&db, tmp.path(), &["load", "--settle", "0", b]);
    assert_eq!(rejected.status.code(), Some(1), "{}", text(&rejected));
    assert!(text(&rejected).contains("nick"), "{}", text(&rejected));

    let missing = run(&db, tmp.path(), &["load", "/nonexistent/x.csv"]);
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing));
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
