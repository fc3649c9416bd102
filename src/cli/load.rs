//! `load FILE [--dry-run]`: ingest one campaign file now.

use std::path::PathBuf;

use clap::Args;

use super::{Exit, Settings};

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// The campaign CSV (a NAME.toml beside it is its manifest).
    pub file: PathBuf,
    /// Validate and print what would be sent; write nothing, move nothing.
    #[arg(long)]
    pub dry_run: bool,
}

pub async fn exec(_settings: &Settings, _args: LoadArgs) -> anyhow::Result<Exit> {
    anyhow::bail!("load: not available in this build yet")
}
