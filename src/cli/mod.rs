//! The command line: global settings (flags with environment fallbacks), the
//! command tree, exit codes and logging. Each command lives in its own file
//! and calls into the library; no SQL and no HTTP here.

pub(crate) mod api;
mod console;
mod control;
mod demo;
mod load;
mod logging;
mod reconcile;
mod report;
mod run;
mod settings;
mod simulate;
mod suppress;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use settings::{ConfigError, Settings};

/// Start here, the settings and the exit codes (after the command list).
const AFTER_HELP: &str = "\
Start here:
  wutt-campaign demo                       the example campaigns against the built-in simulator
  cp list.csv list.toml campaigns/inbox/   drop a campaign (NAME.csv, optional NAME.toml)
  wutt-campaign load campaigns/inbox/list.csv --dry-run
                                           what would be sent, and every problem, by row
  wutt-campaign run --once                 load the inbox and send what is due (cron)
  wutt-campaign report                     progress and outcome of every campaign

Settings (a flag before or after the command, or the environment variable):
  --database-url        DATABASE_URL             PostgreSQL of the job queue
  --base-url            WUTT_BASE_URL            default https://www.wutt.net/external-api
  --client-id           WUTT_CLIENT_ID           from the Wutt dashboard, Developer Tools
  --client-secret       WUTT_CLIENT_SECRET       prefer the environment or the file
  --client-secret-file  WUTT_CLIENT_SECRET_FILE  a file holding the secret
  --campaigns-dir       WUTT_CAMPAIGNS_DIR       the drop folder, default ./campaigns
  --rate                WUTT_RATE                account-wide messages per second, default 20
  --concurrency         WUTT_CONCURRENCY         ceiling of requests in flight, default 2000
                                                 (the limit follows rate × the API's latency)
  --timeout             WUTT_TIMEOUT             seconds per API request, default 30
  --log-format          WUTT_LOG_FORMAT          text (default) or json
                        RUST_LOG                 log filter, default info

Exit codes: 0 done; 1 runtime error; 2 usage or configuration error; 3 a campaign was
paused because the account or the campaign was refused (credentials, IP whitelist, plan,
WhatsApp number, template, unreachable server) — cron mails that.";

/// Bulk WhatsApp campaigns through the Wutt.net business API, with a
/// PostgreSQL job queue.
#[derive(Debug, Parser)]
#[command(
    name = "wutt-campaign",
    version,
    about,
    long_about = None,
    propagate_version = true,
    after_help = AFTER_HELP,
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,

    #[command(subcommand)]
    pub command: Command,
}

/// Settings each command reads, shown at the end of its help.
const DB: &str = "Reads DATABASE_URL (or --database-url). All settings: wutt-campaign --help";
const API: &str = "Reads WUTT_BASE_URL, WUTT_CLIENT_ID, WUTT_CLIENT_SECRET(_FILE), WUTT_TIMEOUT. \
All settings: wutt-campaign --help";
const RUN: &str = "Reads DATABASE_URL, WUTT_BASE_URL, WUTT_CLIENT_ID, WUTT_CLIENT_SECRET(_FILE), \
WUTT_CAMPAIGNS_DIR, WUTT_RATE, WUTT_CONCURRENCY, WUTT_TIMEOUT. All settings: wutt-campaign --help

Examples:
  wutt-campaign run --once          from cron: load the inbox, send what is due, exit
  wutt-campaign run                 as a daemon; stops cleanly on SIGINT/SIGTERM

Exit codes: 0 done; 1 runtime error; 2 usage error; 3 a campaign was paused (refused).";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply the embedded database migrations (every command also does this on start).
    #[command(after_help = DB)]
    Migrate,
    /// Ingest ready files from the inbox and send every recipient that is due.
    #[command(after_help = RUN)]
    Run(run::RunArgs),
    /// Ingest one campaign file now.
    #[command(
        after_help = "Reads DATABASE_URL and, for template campaigns, WUTT_BASE_URL, \
WUTT_CLIENT_ID, WUTT_CLIENT_SECRET(_FILE). All settings: wutt-campaign --help

Examples:
  wutt-campaign load campaigns/inbox/list.csv --dry-run   what would be sent, every problem
  wutt-campaign load campaigns/inbox/list.csv             load now (exit 0 loaded, 1 rejected)"
    )]
    Load(load::LoadArgs),
    /// Campaign summary, or every recipient with --recipients.
    #[command(after_help = "Reads DATABASE_URL. All settings: wutt-campaign --help

