//! A throwaway PostgreSQL cluster in a temporary directory, for the demo and
//! for tests when `DATABASE_URL` is unset. Started from the local installation
//! (`initdb`/`pg_ctl` on PATH or under `/usr/lib/postgresql/*/bin`) and stopped
//! when dropped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};

/// What to tell a user who has no PostgreSQL installed.
pub const INSTALL_HINT: &str = "no PostgreSQL installation found (looked for initdb and pg_ctl on PATH and under \
     /usr/lib/postgresql/*/bin). Install one (Debian/Ubuntu: `apt-get install postgresql`, \
     macOS: `brew install postgresql@15`), or start the project's database with \
     `docker compose up -d postgres` and set DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/postgres";

/// A running throwaway cluster. Stopped (immediately, data discarded) on drop.
#[derive(Debug)]
pub struct Cluster {
    bin_dir: PathBuf,
    data_dir: PathBuf,
    run_as: Option<String>,
    port: u16,
    // Server options, given again on restart (port, socket directory, …).
    options: String,
    // Keeps the directory alive until the cluster is stopped.
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// Creates and starts a cluster on a free loopback port.
    pub fn start() -> anyhow::Result<Cluster> {
        let bin_dir = find_bin_dir().context(INSTALL_HINT)?;
        let dir = tempfile::Builder::new()
            .prefix("wutt-campaign-pg-")
            .tempdir()
            .context("creating a directory for a throwaway PostgreSQL")?;
        // initdb refuses to run as root: run the server as `postgres` then.
        let run_as = if is_root() {
            Some("postgres".to_string())
        } else {
            None
        };
        let data_dir = dir.path().join("data");
        if let Some(user) = &run_as {
            chown_recursive(dir.path(), user)?;
        }
        let port = free_port()?;
        let mut cluster = Cluster {
            bin_dir,
            data_dir,
            run_as,
            port,
            options: String::new(),
            _dir: dir,
        };
        cluster.run(
            "initdb",
            &[
                "-D",
                path_str(&cluster.data_dir)?,
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ],
        )?;
        let socket_dir = cluster.data_dir.parent().unwrap_or(Path::new("/tmp"));
        let options = format!(
            "-c listen_addresses=127.0.0.1 -c port={} -c unix_socket_directories={} \
             -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
            port,
            path_str(socket_dir)?
        );
        cluster.options = options.clone();
        let log = cluster
            .data_dir
            .parent()
            .unwrap_or(Path::new("/tmp"))
            .join("server.log");
        cluster.run(
            "pg_ctl",
            &[
                "-D",
                path_str(&cluster.data_dir)?,
                "-l",
                path_str(&log)?,
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        )?;
        Ok(cluster)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// URL of a database on this cluster (`postgres` always exists).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{}", self.port, database)
    }

    /// Stops the server at once (tests use this to simulate a crash or restart).
    pub fn stop(&self) -> anyhow::Result<()> {
        self.run(
            "pg_ctl",
            &[
                "-D",
                path_str(&self.data_dir)?,
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        )
    }

    /// Starts the server again after [`Cluster::stop`].
    pub fn restart(&self) -> anyhow::Result<()> {
        let log = self
            .data_dir
            .parent()
            .unwrap_or(Path::new("/tmp"))
            .join("server.log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                path_str(&self.data_dir)?,
                "-l",
                path_str(&log)?,
                "-o",
                &self.options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        )
    }

    fn run(&self, program: &str, args: &[&str]) -> anyhow::Result<()> {
        let exe = self.bin_dir.join(program);
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.arg("-u").arg(user).arg("--").arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        let out = cmd
            .args(args)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {}", exe.display()))?;
        if !out.status.success() {
            bail!(
                "{} failed ({}): {}{}",
                program,
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Err(err) = self.stop() {
            tracing::warn!(error = %err, "stopping the throwaway PostgreSQL failed");
        }
    }
}

fn path_str(p: &Path) -> anyhow::Result<&str> {
    p.to_str()
        .with_context(|| format!("path is not UTF-8: {}", p.display()))
}

/// Finds the directory holding `initdb` and `pg_ctl`.
pub fn find_bin_dir() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
    });
    if on_path.is_some() {
        return on_path;
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").is_file() && bin.join("pg_ctl").is_file())
        .collect();
    versions.sort();
    versions.pop()
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn chown_recursive(dir: &Path, user: &str) -> anyhow::Result<()> {
    let status = Command::new("chown")
        .arg("-R")
        .arg(format!("{user}:"))
        .arg(dir)
        .status()
        .context("running chown")?;
    if !status.success() {
        bail!("chown of {} to {user} failed", dir.display());
    }
    Ok(())
}

fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}
