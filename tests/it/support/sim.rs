//! The in-process simulator the end-to-end tests aim the binary at, and what
//! it saw.

#![allow(dead_code)]

use std::collections::HashMap;

use wutt_campaign::config::Secret;
use wutt_campaign::simulator::{self, SimConfig, SimHandle};

pub const ID: &str = "e2e-id";
pub const SECRET: &str = "e2e-secret";

/// A simulator for tests whose subject is delivery itself (rates, crashes,
/// faults): every number counts as an existing contact, so texts to made-up
/// numbers are delivered. Tests of what the real server refuses start from
/// `SimConfig::default()` instead.
pub fn rehearsal() -> SimConfig {
    SimConfig {
        all_contacts: true,
        ..SimConfig::default()
    }
}

pub async fn sim(config: SimConfig) -> SimHandle {
    simulator::start(
        SimConfig {
            client_id: ID.into(),
            client_secret: Secret::new(SECRET),
            seed: Some(7),
            ..config
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .expect("simulator")
}

/// Messages the simulator accepted, by `mobile`.
pub fn sim_counts(sim: &SimHandle) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for msg in sim.messages() {
        *m.entry(msg.mobile).or_insert(0) += 1;
    }
    m
}
