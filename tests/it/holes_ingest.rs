//! The ingest and operations holes of issue 10, each as the black-box scenario
//! that found it, against the real binary and real PostgreSQL:
//! - 8: a file that changes while it loads is never loaded under the hash of
//!   other bytes (so the same content cannot load twice);
//! - 9: numeric campaign names and ids are addressed unambiguously;
//! - 11: inbox hygiene — a FIFO does not block the scan, a planted symlink or
//!   hard link never receives `NAME.errors.txt`, a database password in the
//!   URL's query is never printed, secrets given as flags warn about `ps`;
//! - 12: the Docker build context holds every `[patch]` path, and the
//!   vendored sqlx-core is complete and still the one in use.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use wutt_campaign::db::testing::TestDb;

use crate::support::sim::{ID, SECRET, rehearsal, sim};

/// Runs the binary with `args` and exactly `env` (no inherited Wutt settings
/// or database URL); `None` when it is still running after `deadline`.
async fn bin(args: &[&str], env: &[(&str, &str)], deadline: Duration) -> Option<Output> {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_wutt-campaign"));
    for (key, _) in std::env::vars() {
        if key.starts_with("WUTT_") || key == "DATABASE_URL" {
            cmd.env_remove(key);
        }
    }
    cmd.args(args)
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    tokio::time::timeout(deadline, cmd.output())
        .await
        .ok()
        .map(|o| o.expect("the binary runs"))
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn write(path: &Path, content: &str) {
    std::fs::write(path, content).unwrap();
}

fn mkfifo(path: &Path) {
    let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo has no other preconditions.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
}

const MINUTE: Duration = Duration::from_secs(60);

// ---- hole 11: inbox hygiene ------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifo_in_the_inbox_does_not_block_the_scan() {
    let db = TestDb::new().await;
    let sim = sim(rehearsal()).await;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("campaigns");
    let inbox = root.join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    // Sorted before the real campaign, and a FIFO manifest too.
    mkfifo(&inbox.join("a-pipe.csv"));
    write(&inbox.join("a-real.csv"), "phone\n+8801711000001\n");
    mkfifo(&inbox.join("a-real.toml"));
    write(
        &inbox.join("b.csv"),
        "phone,firstname\n+8801711000002,Ann\n",
    );
    write(&inbox.join("b.toml"), "message = \"Hi {{firstname}}\"\n");
    let base = sim.base_url();
    let dir = root.to_str().unwrap();
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("WUTT_BASE_URL", base.as_str()),
        ("WUTT_CLIENT_ID", ID),
        ("WUTT_CLIENT_SECRET", SECRET),
        ("WUTT_CAMPAIGNS_DIR", dir),
    ];
    let out = bin(&["run", "--once", "--settle", "0"], &env, MINUTE)
        .await
        .expect("run --once must not hang on a FIFO in the inbox");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(sim.messages().len(), 1, "b.csv was sent: {}", text(&out));
    let rejected = root.join("rejected");
    for name in ["a-pipe.csv", "a-real.csv"] {
        assert!(
            std::fs::symlink_metadata(rejected.join(name)).is_ok(),
            "{name} rejected: {}",
            text(&out)
        );
    }
    let why = std::fs::read_to_string(rejected.join("a-pipe.errors.txt")).unwrap();
    assert!(why.contains("not a regular file"), "{why}");
    let why = std::fs::read_to_string(rejected.join("a-real.errors.txt")).unwrap();
    assert!(why.contains("not a regular file"), "{why}");
}

