//! `simulate [--listen ADDR]`: serve the local stand-in for the Wutt API.

use clap::Args;

use super::{Exit, Settings};

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Address to listen on (loopback).
    #[arg(long, default_value = "127.0.0.1:8085")]
    pub listen: String,
}

pub async fn exec(_settings: &Settings, _args: SimulateArgs) -> anyhow::Result<Exit> {
    anyhow::bail!("simulate: not available in this build yet")
}
