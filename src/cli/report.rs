//! `report [CAMPAIGN] [--format table|csv|json] [--recipients]`.

use clap::Args;

use super::{Exit, Settings};

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Campaign id or name (all campaigns when omitted).
    pub campaign: Option<String>,
}

pub async fn exec(_settings: &Settings, _args: ReportArgs) -> anyhow::Result<Exit> {
    anyhow::bail!("report: not available in this build yet")
}
