//! `simulate`: serve the local stand-in for the Wutt API until Ctrl-C or
//! SIGTERM. Credentials come from the global settings (WUTT_CLIENT_ID /
//! WUTT_CLIENT_SECRET), so a shell set up for the runner can start its simulator.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::settings::positive_number;
use super::{ConfigError, Exit, Settings};
use crate::config::Secret;
use crate::simulator::{self, Faults, IpRange, LatencyRange, SimConfig};

/// Shown after the options of `simulate --help`.
const AFTER_HELP: &str = "\
Answers as the real Wutt server does (its API's source, SERVER.md): checks
client-id / client-secret (WUTT_CLIENT_ID / WUTT_CLIENT_SECRET; demo-id /
demo-secret when neither is set) and the IP whitelist (401 Unauthorized), then
the plan (200 subscription_required / not_available); every controller answer
is HTTP 200, errors included; lists are Laravel paginators (page, paginate).
It records every message that reached WhatsApp, whatever the answer said.
Paths answer at the root and under /external-api and /extern-api:
  WUTT_BASE_URL=http://127.0.0.1:8085/external-api

The public version's defects are on by default: a text to a number that is not
a contact fails (exception, not sent); a template send that WAS sent answers
exception \"Undefined variable $conversationId\". --fixed answers as a
corrected server would. --all-contacts (a rehearsal convenience, NOT what the
server does) takes every number as a contact whose customer just wrote.

Transport faults (a proxy in front) apply to the two send endpoints. 500, 502,
503 and 429 faults answer an HTML page before acting (nothing is sent).
Timeout, drop, malformed and 504 faults DELIVER the message and then withhold,
cut or garble the answer: a client must treat them as maybe-sent.

Seeded data (45 templates, 20 a page): 1 welcome, 2 order_update, 3 offer
(approved, no variables); 4 promo_draft (pending); 5 greeting_name (1 body
variable); 6 delivery_slot (2); 7 order_shipped (TEXT header {{1}} + 1 body
variable); 8 flash_sale (rejected); 9 old_newsletter (disabled); 10
product_launch (IMAGE header); 11-40 mixed; 41 loyalty_points (1), 42
thank_you (approved, no variables, page 3), 43 pending, 44 (2), 45 disabled.
Contacts: 880 1988123456, 49 15123456789, 971 501234567, 351 912345678, and
880 1711000001 (blocked). WhatsApp number \"+1 555-010-5555\" (from_number
must match it exactly). CTA URLs 1 and 2, interactive list 1.

Control endpoints (no credentials, JSON):
  GET/DELETE /__sim/messages   what reached WhatsApp / forget it
  GET /__sim/stats             counters: requests, accepted, by_status, faults
  GET/PUT /__sim/faults        transport faults, e.g. {\"error_rate\":0.1}
  GET/PUT /__sim/rate          {\"rate_per_second\":5,\"burst\":5} (null: no limit)
  GET/PUT /__sim/account       {\"plan\":\"active|none|expired|no_api\",
                               \"whatsapp_connected\",\"interactive\",\"fixed\",
                               \"all_contacts\",\"enforce_24h_window\": bool,
                               \"contact_limit\": null|N} (PUT: keys given)
  GET/POST /__sim/contacts     [{\"firstname\",\"lastname\",\"mobile_code\",
                               \"mobile\",\"blocked\"}] -> their ids
  GET /__sim/conversations     every conversation
  PUT/DELETE /__sim/templates/ID  {\"status\":0|1|2|3} / remove it
  GET/PUT /__sim/whatsapp      WhatsApp's refusals: [{\"code\":130429 or
                               \"timeout\":true, \"rate\":1, \"numbers\":[\"880...\"],
                               \"times\":N, \"endpoint\":\"text|template|any\"}]
  POST /__sim/reply            {\"mobile_code\",\"mobile\"}: the customer writes now
  GET/PUT /__sim/clock         {\"offset_secs\":0,\"date_header\":true}";

/// Options of `simulate`.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct SimulateArgs {
    /// Address to listen on; port 0 picks a free port. Must be loopback unless
    /// --allow-non-loopback.
    #[arg(long, default_value = "127.0.0.1:8085", value_name = "ADDR")]
    pub listen: String,

    /// Accept a --listen address that is not loopback (this is a test tool:
    /// anyone who can reach it can read the recorded messages).
    #[arg(long)]
    pub allow_non_loopback: bool,

    /// Only accept callers from this IP address or CIDR block (repeatable);
    /// others get the server's 401 whitelist answer. Default: everyone.
    #[arg(long = "allow-ip", value_name = "IP[/BITS]")]
    pub allow_ip: Vec<IpRange>,

    /// Requests per second per account; over it the answer is 429 with
    /// Retry-After. Default: no limit. (Not WUTT_RATE: that is the runner's own pace.)
    #[arg(long = "rate-limit", id = "sim_rate_limit", value_name = "N", value_parser = positive_number)]
    pub rate: Option<f64>,

    /// Burst of the rate limit (default: one second's worth).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub burst: u32,

    /// Probability of a 500 page on sends (message NOT recorded).
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = probability)]
    pub error_rate: f64,

    /// Probability of a 429 answer with Retry-After: 1 on sends (NOT recorded).
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = probability)]
    pub throttle_rate: f64,

    /// Probability of an extra --slow-ms delay on sends.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = probability)]
    pub slow_rate: f64,

    /// The extra delay of a slow answer, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 3000)]
    pub slow_ms: u64,

    /// Probability that a send is recorded but never answered (client times out).
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = probability)]
    pub timeout_rate: f64,

    /// Probability that a send is recorded and its answer cut off mid-body.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = probability)]
    pub drop_rate: f64,

    /// Probability that a send is recorded and answered 200 with a non-JSON body.
    #[arg(long, value_name = "P", default_value_t = 0.0, value_parser = probability)]
    pub malformed_rate: f64,

    /// Latency added to every send answer, uniform between MIN and MAX ms.
    #[arg(long, value_name = "MIN[-MAX]")]
    pub latency_ms: Option<LatencyRange>,

    /// Seed of the fault generator: the same seed and request order give the
    /// same faults.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,

    /// Append every message that reached WhatsApp to FILE as one JSON line.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,

    /// Answer as a corrected server would: texts reach numbers that are not
    /// contacts, template sends answer template_sent (default: the public
    /// version's defects).
    #[arg(long)]
    pub fixed: bool,

    /// Take every number as an existing contact whose customer just wrote
    /// (a rehearsal convenience, not what the server does).
    #[arg(long)]
    pub all_contacts: bool,
}

fn probability(s: &str) -> Result<f64, String> {
    let p: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err("a probability must be between 0 and 1".into())
    }
}