#[tokio::test]
async fn an_errors_file_is_never_written_through_a_planted_link() {
    let db = TestDb::new().await;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("campaigns");
    for d in ["inbox", "rejected", "processed"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    let victim = tmp.path().join("victim.txt");
    write(&victim, "precious\n");
    let victim2 = root.join("victim2.txt");
    write(&victim2, "precious too\n");
    std::os::unix::fs::symlink(&victim, root.join("rejected/bad.errors.txt")).unwrap();
    std::fs::hard_link(&victim2, root.join("rejected/worse.errors.txt")).unwrap();
    // Neither loads: a header without recipients, a manifest without a message.
    write(&root.join("inbox/bad.csv"), "phone\n");
    write(&root.join("inbox/worse.csv"), "phone\n+8801711000001\n");
    write(
        &root.join("inbox/worse.toml"),
        "message = \"Hi {{nick}}\"\n",
    );
    let dir = root.to_str().unwrap();
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("WUTT_CAMPAIGNS_DIR", dir),
    ];
    for name in ["bad", "worse"] {
        let csv = root.join(format!("inbox/{name}.csv"));
        let out = bin(
            &["load", "--settle", "0", csv.to_str().unwrap()],
            &env,
            MINUTE,
        )
        .await
        .unwrap();
        assert_eq!(out.status.code(), Some(1), "{name}: {}", text(&out));
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    assert_eq!(std::fs::read_to_string(&victim2).unwrap(), "precious too\n");
    // The errors files are there, as files of their own.
    for name in ["bad", "worse"] {
        let errors = root.join(format!("rejected/{name}.errors.txt"));
        let meta = std::fs::symlink_metadata(&errors).unwrap();
        assert!(meta.is_file(), "{name}: {meta:?}");
        let why = std::fs::read_to_string(&errors).unwrap();
        assert!(why.contains("rejected"), "{why}");
    }
}

#[tokio::test]
async fn a_password_in_the_database_url_is_never_printed() {
    let (tmp, closed_port) = (tempfile::tempdir().unwrap(), free_port());
    let dir = tmp.path().to_str().unwrap();
    let urls = [
        "mysql://wutt@127.0.0.1/wutt?password=hunter2q".to_string(),
        format!("postgres://wutt@127.0.0.1:{closed_port}/wutt?sslmode=disable&password=hunter2q"),
        format!("postgres://wutt:hunter2q@127.0.0.1:{closed_port}/wutt"),
    ];
    let runs = urls.iter().map(|url| async move {
        let env = [("DATABASE_URL", url.as_str()), ("WUTT_CAMPAIGNS_DIR", dir)];
        (url, bin(&["report"], &env, MINUTE).await.unwrap())
    });
    for (url, out) in futures::future::join_all(runs).await {
        let all = text(&out);
        assert_ne!(out.status.code(), Some(0), "{url}: {all}");
        assert!(!all.contains("hunter2q"), "{url}: {all}");
        assert!(all.contains("127.0.0.1"), "still says where: {all}");
    }
}

#[tokio::test]
async fn secrets_given_as_flags_warn_that_ps_shows_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_str().unwrap();
    let url = format!("postgres://wutt:dbsecret9@127.0.0.1:{}/wutt", free_port());
    let by_flag = bin(
        &[
            "--client-secret",
            "s3cr3t-flag",
            "--database-url",
            &url,
            "--client-id",
            "x",
            "--base-url",
            "http://127.0.0.1:9",
            "report",
        ],
        &[("WUTT_CAMPAIGNS_DIR", dir)],
        MINUTE,
    )
    .await
    .unwrap();
    let err = String::from_utf8_lossy(&by_flag.stderr).into_owned();
    assert!(
        !err.contains("s3cr3t-flag") && !err.contains("dbsecret9"),
        "{err}"
    );
    assert!(
        err.contains("--client-secret")
            && err.contains("ps")
            && err.contains("WUTT_CLIENT_SECRET_FILE"),
        "{err}"
    );
    assert!(
        err.contains("--database-url") && err.contains("DATABASE_URL"),
        "{err}"
    );
    // The same settings from the environment: no warning.
    let by_env = bin(
        &["report"],
        &[
            ("WUTT_CAMPAIGNS_DIR", dir),
            ("WUTT_CLIENT_SECRET", "s3cr3t-env"),
            ("DATABASE_URL", &url),
        ],
        MINUTE,
    )
    .await
    .unwrap();
    let err = String::from_utf8_lossy(&by_env.stderr).into_owned();
    assert!(!err.contains("visible"), "{err}");
    assert!(
        !err.contains("s3cr3t-env") && !err.contains("dbsecret9"),
        "{err}"
    );
}

