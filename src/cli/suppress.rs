//! `suppress add|remove|list|import`: the opt-out list.

use clap::Subcommand;

use super::{Exit, Settings};

#[derive(Debug, Subcommand)]
pub enum SuppressCommand {
    /// List suppressed numbers.
    List,
}

pub async fn exec(_settings: &Settings, _cmd: SuppressCommand) -> anyhow::Result<Exit> {
    anyhow::bail!("suppress: not available in this build yet")
}
