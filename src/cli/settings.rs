//! Global settings: every one a flag with an environment fallback. The client
//! secret is read from `WUTT_CLIENT_SECRET` or a file and never printed. The
//! settings are accepted before or after any command but left out of each
//! command's option list: the top-level help describes them once, and each
//! command's help names the ones it reads.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use sqlx::PgPool;

use crate::campaign::file::read_text;
use crate::config::Secret;
use crate::wutt;

/// A usage or configuration problem (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Args)]
pub struct Settings {
    /// PostgreSQL URL of the job queue.
    #[arg(long, env = "DATABASE_URL", global = true, hide = true)]
    pub database_url: Option<String>,

    /// Base URL of the Wutt API (plain http:// only for loopback hosts).
    #[arg(
        long,
        env = "WUTT_BASE_URL",
        global = true,
        hide = true,
        default_value = "https://www.wutt.net/external-api"
    )]
    pub base_url: String,

    /// Client ID from the Wutt dashboard (Developer Tools).
    #[arg(long, env = "WUTT_CLIENT_ID", global = true, hide = true)]
    pub client_id: Option<String>,

    /// Client secret (prefer the environment or --client-secret-file).
    #[arg(long, env = "WUTT_CLIENT_SECRET", global = true, hide = true)]
    pub client_secret: Option<String>,

    /// File holding the client secret.
    #[arg(long, env = "WUTT_CLIENT_SECRET_FILE", global = true, hide = true)]
    pub client_secret_file: Option<PathBuf>,

    /// The drop folder (inbox/, processed/, rejected/).
    #[arg(
        long,
        env = "WUTT_CAMPAIGNS_DIR",
        global = true,
        hide = true,
        default_value = "./campaigns"
    )]
    pub campaigns_dir: PathBuf,

    /// Account-wide messages per second.
    #[arg(long, env = "WUTT_RATE", global = true, hide = true, default_value_t = 20.0, value_parser = positive_number)]
    pub rate: f64,

    /// Requests in flight at most (1 to 20000). The limit itself follows the
    /// rate and the API's latency; this is its ceiling.
    #[arg(long, env = "WUTT_CONCURRENCY", global = true, hide = true, default_value_t = DEFAULT_CONCURRENCY, value_parser = concurrency)]
    pub concurrency: usize,

    /// Seconds per API request (at most an hour).
    #[arg(long, env = "WUTT_TIMEOUT", global = true, hide = true, default_value_t = 30.0, value_parser = timeout_secs)]
    pub timeout: f64,

    /// Log format.
    #[arg(long, env = "WUTT_LOG_FORMAT", global = true, hide = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// Most requests in flight accepted.
pub const MAX_CONCURRENCY: usize = 20_000;
/// The default ceiling of requests in flight: room for 1,000 messages per
/// second at more than a second and a half of latency.
pub const DEFAULT_CONCURRENCY: usize = 2000;
/// Longest API timeout accepted, in seconds.
pub const MAX_TIMEOUT_SECS: f64 = 3600.0;
/// No client secret file is larger.
const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// Parses a number that must be positive and finite (a rate). NaN, infinity,
/// zero and negative numbers are usage errors, never a division by zero or a
/// panic further on.
pub fn positive_number(s: &str) -> Result<f64, String> {
    let n: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number"))?;
    if n.is_finite() && n > 0.0 {
        Ok(n)
    } else {
        Err("must be a positive number".into())
    }
}

/// The API timeout for `secs`: positive, at least a millisecond, at most
/// [`MAX_TIMEOUT_SECS`].
pub fn timeout_duration(secs: f64) -> Result<Duration, String> {
    if !(secs.is_finite() && secs > 0.0 && secs <= MAX_TIMEOUT_SECS) {
        return Err(format!(
            "WUTT_TIMEOUT must be a positive number of seconds, at most {MAX_TIMEOUT_SECS}"
        ));
    }
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| d.as_millis() >= 1)
        .ok_or_else(|| "WUTT_TIMEOUT must be at least 0.001 seconds".to_string())
}

fn timeout_secs(s: &str) -> Result<f64, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    timeout_duration(secs).map(|_| secs)
}

fn concurrency(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_CONCURRENCY).contains(&n) => Ok(n),
        _ => Err(format!(
            "must be a whole number from 1 to {MAX_CONCURRENCY}"
        )),
    }
}