/// A loopback port nothing listens on (bound, then released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// ---- hole 9: numeric names ---------------------------------------------------

#[tokio::test]
async fn numeric_names_and_ids_are_never_confused() {
    let db = TestDb::new().await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("campaigns");
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("WUTT_CAMPAIGNS_DIR", dir.to_str().unwrap()),
    ];
    // Campaign id 1 is named "2024"; campaign id 2 is named "1"; id 3 "spring".
    for (name, phone) in [
        ("2024", "+8801711000001"),
        ("1", "+8801711000002"),
        ("spring", "+8801711000003"),
    ] {
        let csv = tmp.path().join(format!("{name}.csv"));
        write(&csv, &format!("phone\n{phone}\n"));
        write(
            &tmp.path().join(format!("{name}.toml")),
            "message = \"Hi\"\n",
        );
        let out = bin(
            &["load", "--settle", "0", csv.to_str().unwrap()],
            &env,
            MINUTE,
        )
        .await
        .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    let status = |id: i64| {
        let pool = db.pool.clone();
        async move {
            sqlx::query_scalar::<_, String>("SELECT status FROM campaigns WHERE id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        sqlx::query_scalar::<_, String>("SELECT name FROM campaigns WHERE id = 2")
            .fetch_one(&db.pool)
            .await
            .unwrap(),
        "1"
    );

    // A bare word is a name: "1" is campaign 2, not campaign id 1 ("2024").
    let out = bin(&["campaign", "pause", "1"], &env, MINUTE)
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(status(1).await, "active", "{}", text(&out));
    assert_eq!(status(2).await, "paused", "{}", text(&out));
    assert!(
        text(&out).contains("#1"),
        "says how to reach id 1: {}",
        text(&out)
    );

    // `#N` and `id:N` are ids.
    for key in ["#1", "id:1"] {
        let out = bin(&["campaign", "resume", "1"], &env, MINUTE)
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let out = bin(&["campaign", "pause", key], &env, MINUTE)
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert_eq!(status(1).await, "paused", "{key}: {}", text(&out));
        let out = bin(&["campaign", "resume", key], &env, MINUTE)
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert_eq!(status(1).await, "active", "{key}: {}", text(&out));
    }
    // `name:` forces the name; a bare number no campaign is named is an id.
    let out = bin(&["campaign", "pause", "name:2024"], &env, MINUTE)
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(status(1).await, "paused");
    let out = bin(&["campaign", "pause", "3"], &env, MINUTE)
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(status(3).await, "paused");
    // Nothing matches: a usage error that says so, and changes nothing.
    for key in ["#7", "7", "name:3", "nope", "#x", "#"] {
        let out = bin(&["campaign", "cancel", key], &env, MINUTE)
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{key}: {}", text(&out));
        let said = text(&out);
        assert!(
            said.contains("no campaign") || said.contains("not an id"),
            "{key}: {said}"
        );
    }
    assert_eq!(
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM campaigns WHERE status = 'cancelled'")
            .fetch_one(&db.pool)
            .await
            .unwrap(),
        0
    );
    // The report finds campaigns the same way.
    let out = bin(&["report", "#1", "--format", "json"], &env, MINUTE)
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("2024"), "{}", text(&out));
    let out = bin(&["report", "1", "--format", "json"], &env, MINUTE)
        .await
        .unwrap();
    assert!(!text(&out).contains("2024"), "{}", text(&out));
}

// ---- hole 8: a file that changes while it loads ------------------------------

/// A Wutt stand-in whose template list is slow in one particular way: before
/// answering (503) it appends `extra` to `csv`, so the file changes after it
/// was hashed and opened but before its rows are read.
async fn appending_server(csv: PathBuf, extra: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut appended = false;
        while let Ok((mut conn, _)) = listener.accept().await {
            let mut buf = vec![0u8; 16 * 1024];
            let mut seen = Vec::new();
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.extend_from_slice(&buf[..n]),
                }
            }
            if !appended {
                appended = true;
                use std::io::Write as _;
                let mut f = std::fs::OpenOptions::new().append(true).open(&csv).unwrap();
                f.write_all(extra.as_bytes()).unwrap();
                f.sync_all().unwrap();
            }
            let _ = conn
                .write_all(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                )
                .await;
        }
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_changes_while_it_loads_never_loads_twice() {
    let db = TestDb::new().await;
    let tmp = tempfile::tempdir().unwrap();
    let (first, second) = (tmp.path().join("one"), tmp.path().join("two"));
    std::fs::create_dir_all(&first).unwrap();
    std::fs::create_dir_all(&second).unwrap();
    // Well over the 64 KiB read when the file is opened.
    let mut before = String::from("phone,firstname\n");
    for i in 0..5000 {
        before.push_str(&format!("+88017{:08},Customer{i}\n", i));
    }
    let mut extra = String::new();
    for i in 5000..5020 {
        extra.push_str(&format!("+88017{:08},Customer{i}\n", i));
    }
    let after = format!("{before}{extra}");
    let manifest = "template_id = 42\n";
    let csv = first.join("list.csv");
    write(&csv, &before);
    write(&first.join("list.toml"), manifest);
    let base = appending_server(csv.clone(), extra).await;
    let dir = tmp.path().join("campaigns");
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("WUTT_CAMPAIGNS_DIR", dir.to_str().unwrap()),
        ("WUTT_BASE_URL", base.as_str()),
        ("WUTT_CLIENT_ID", ID),
        ("WUTT_CLIENT_SECRET", SECRET),
    ];
    let racing = bin(
        &["load", "--settle", "0", csv.to_str().unwrap()],
        &env,
        MINUTE,
    )
    .await
    .unwrap();
    assert_eq!(
        std::fs::read_to_string(&csv).unwrap(),
        after,
        "the file did change"
    );
    // The content the file ended with, dropped again.
    let again = second.join("list.csv");
    write(&again, &after);
    write(&second.join("list.toml"), manifest);
    let out = bin(
        &["load", "--settle", "0", again.to_str().unwrap()],
        &env,
        MINUTE,
    )
    .await
    .unwrap();
    let campaigns: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT c.id, count(r.id) FROM campaigns c LEFT JOIN recipients r ON r.campaign_id = c.id \
         GROUP BY c.id ORDER BY c.id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let with_after = campaigns.iter().filter(|(_, n)| *n == 5020).count();
    assert!(
        with_after <= 1,
        "the same 5020 rows loaded as {with_after} campaigns {campaigns:?}\n--- racing load:\n{}\n--- again:\n{}",
        text(&racing),
        text(&out)
    );
    // Every campaign's rows are the bytes its hash names.
    let hashes: Vec<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT id, source_sha256 FROM campaigns ORDER BY id")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    for (id, sha) in hashes {
        let rows = campaigns.iter().find(|(c, _)| *c == id).unwrap().1;
        let content = if rows == 5020 { &after } else { &before };
        use sha2::Digest as _;
        let mut h = sha2::Sha256::new();
        h.update(content.as_bytes());
        h.update(manifest.as_bytes());
        assert_eq!(
            sha,
            h.finalize().to_vec(),
            "campaign {id} ({rows} rows) is stored under the hash of other bytes\n{}",
            text(&racing)
        );
    }
    // The racing load says what happened: loaded (the bytes it hashed) or
    // stopped because the file changed.
    assert!(
        racing.status.code() == Some(0) || text(&racing).contains("changed while"),
        "{}",
        text(&racing)
    );
}