Examples:
  wutt-campaign report                                   every campaign
  wutt-campaign report spring-offer --recipients --format csv > recipients.csv")]
    Report(report::ReportArgs),
    /// List, pause, resume or cancel campaigns.
    #[command(
        subcommand,
        after_help = "Reads DATABASE_URL. All settings: wutt-campaign --help

Examples:
  wutt-campaign campaign list
  wutt-campaign campaign pause spring-offer       (a campaign by name or id)
  wutt-campaign campaign resume 12"
    )]
    Campaign(control::CampaignCommand),
    /// Send again what the runner would not resend on its own.
    #[command(after_help = "Reads DATABASE_URL. All settings: wutt-campaign --help

Example:
  wutt-campaign requeue spring-offer --state failed")]
    Requeue(control::RequeueArgs),
    /// Settle `unknown` recipients by reading the server back (the conversation list).
    #[command(after_help = "Reads DATABASE_URL, WUTT_BASE_URL, WUTT_CLIENT_ID, \
WUTT_CLIENT_SECRET(_FILE), WUTT_RATE, WUTT_TIMEOUT. All settings: wutt-campaign --help

Examples:
  wutt-campaign reconcile spring-offer --dry-run   what it would decide per recipient, and why
  wutt-campaign reconcile spring-offer             do it: sent, sent again, or left unknown

Only numbers that were Wutt contacts before their attempt can be settled.")]
    Reconcile(reconcile::ReconcileArgs),
    /// The opt-out list, honoured at load time and again just before each send.
    #[command(
        subcommand,
        after_help = "Reads DATABASE_URL. All settings: wutt-campaign --help

Examples:
  wutt-campaign suppress add +8801712345678 --reason \"replied STOP\"
  wutt-campaign suppress import stop-list.csv"
    )]
    Suppress(suppress::SuppressCommand),
    /// Serve the web console without sending (`run --console-addr` serves it beside the runner).
    #[command(
        after_help = "Reads DATABASE_URL, WUTT_CAMPAIGNS_DIR, WUTT_RATE, WUTT_CONSOLE_ADDR, \
WUTT_CONSOLE_TOKEN(_FILE); WUTT_BASE_URL, WUTT_CLIENT_ID, WUTT_CLIENT_SECRET(_FILE) when set \
(template checks of an upload's dry run). All settings: wutt-campaign --help

Examples:
  wutt-campaign console                              http://127.0.0.1:8080, login link printed
  WUTT_CONSOLE_TOKEN_FILE=/etc/wutt/console-token wutt-campaign console --addr 0.0.0.0:8080"
    )]
    Console(console::ConsoleArgs),
    /// Serve a local stand-in for the Wutt API.
    Simulate(simulate::SimulateArgs),
    /// Run the example campaigns against the built-in simulator and print the report.
    #[command(
        after_help = "Reads DATABASE_URL if set (else a throwaway PostgreSQL cluster); \
never the live API settings."
    )]
    Demo(demo::DemoArgs),
    /// WhatsApp templates of the account.
    #[command(subcommand, after_help = API)]
    Templates(api::TemplatesCommand),
    /// Contacts of the account.
    #[command(subcommand, after_help = API)]
    Contacts(api::ContactsCommand),
    /// Inbox conversations.
    #[command(subcommand, after_help = API)]
    Conversations(api::ConversationsCommand),
    /// Send one message now (text, template, media or location).
    #[command(
        after_help = "Reads WUTT_BASE_URL, WUTT_CLIENT_ID, WUTT_CLIENT_SECRET(_FILE), \
WUTT_TIMEOUT. All settings: wutt-campaign --help

Examples:
  wutt-campaign send --to +8801712345678 --template 6 --body-variable Ana --body-variable A-1
  wutt-campaign send --to +8801712345678 --message \"Hello\"   (only to an existing contact)"
    )]
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
    raise_open_file_limit();
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

/// Raises the soft limit of open files to the hard one: at a high rate and a
/// slow API, every request in flight holds a socket, and the common soft
/// limit of 1,024 would cut the in-flight ceiling short.
fn raise_open_file_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain system calls on a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
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
        Command::Reconcile(args) => reconcile::exec(&settings, args).await,
        Command::Suppress(cmd) => suppress::exec(&settings, cmd).await,
        Command::Console(args) => console::exec(&settings, args).await,
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