/// Secrets stay out of `Debug` (and so out of any log or panic that prints
/// the command line): the client secret is never shown, the database URL
/// without its password.
impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |given: bool| if given { "[redacted]" } else { "None" };
        f.debug_struct("Settings")
            .field(
                "database_url",
                &self.database_url.as_deref().map(crate::db::redact_url),
            )
            .field("base_url", &self.base_url)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &format_args!("{}", redacted(self.client_secret.is_some())),
            )
            .field("client_secret_file", &self.client_secret_file)
            .field("campaigns_dir", &self.campaigns_dir)
            .field("rate", &self.rate)
            .field("concurrency", &self.concurrency)
            .field("timeout", &self.timeout)
            .field("log_format", &self.log_format)
            .finish()
    }
}

impl Settings {
    /// The database URL, or a configuration error that says how to set it.
    pub fn database_url(&self) -> Result<&str, ConfigError> {
        self.database_url
            .as_deref()
            .filter(|u| !u.is_empty())
            .ok_or_else(|| {
                ConfigError(
                    "DATABASE_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/wutt)".into(),
                )
            })
    }

    /// Connects to the queue and applies migrations.
    pub async fn pool(&self) -> anyhow::Result<PgPool> {
        let url = self.database_url()?;
        let size = u32::try_from((self.concurrency / 2).clamp(4, 32)).unwrap_or(32);
        crate::db::connect_and_migrate(url, size).await
    }

    /// Secrets given as flags, which every user of the machine can read in
    /// `ps` or `/proc/PID/cmdline`: each as (the flag, what to use instead).
    /// A value that the environment holds too is taken as given there.
    pub fn secrets_on_command_line(&self) -> Vec<(&'static str, &'static str)> {
        let from_flag = |value: Option<&String>, env: &str| {
            value.is_some_and(|v| !v.is_empty() && std::env::var(env).ok().as_ref() != Some(v))
        };
        let mut found = Vec::new();
        if from_flag(self.client_secret.as_ref(), "WUTT_CLIENT_SECRET") {
            found.push((
                "--client-secret",
                "WUTT_CLIENT_SECRET or WUTT_CLIENT_SECRET_FILE (or --client-secret-file)",
            ));
        }
        if from_flag(self.database_url.as_ref(), "DATABASE_URL")
            && self
                .database_url
                .as_deref()
                .is_some_and(crate::db::url_has_password)
        {
            found.push((
                "--database-url with a password",
                "DATABASE_URL in the environment (or a password file: ~/.pgpass)",
            ));
        }
        found
    }

    /// The client secret from the flag, the environment or the file.
    pub fn client_secret(&self) -> Result<Secret, ConfigError> {
        if let Some(s) = self.client_secret.as_ref().filter(|s| !s.is_empty()) {
            return Ok(Secret::new(s.clone()));
        }
        if let Some(path) = &self.client_secret_file {
            let text = read_text(path, MAX_SECRET_FILE_BYTES).map_err(|e| {
                ConfigError(format!(
                    "cannot read WUTT_CLIENT_SECRET_FILE {}: {e}",
                    path.display()
                ))
            })?;
            let text = text.trim();
            if text.is_empty() {
                return Err(ConfigError(format!("{} is empty", path.display())));
            }
            return Ok(Secret::new(text));
        }
        Err(ConfigError(
            "no client secret: set WUTT_CLIENT_SECRET or WUTT_CLIENT_SECRET_FILE".into(),
        ))
    }

    /// The Wutt client configuration these settings describe.
    pub fn client_config(&self) -> Result<wutt::ClientConfig, ConfigError> {
        let base_url = parse_base_url(&self.base_url)?;
        let client_id = self
            .client_id
            .clone()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ConfigError("no client id: set WUTT_CLIENT_ID".into()))?;
        let timeout = timeout_duration(self.timeout).map_err(ConfigError)?;
        Ok(wutt::ClientConfig {
            base_url,
            client_id,
            client_secret: self.client_secret()?,
            connect_timeout: timeout.min(Duration::from_secs(10)),
            timeout,
            user_agent: format!("wutt-campaign/{}", env!("CARGO_PKG_VERSION")),
        })
    }

    /// A Wutt client for these settings.
    pub fn client(&self) -> anyhow::Result<wutt::Client> {
        Ok(wutt::Client::new(self.client_config()?)?)
    }
}