/// The account the simulator expects: the runner's settings, or the demo account.
fn credentials(settings: &Settings) -> Result<(String, Secret), ConfigError> {
    let id = settings.client_id.clone().filter(|s| !s.is_empty());
    let secret_given = settings
        .client_secret
        .as_ref()
        .is_some_and(|s| !s.is_empty())
        || settings.client_secret_file.is_some();
    match (id, secret_given) {
        (Some(id), true) => Ok((id, settings.client_secret()?)),
        (None, false) => {
            tracing::info!(
                "WUTT_CLIENT_ID / WUTT_CLIENT_SECRET not set: the simulator expects client-id demo-id and client-secret demo-secret"
            );
            let demo = SimConfig::default();
            Ok((demo.client_id, demo.client_secret))
        }
        (Some(_), false) => Err(ConfigError(
            "WUTT_CLIENT_ID is set but no client secret: set WUTT_CLIENT_SECRET or WUTT_CLIENT_SECRET_FILE too, or neither for the demo account".into(),
        )),
        (None, true) => Err(ConfigError(
            "a client secret is set but WUTT_CLIENT_ID is not: set both, or neither for the demo account".into(),
        )),
    }
}

async fn listen_addr(raw: &str, allow_non_loopback: bool) -> anyhow::Result<SocketAddr> {
    let addr = match raw.parse::<SocketAddr>() {
        Ok(a) => a,
        Err(_) => tokio::net::lookup_host(raw)
            .await
            .ok()
            .and_then(|mut it| it.next())
            .ok_or_else(|| ConfigError(format!("--listen {raw:?} is not HOST:PORT")))?,
    };
    if !addr.ip().is_loopback() && !allow_non_loopback {
        return Err(ConfigError(format!(
            "--listen {addr} is not a loopback address; the simulator is a test tool (add --allow-non-loopback to insist)"
        ))
        .into());
    }
    Ok(addr)
}

pub async fn exec(settings: &Settings, args: SimulateArgs) -> anyhow::Result<Exit> {
    let (client_id, client_secret) = credentials(settings)?;
    let listen = listen_addr(&args.listen, args.allow_non_loopback).await?;
    let faults = Faults {
        error_rate: args.error_rate,
        throttle_rate: args.throttle_rate,
        slow_rate: args.slow_rate,
        slow_ms: args.slow_ms,
        timeout_rate: args.timeout_rate,
        drop_rate: args.drop_rate,
        malformed_rate: args.malformed_rate,
        latency_ms: args.latency_ms.unwrap_or_default(),
        ..Faults::default()
    };
    faults.validate().map_err(ConfigError)?;
    let config = SimConfig {
        client_id,
        client_secret,
        allow_ips: args.allow_ip,
        rate_per_second: args.rate,
        burst: args.burst,
        faults,
        seed: args.seed,
        record: args.record,
        fixed: args.fixed,
        all_contacts: args.all_contacts,
    };
    let handle = simulator::start(config, listen)
        .await
        .context("cannot start the simulator")?;
    println!("listening on {}", handle.base_url());
    println!("seed {}", handle.seed());
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    wait_for_stop().await;
    tracing::info!("stopping the simulator");
    handle.shutdown().await;
    Ok(Exit::Ok)
}

/// Ctrl-C or SIGTERM.
async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
