//! The command line: global settings (flags with environment fallbacks), the
//! command tree, exit codes and logging. Each command lives in its own file
//! and calls into the library; no SQL and no HTTP here.

pub(crate) mod api;
mod control;
mod demo;
mod load;
mod logging;
mod report;
mod run;
mod settings;
mod simulate;
mod suppress;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use settings::{ConfigError, Settings};

/// Bulk WhatsApp campaigns through the Wutt.net business API, with a
/// PostgreSQL job queue.
#[derive(Debug, Parser)]
#[command(name = "wutt-campaign", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply the embedded database migrations (every command also does this on start).
    Migrate,
    /// Ingest ready files from the inbox and send every recipient that is due.
    Run(run::RunArgs),
    /// Ingest one campaign file now.
    Load(load::LoadArgs),
    /// Campaign summary, or every recipient with --recipients.
    Report(report::ReportArgs),
    /// List, pause, resume or cancel campaigns.
    #[command(subcommand)]
    Campaign(control::CampaignCommand),
    /// Send again what the runner would not resend on its own.
    Requeue(control::RequeueArgs),
    /// The opt-out list, honoured at load time and again just before each send.
    #[command(subcommand)]
    Suppress(suppress::SuppressCommand),
    /// Serve a local stand-in for the Wutt API.
    Simulate(simulate::SimulateArgs),
    /// Run the example campaigns against the built-in simulator and print the report.
    Demo(demo::DemoArgs),
    /// WhatsApp templates of the account.
    #[command(subcommand)]
    Templates(api::TemplatesCommand),
    /// Contacts of the account.
    #[command(subcommand)]
    Contacts(api::ContactsCommand),
    /// Inbox conversations.
    #[command(subcommand)]
    Conversations(api::ConversationsCommand),
    /// Send one message now (text, template, media or location).
    Send(api::SendArgs),
}

/// Process exit codes (DESIGN.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Done.
    Ok = 0,
    /// Runtime error.
    Runtime = 1,
    /// Usage or configuration error.
    Usage = 2,
    /// A campaign was paused because the account was refused.
    AccountRefused = 3,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() {
                Exit::Usage as u8
            } else {
                0
            });
        }
    };
    logging::init(&cli.settings);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(Exit::Runtime as u8);
        }
    };
    let code = match runtime.block_on(dispatch(cli)) {
        Ok(exit) => exit,
        Err(err) => {
            let exit = if err.downcast_ref::<ConfigError>().is_some() {
                Exit::Usage
            } else {
                Exit::Runtime
            };
            eprintln!("error: {err:#}");
            exit
        }
    };
    ExitCode::from(code as u8)
}

async fn dispatch(cli: Cli) -> anyhow::Result<Exit> {
    let settings = cli.settings;
    match cli.command {
        Command::Migrate => {
            settings.pool().await?;
            println!("migrations applied");
            Ok(Exit::Ok)
        }
        Command::Run(args) => run::exec(&settings, args).await,
        Command::Load(args) => load::exec(&settings, args).await,
        Command::Report(args) => report::exec(&settings, args).await,
        Command::Campaign(cmd) => control::exec_campaign(&settings, cmd).await,
        Command::Requeue(args) => control::exec_requeue(&settings, args).await,
        Command::Suppress(cmd) => suppress::exec(&settings, cmd).await,
        Command::Simulate(args) => simulate::exec(&settings, args).await,
        Command::Demo(args) => demo::exec(&settings, args).await,
        Command::Templates(cmd) => api::exec_templates(&settings, cmd).await,
        Command::Contacts(cmd) => api::exec_contacts(&settings, cmd).await,
        Command::Conversations(cmd) => api::exec_conversations(&settings, cmd).await,
        Command::Send(args) => api::exec_send(&settings, args).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_tree_is_consistent() {
        Cli::command().debug_assert();
    }
}
