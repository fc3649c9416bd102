//! One Wutt call per command: templates, contacts, conversations, send.

use clap::{Args, Subcommand};

use super::{Exit, Settings};

#[derive(Debug, Subcommand)]
pub enum TemplatesCommand {
    /// List the account's WhatsApp templates.
    List,
}

#[derive(Debug, Subcommand)]
pub enum ContactsCommand {
    /// List contacts.
    List,
}

#[derive(Debug, Subcommand)]
pub enum ConversationsCommand {
    /// List conversations.
    List,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// Recipient in international form, e.g. +8801988123456.
    #[arg(long)]
    pub to: String,
}

pub async fn exec_templates(_s: &Settings, _cmd: TemplatesCommand) -> anyhow::Result<Exit> {
    anyhow::bail!("templates: not available in this build yet")
}

pub async fn exec_contacts(_s: &Settings, _cmd: ContactsCommand) -> anyhow::Result<Exit> {
    anyhow::bail!("contacts: not available in this build yet")
}

pub async fn exec_conversations(_s: &Settings, _cmd: ConversationsCommand) -> anyhow::Result<Exit> {
    anyhow::bail!("conversations: not available in this build yet")
}

pub async fn exec_send(_s: &Settings, _args: SendArgs) -> anyhow::Result<Exit> {
    anyhow::bail!("send: not available in this build yet")
}
