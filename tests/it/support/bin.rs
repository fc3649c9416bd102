//! The real `wutt-campaign` binary as the tests run it: with exactly the
//! settings a test gives, aimed at a simulator, killed when it outlives its
//! deadline; and campaign files dropped in a folder of their own.

#![allow(dead_code)]

use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use super::sim::ID;

/// The binary's own tests give up on it after this long.
pub const BIN_DEADLINE: Duration = Duration::from_secs(120);

/// Runs the `wutt-campaign` binary with `args` and exactly the Wutt settings in
/// `env` (inherited `WUTT_*` settings are removed first). Killed if it outlives
/// [`BIN_DEADLINE`].
pub async fn run_bin(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_wutt-campaign"));
    for (key, _) in std::env::vars() {
        if key.starts_with("WUTT_") {
            cmd.env_remove(key);
        }
    }
    cmd.args(args).envs(env.iter().copied()).kill_on_drop(true);
    tokio::time::timeout(BIN_DEADLINE, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("wutt-campaign {args:?} did not finish"))
        .expect("the binary runs")
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
