//! `campaign list|pause|resume|cancel` and `requeue`.

use clap::{Args, Subcommand};

use super::{Exit, Settings};

#[derive(Debug, Subcommand)]
pub enum CampaignCommand {
    /// List campaigns with their status and counts.
    List,
    /// Stop sending a campaign until it is resumed.
    Pause { campaign: String },
    /// Resume a paused campaign.
    Resume { campaign: String },
    /// Cancel a campaign: its unsent recipients become `cancelled`.
    Cancel { campaign: String },
}

#[derive(Debug, Args)]
pub struct RequeueArgs {
    /// Campaign id or name.
    pub campaign: String,
}

pub async fn exec_campaign(_settings: &Settings, _cmd: CampaignCommand) -> anyhow::Result<Exit> {
    anyhow::bail!("campaign: not available in this build yet")
}

pub async fn exec_requeue(_settings: &Settings, _args: RequeueArgs) -> anyhow::Result<Exit> {
    anyhow::bail!("requeue: not available in this build yet")
}