// ---- hole 12: Docker and the vendored crate ----------------------------------

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `scripts/check-compose.sh` in a copy of the repository's build files
/// (the large folders linked, not copied), with `edit` applied to the copy.
fn check_compose_with(edit: impl FnOnce(&Path)) -> Output {
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path();
    std::fs::create_dir_all(copy.join("scripts")).unwrap();
    for file in [
        "scripts/check-compose.sh",
        "Cargo.toml",
        "Cargo.lock",
        "Dockerfile",
        ".dockerignore",
        "docker-compose.yml",
        ".env.example",
        "build.rs",
    ] {
        if repo().join(file).exists() {
            std::fs::copy(repo().join(file), copy.join(file)).unwrap();
        }
    }
    for dir in [
        "src",
        "vendor",
        "migrations",
        "campaigns",
        "deploy",
        "bench",
    ] {
        if repo().join(dir).exists() {
            std::os::unix::fs::symlink(repo().join(dir), copy.join(dir)).unwrap();
        }
    }
    edit(copy);
    std::process::Command::new("bash")
        .arg(copy.join("scripts/check-compose.sh"))
        .output()
        .expect("bash runs")
}

#[test]
fn check_compose_fails_when_a_patch_path_is_not_in_the_build_context() {
    let ok = check_compose_with(|_| {});
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));

    let no_copy = check_compose_with(|copy| {
        let path = copy.join("Dockerfile");
        let dockerfile = std::fs::read_to_string(&path).unwrap();
        let without: String = dockerfile
            .lines()
            .filter(|l| !l.trim_start().starts_with("COPY vendor"))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(&path, without).unwrap();
    });
    assert_ne!(no_copy.status.code(), Some(0), "{}", text(&no_copy));
    assert!(
        text(&no_copy).contains("vendor/sqlx-core"),
        "{}",
        text(&no_copy)
    );

    let ignored = check_compose_with(|copy| {
        let path = copy.join(".dockerignore");
        let mut ignore = std::fs::read_to_string(&path).unwrap_or_default();
        ignore.push_str("vendor/\n");
        std::fs::write(&path, ignore).unwrap();
    });
    assert_ne!(ignored.status.code(), Some(0), "{}", text(&ignored));
    assert!(
        text(&ignored).contains(".dockerignore"),
        "{}",
        text(&ignored)
    );
}

