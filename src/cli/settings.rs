//! Global settings: every one a flag with an environment fallback. The client
//! secret is read from `WUTT_CLIENT_SECRET` or a file and never printed.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use sqlx::PgPool;

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

#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// PostgreSQL URL of the job queue.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Base URL of the Wutt API (plain http:// only for loopback hosts).
    #[arg(
        long,
        env = "WUTT_BASE_URL",
        global = true,
        default_value = "https://www.wutt.net/external-api"
    )]
    pub base_url: String,

    /// Client ID from the Wutt dashboard (Developer Tools).
    #[arg(long, env = "WUTT_CLIENT_ID", global = true)]
    pub client_id: Option<String>,

    /// Client secret (prefer the environment or --client-secret-file).
    #[arg(
        long,
        env = "WUTT_CLIENT_SECRET",
        global = true,
        hide_env_values = true
    )]
    pub client_secret: Option<String>,

    /// File holding the client secret.
    #[arg(long, env = "WUTT_CLIENT_SECRET_FILE", global = true)]
    pub client_secret_file: Option<PathBuf>,

    /// The drop folder (inbox/, processed/, rejected/).
    #[arg(
        long,
        env = "WUTT_CAMPAIGNS_DIR",
        global = true,
        default_value = "./campaigns"
    )]
    pub campaigns_dir: PathBuf,

    /// Account-wide messages per second.
    #[arg(long, env = "WUTT_RATE", global = true, default_value_t = 20.0)]
    pub rate: f64,

    /// Requests in flight.
    #[arg(long, env = "WUTT_CONCURRENCY", global = true, default_value_t = 16)]
    pub concurrency: usize,

    /// Seconds per API request.
    #[arg(long, env = "WUTT_TIMEOUT", global = true, default_value_t = 30.0)]
    pub timeout: f64,

    /// Log format.
    #[arg(long, env = "WUTT_LOG_FORMAT", global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
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
        let size = (self.concurrency as u32 / 2).clamp(4, 32);
        crate::db::connect_and_migrate(url, size).await
    }

    /// The client secret from the flag, the environment or the file.
    pub fn client_secret(&self) -> Result<Secret, ConfigError> {
        if let Some(s) = self.client_secret.as_ref().filter(|s| !s.is_empty()) {
            return Ok(Secret::new(s.clone()));
        }
        if let Some(path) = &self.client_secret_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
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
        if !(self.timeout.is_finite() && self.timeout > 0.0) {
            return Err(ConfigError(
                "WUTT_TIMEOUT must be a positive number of seconds".into(),
            ));
        }
        Ok(wutt::ClientConfig {
            base_url,
            client_id,
            client_secret: self.client_secret()?,
            connect_timeout: Duration::from_secs_f64(self.timeout.min(10.0)),
            timeout: Duration::from_secs_f64(self.timeout),
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
    }
}
