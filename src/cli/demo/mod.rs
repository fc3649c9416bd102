//! `demo`: a tour of the product on a fresh machine, with no configuration.
//!
//! - [`walkthrough`]: one call per kind of answer, against the simulator.
//! - [`campaigns`]: the example campaigns dropped, loaded, sent and reported.
//!
//! It starts the built-in simulator in-process on a free loopback port with
//! the demo account and a few seeded faults (so retries show), and a client
//! built for it alone: any `WUTT_*` settings for the live API are ignored on
//! purpose, so the demo can never message a real phone. The simulator answers
//! as the real server does, defects included. The walkthrough then lists the
//! templates, sends templates (with and without variables) and texts, and
//! shows the refusals a campaign meets (see [`walkthrough`]).

mod campaigns;
mod walkthrough;

use std::time::Duration;

use clap::Args;

pub use walkthrough::api_walkthrough;

use super::{Exit, Settings};
use crate::simulator::{self, Faults, LatencyRange, SimConfig, SimHandle};
use crate::wutt::{Client, ClientConfig};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// With DATABASE_URL set: keep the demo's database (`wutt_demo_…`) to query
    /// afterwards instead of dropping it. Without DATABASE_URL the demo runs on
    /// a throwaway cluster that is always discarded.
    #[arg(long)]
    pub keep: bool,
}

/// The simulator and a client configured for it, for the whole demo.
pub struct DemoEnv {
    pub sim: SimHandle,
    pub client: Client,
}

impl DemoEnv {
    /// Starts the simulator on `127.0.0.1:0` with the demo account and modest,
    /// seeded faults, and a client that only knows its address.
    pub async fn start() -> anyhow::Result<DemoEnv> {
        let sim_config = SimConfig {
            faults: Faults {
                latency_ms: LatencyRange { min: 5, max: 40 },
                // 503: maintenance mode, answered before the application
                // runs, so the runner retries it (a 500 would be "maybe sent").
                error_rate: 0.03,
                error_status: 503,
                throttle_rate: 0.02,
                ..Faults::default()
            },
            seed: Some(7),
            ..SimConfig::default()
        };
        let client_id = sim_config.client_id.clone();
        let client_secret = sim_config.client_secret.clone();
        let sim = simulator::start(sim_config, "127.0.0.1:0".parse()?).await?;
        let client = Client::new(ClientConfig {
            base_url: url::Url::parse(&format!("{}/external-api", sim.base_url()))?,
            client_id,
            client_secret,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            user_agent: format!("wutt-campaign-demo/{}", env!("CARGO_PKG_VERSION")),
        })?;
        Ok(DemoEnv { sim, client })
    }

    /// Stops the simulator.
    pub async fn shutdown(self) {
        self.sim.shutdown().await;
    }
}

pub async fn exec(settings: &Settings, args: DemoArgs) -> anyhow::Result<Exit> {
    let env = DemoEnv::start().await?;
    let mut out = std::io::stdout();
    let result = async {
        api_walkthrough(&env.client, &mut out).await?;
        campaigns::run(&env, settings, args.keep, &mut out).await
    }
    .await;
    env.shutdown().await;
    result?;
    Ok(Exit::Ok)
}