#[test]
fn the_dockerfile_copies_what_the_build_reads() {
    let dockerfile = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    for needed in [
        "vendor",
        "build.rs",
        "campaigns/examples",
        "migrations",
        "src",
    ] {
        assert!(
            dockerfile
                .lines()
                .any(|l| l.starts_with("COPY ") && !l.contains("--from") && l.contains(needed)),
            "the build stage copies {needed}:\n{dockerfile}"
        );
    }
}

#[test]
fn the_vendored_sqlx_core_is_complete_and_still_in_use() {
    let vendor = repo().join("vendor/sqlx-core");
    assert!(
        !vendor.join(".cargo-ok").exists(),
        "registry extraction marker left in vendor/sqlx-core"
    );
    for (file, says) in [
        ("LICENSE-MIT", "Permission is hereby granted"),
        ("LICENSE-APACHE", "Apache License"),
    ] {
        let text = std::fs::read_to_string(vendor.join(file)).unwrap();
        assert!(
            text.len() > 1000 && text.contains(says),
            "{file} must hold the license text, not {text:?}"
        );
    }
    let vendored: toml::Table =
        toml::from_str(&std::fs::read_to_string(vendor.join("Cargo.toml")).unwrap()).unwrap();
    let vendored_version = vendored["package"]["version"].as_str().unwrap().to_string();
    assert_eq!(
        vendored_version, "0.9.0",
        "the patch is sqlx-core 0.9.0 with set_nodelay"
    );

    let manifest: toml::Table =
        toml::from_str(&std::fs::read_to_string(repo().join("Cargo.toml")).unwrap()).unwrap();
    assert_eq!(
        manifest["patch"]["crates-io"]["sqlx-core"]["path"].as_str(),
        Some("vendor/sqlx-core")
    );
    let sqlx_req = manifest["dependencies"]["sqlx"]["version"]
        .as_str()
        .unwrap();
    assert!(
        ["0.9", "0.9.0", "=0.9.0", "^0.9", "^0.9.0", "~0.9", "~0.9.0"].contains(&sqlx_req),
        "sqlx {sqlx_req:?} may no longer resolve to 0.9.0: check whether the fix was released \
         and drop or update vendor/sqlx-core"
    );

    // The lock resolves sqlx-core to the vendored path (no registry source),
    // at the vendored version, and records no unused patch.
    let lock: toml::Table =
        toml::from_str(&std::fs::read_to_string(repo().join("Cargo.lock")).unwrap()).unwrap();
    let packages = lock["package"].as_array().unwrap();
    let named = |name: &str| -> Vec<&toml::Table> {
        packages
            .iter()
            .filter_map(|p| p.as_table())
            .filter(|p| p["name"].as_str() == Some(name))
            .collect()
    };
    let cores = named("sqlx-core");
    assert_eq!(cores.len(), 1, "one sqlx-core in Cargo.lock: {cores:?}");
    assert_eq!(
        cores[0]["version"].as_str(),
        Some(vendored_version.as_str())
    );
    assert!(
        cores[0].get("source").is_none(),
        "sqlx-core comes from {:?}, not vendor/: the patch is no longer in use",
        cores[0].get("source")
    );
    let sqlx = named("sqlx");
    assert_eq!(sqlx.len(), 1);
    assert_eq!(sqlx[0]["version"].as_str(), Some(vendored_version.as_str()));
    let unused = lock
        .get("patch")
        .and_then(|p| p.get("unused"))
        .map(|u| u.to_string())
        .unwrap_or_default();
    assert!(!unused.contains("sqlx-core"), "unused patch: {unused}");
}

