//! `run [--once]`: ingest ready files, then send everything due (once, or as a daemon).

use clap::Args;

use super::{Exit, Settings};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Ingest and send what is due now, then exit (for cron).
    #[arg(long)]
    pub once: bool,
}

pub async fn exec(_settings: &Settings, _args: RunArgs) -> anyhow::Result<Exit> {
    anyhow::bail!("run: not available in this build yet")
}
