//! Logging: `RUST_LOG` filters (default `info`), text or JSON lines on stderr;
//! colours only when stderr is a terminal (cron mail gets plain text). The
//! first lines warn about secrets given as flags, which `ps` shows to anyone.

use tracing_subscriber::EnvFilter;

use super::settings::{LogFormat, Settings};

/// Without `RUST_LOG`: info, minus PostgreSQL notices such as "relation
/// _sqlx_migrations already exists" that every start would print.
pub const DEFAULT_FILTER: &str = "info,sqlx::postgres::notice=warn";

/// Installs the global subscriber (once; later calls are ignored).
pub fn init(settings: &Settings) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match settings.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
    for (flag, instead) in settings.secrets_on_command_line() {
        tracing::warn!(
            "{flag} on the command line is visible to every user of this machine \
             (ps, /proc/PID/cmdline); use {instead} instead"
        );
    }
}