// ---- the inbox watcher (moved from cli/run.rs into ingest) --------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_loads_a_file_dropped_while_it_runs_and_stops_on_sigterm() {
    let db = TestDb::new().await;
    let sim = sim(rehearsal()).await;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("campaigns");
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_wutt-campaign"));
    for (key, _) in std::env::vars() {
        if key.starts_with("WUTT_") || key == "DATABASE_URL" {
            cmd.env_remove(key);
        }
    }
    let mut daemon = cmd
        .args(["run", "--settle", "0", "--poll-secs", "0.2"])
        .env("DATABASE_URL", &db.url)
        .env("WUTT_BASE_URL", sim.base_url())
        .env("WUTT_CLIENT_ID", ID)
        .env("WUTT_CLIENT_SECRET", SECRET)
        .env("WUTT_CAMPAIGNS_DIR", &root)
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // The runner creates the folders; drop the file once it has.
    let inbox = root.join("inbox");
    let started = tokio::time::Instant::now();
    while !inbox.is_dir() && started.elapsed() < MINUTE {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    write(&inbox.join("late.toml"), "message = \"Hi {{firstname}}\"\n");
    write(
        &inbox.join("late.csv.part"),
        "phone,firstname\n+8801711000009,Zed\n",
    );
    std::fs::rename(inbox.join("late.csv.part"), inbox.join("late.csv")).unwrap();
    let sent =
        crate::support::db::eventually(MINUTE, || async { !sim.messages().is_empty() }).await;
    // SAFETY: a signal to the child this test started.
    unsafe { libc::kill(daemon.id().unwrap() as libc::pid_t, libc::SIGTERM) };
    let status = tokio::time::timeout(MINUTE, daemon.wait())
        .await
        .expect("the daemon stops on SIGTERM")
        .unwrap();
    let mut err = String::new();
    if let Some(mut e) = daemon.stderr.take() {
        let _ = e.read_to_string(&mut err).await;
    }
    assert!(sent, "the dropped file was loaded and sent: {err}");
    assert_eq!(sim.messages().len(), 1, "{err}");
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(root.join("processed/1-late.csv").exists(), "{err}");
}
