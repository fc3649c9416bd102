//! `demo`: the example campaigns against the built-in simulator, then the report.

use clap::Args;

use super::{Exit, Settings};

#[derive(Debug, Args)]
pub struct DemoArgs {}

pub async fn exec(_settings: &Settings, _args: DemoArgs) -> anyhow::Result<Exit> {
    anyhow::bail!("demo: not available in this build yet")
}
