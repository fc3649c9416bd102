//! Helpers of the end-to-end tests: the real binary run against an
//! in-process simulator and real PostgreSQL.

#![allow(dead_code)]

use std::collections::HashMap;
use std::process::{Child, Command, Output, Stdio};

use wutt_campaign::config::Secret;
use wutt_campaign::simulator::{self, SimConfig, SimHandle};

pub const ID: &str = "e2e-id";
pub const SECRET: &str = "e2e-secret";

/// A simulator for tests whose subject is delivery itself (rates, crashes,
/// faults): every number counts as an existing contact, so texts to made-up
/// numbers are delivered. Tests of what the real server refuses start from
/// `SimConfig::default()` instead.
pub fn rehearsal() -> SimConfig {
    SimConfig {
        all_contacts: true,
        ..SimConfig::default()
    }
}

pub async fn sim(config: SimConfig) -> SimHandle {
    simulator::start(
        SimConfig {
            client_id: ID.into(),
            client_secret: Secret::new(SECRET),
            seed: Some(7),
            ..config
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .expect("simulator")
}

/// The binary with the environment of a runner aimed at `base`.
pub fn command(db_url: &str, base: &str, secret: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wutt-campaign"));
    cmd.args(args)
        .env("DATABASE_URL", db_url)
        .env("WUTT_BASE_URL", base)
        .env("WUTT_CLIENT_ID", ID)
        .env("WUTT_CLIENT_SECRET", secret)
        .env(
            "WUTT_CAMPAIGNS_DIR",
            std::env::temp_dir().join("wutt-e2e-none"),
        )
        .env("WUTT_RETRY_BASE_MS", "50")
        .env("WUTT_RATE", "1000")
        .env("WUTT_CONCURRENCY", "16")
        .env("RUST_LOG", "warn")
        .env_remove("WUTT_CLIENT_SECRET_FILE")
        .stdin(Stdio::null());
    cmd
}

/// Runs the binary to the end (on a blocking thread) and returns its output.
pub async fn run(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().expect("run the binary"))
        .await
        .unwrap()
}

pub fn spawn(mut cmd: Command) -> Child {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the binary")
}

pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn non_terminal(states: &std::collections::BTreeMap<String, i64>) -> i64 {
    ["queued", "sending", "retrying"]
        .iter()
        .map(|s| states.get(*s).copied().unwrap_or(0))
        .sum()
}

/// Messages the simulator accepted, by `mobile`.
pub fn sim_counts(sim: &SimHandle) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for msg in sim.messages() {
        *m.entry(msg.mobile).or_insert(0) += 1;
    }
    m
}

/// A campaign file pair (`NAME.csv`, `NAME.toml`) in its own folder, kept
/// while the value lives.
pub struct Drop {
    _dir: tempfile::TempDir,
    pub csv: std::path::PathBuf,
}

pub fn drop_files(name: &str, manifest: &str, csv: &str) -> Drop {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{name}.csv"));
    std::fs::write(&path, csv).unwrap();
    std::fs::write(dir.path().join(format!("{name}.toml")), manifest).unwrap();
    Drop {
        _dir: dir,
        csv: path,
    }
}
