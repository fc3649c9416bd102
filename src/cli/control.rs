//! `campaign list|pause|resume|cancel|approve` and `requeue`.

use clap::{Args, Subcommand, ValueEnum};
use sqlx::PgPool;

use super::{ConfigError, Exit, Settings};
use crate::queue::control::{self, Campaign, RequeueState};
use crate::queue::throttle::notify_work;
use crate::report::table;

#[derive(Debug, Subcommand)]
pub enum CampaignCommand {
    /// List campaigns with their status and counts.
    List,
    /// Stop sending a campaign until it is resumed.
    Pause {
        /// Campaign name, or #ID / id:ID (a bare number that is no campaign's name is an id).
        campaign: String,
        /// Why (shown by `campaign list`).
        #[arg(long, default_value = "paused from the command line")]
        reason: String,
    },
    /// Resume a paused campaign.
    Resume {
        /// Campaign name, or #ID / id:ID (a bare number that is no campaign's name is an id).
        campaign: String,
    },
    /// Cancel a campaign: its unsent recipients become `cancelled`.
    Cancel {
        /// Campaign name, or #ID / id:ID (a bare number that is no campaign's name is an id).
        campaign: String,
    },
    /// Start a `draft` campaign (its manifest said `require_approval = true`).
    Approve {
        /// Campaign name, or #ID / id:ID (a bare number that is no campaign's name is an id).
        campaign: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RequeueWhich {
    /// Recipients that may or may not have been sent (timeouts, crashes).
    Unknown,
    /// Recipients that were refused or exhausted their attempts.
    Failed,
}

#[derive(Debug, Args)]
pub struct RequeueArgs {
    /// Campaign name, or #ID / id:ID (a bare number that is no campaign's name is an id).
    pub campaign: String,
    /// Which recipients to send again.
    #[arg(long, value_enum)]
    pub state: RequeueWhich,
}

/// The campaign `key` names (`NAME`, `#ID`, `id:ID`, `name:NAME`; see
/// [`control::CampaignKey`]); a note on stderr when it could have meant
/// another one too.
pub(crate) async fn find(pool: &PgPool, key: &str) -> anyhow::Result<Campaign> {
    match control::resolve(pool, key).await? {
        Ok(found) => {
            if let Some(note) = &found.note {
                eprintln!("note: {note}");
            }
            Ok(found.campaign)
        }
        Err(why) => Err(ConfigError(why).into()),
    }
}

pub async fn exec_campaign(settings: &Settings, cmd: CampaignCommand) -> anyhow::Result<Exit> {
    let pool = settings.pool().await?;
    match cmd {
        CampaignCommand::List => {
            let mut t = table::new();
            t.set_header(vec![
                "id",
                "name",
                "status",
                "total",
                "pending",
                "sent",
                "failed",
                "unknown",
                "other",
                "pause reason",
            ]);
            for c in control::list(&pool).await? {
                t.add_row(vec![
                    c.id.to_string(),
                    c.name,
                    c.status.to_string(),
                    c.total.to_string(),
                    c.pending.to_string(),
                    c.sent.to_string(),
                    c.failed.to_string(),
                    c.unknown.to_string(),
                    c.other.to_string(),
                    c.pause_reason.unwrap_or_default(),
                ]);
            }
            table::align_right(&mut t, 3..9);
            println!("{t}");
        }
        CampaignCommand::Pause { campaign, reason } => {
            let c = find(&pool, &campaign).await?;
            if control::pause(&pool, c.id, &reason).await? {
                println!("campaign {} ({}) paused", c.id, c.name);
            } else {
                println!(
                    "campaign {} ({}) is {}, not active: nothing to pause",
                    c.id, c.name, c.status
                );
            }
        }
        CampaignCommand::Resume { campaign } => {
            let c = find(&pool, &campaign).await?;
            if control::resume(&pool, c.id).await? {
                println!("campaign {} ({}) resumed", c.id, c.name);
            } else {
                println!(
                    "campaign {} ({}) is {}, not paused: nothing to resume",
                    c.id, c.name, c.status
                );
            }
        }
        CampaignCommand::Approve { campaign } => {
            let c = find(&pool, &campaign).await?;
            if crate::queue::console::approve(&pool, c.id).await? {
                println!("campaign {} ({}) approved: sending", c.id, c.name);
            } else {
                println!(
                    "campaign {} ({}) is {}, not a draft: nothing to approve",
                    c.id, c.name, c.status
                );
            }
        }
        CampaignCommand::Cancel { campaign } => {
            let c = find(&pool, &campaign).await?;
            if let Some(n) = crate::queue::console::cancel_draft(&pool, c.id).await? {
                println!(
                    "draft campaign {} ({}) cancelled: {n} recipients cancelled",
                    c.id, c.name
                );
                return Ok(Exit::Ok);
            }
            let n = control::cancel(&pool, c.id).await?;
            println!(
                "campaign {} ({}) cancelled: {n} unsent recipients cancelled",
                c.id, c.name
            );
        }
    }
    Ok(Exit::Ok)
}

pub async fn exec_requeue(settings: &Settings, args: RequeueArgs) -> anyhow::Result<Exit> {
    let pool = settings.pool().await?;
    let c = find(&pool, &args.campaign).await?;
    let state = match args.state {
        RequeueWhich::Unknown => RequeueState::Unknown,
        RequeueWhich::Failed => RequeueState::Failed,
    };
    let n = control::requeue(&pool, c.id, state).await?;
    if n > 0 {
        notify_work(&pool).await?;
    }
    println!(
        "campaign {} ({}): {n} recipients queued again",
        c.id, c.name
    );
    Ok(Exit::Ok)
}