/// Parses the base URL: `https://` anywhere, `http://` only for loopback hosts.
pub fn parse_base_url(raw: &str) -> Result<url::Url, ConfigError> {
    if !raw.contains("://") {
        return Err(ConfigError(format!(
            "WUTT_BASE_URL {raw:?} has no scheme: write it in full, e.g. https://{}",
            raw.trim_start_matches('/')
        )));
    }
    let url = url::Url::parse(raw)
        .map_err(|e| ConfigError(format!("WUTT_BASE_URL {raw:?} is not a URL: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" => {
            let loopback = match url.host() {
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            };
            if !loopback {
                return Err(ConfigError(format!(
                    "WUTT_BASE_URL {raw:?}: plain http:// is accepted only for loopback hosts; use https://"
                )));
            }
        }
        other => {
            return Err(ConfigError(format!(
                "WUTT_BASE_URL {raw:?}: unsupported scheme {other:?}"
            )));
        }
    }
    if url.cannot_be_a_base() {
        return Err(ConfigError(format!(
            "WUTT_BASE_URL {raw:?} cannot be a base URL"
        )));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_rules() {
        assert!(parse_base_url("https://www.wutt.net/external-api").is_ok());
        assert!(parse_base_url("http://127.0.0.1:8080").is_ok());
        assert!(parse_base_url("http://localhost:8080/x").is_ok());
        assert!(parse_base_url("http://[::1]:8080/").is_ok());
        assert!(parse_base_url("http://www.wutt.net/external-api").is_err());
        assert!(parse_base_url("ftp://127.0.0.1/").is_err());
        assert!(parse_base_url("not a url").is_err());
        let no_scheme = parse_base_url("www.wutt.net/external-api").unwrap_err().0;
        assert!(
            no_scheme.contains("has no scheme")
                && no_scheme.contains("https://www.wutt.net/external-api"),
            "{no_scheme}"
        );
    }

    fn settings(args: &[&str]) -> Result<Settings, clap::Error> {
        use clap::Parser;
        let args = ["wutt-campaign"].iter().chain(args).chain(&["migrate"]);
        crate::cli::Cli::try_parse_from(args).map(|cli| cli.settings)
    }

    #[test]
    fn numbers_that_would_panic_or_hang_later_are_usage_errors() {
        for (flag, bad) in [
            (
                "--timeout",
                ["0", "-5", "nan", "inf", "1e30", "1e-300", "x"],
            ),
            ("--rate", ["0", "-1", "nan", "inf", "-inf", "", "x"]),
            (
                "--concurrency",
                ["0", "-1", "20001", "1e3", "", "x", "99999999999999999999"],
            ),
        ] {
            for value in bad {
                let err = settings(&[&format!("{flag}={value}")]).unwrap_err();
                assert_eq!(
                    err.kind(),
                    clap::error::ErrorKind::ValueValidation,
                    "{flag} {value}"
                );
            }
        }
        let ok = settings(&[
            "--timeout",
            "0.5",
            "--rate",
            "0.01",
            "--concurrency",
            "1000",
        ])
        .unwrap();
        assert_eq!(
            timeout_duration(ok.timeout).unwrap(),
            Duration::from_millis(500)
        );
        assert!(timeout_duration(f64::NAN).is_err());
        assert!(timeout_duration(MAX_TIMEOUT_SECS).is_ok());
    }

    #[test]
    fn debug_output_hides_the_secret_and_the_database_password() {
        let s = settings(&[
            "--client-secret",
            "hunter2-secret",
            "--database-url",
            "postgres://u:dbpass@127.0.0.1/wutt",
        ])
        .unwrap();
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter2-secret"), "{shown}");
        assert!(!shown.contains("dbpass"), "{shown}");
        assert!(
            shown.contains("[redacted]") && shown.contains("REDACTED"),
            "{shown}"
        );
    }

    #[test]
    fn the_secret_file_must_be_a_small_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, " s3cret \n").unwrap();
        let mut s = settings(&[]).unwrap();
        s.client_secret = None;
        s.client_secret_file = Some(path.clone());
        assert_eq!(s.client_secret().unwrap().expose(), "s3cret");
        let big = std::fs::File::create(&path).unwrap();
        big.set_len(MAX_SECRET_FILE_BYTES + 1).unwrap();
        let err = s.client_secret().unwrap_err().0;
        assert!(err.contains("larger than"), "{err}");
        s.client_secret_file = Some(dir.path().to_path_buf());
        let err = s.client_secret().unwrap_err().0;
        assert!(err.contains("not a regular file"), "{err}");
    }
}
