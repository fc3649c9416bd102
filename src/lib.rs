//! wutt-campaign: bulk WhatsApp campaigns through the Wutt.net business API.
//!
//! One straight pipeline, each stage in its own module:
//!
//! ```text
//! drop folder ─▶ ingest ─▶ queue (PostgreSQL) ─▶ delivery ─▶ wutt client ─▶ Wutt API / simulator
//! ```
//!
//! - [`campaign`]: pure domain code — manifest, CSV decoding, phone numbers, rendering.
//! - [`ingest`]: the drop folder — settle, hash, atomic load, moving files.
//! - [`queue`]: every SQL statement of the job queue and campaign control.
//! - [`delivery`]: workers, throttling, retry, circuit breaker.
//! - [`wutt`]: the only code that speaks HTTP to Wutt, and the classification of its answers.
//! - [`report`]: reporting queries and exports.
//! - [`metrics`]: Prometheus metrics and health endpoint of the daemon.
//! - [`simulator`]: a local stand-in for the Wutt API.
//! - [`db`]: connection pool, embedded migrations, throwaway clusters.
//! - [`config`]: settings shared by every command, and secret handling.
//! - [`cli`]: the command line.

pub mod campaign;
pub mod cli;
pub mod config;
pub mod console;
pub mod db;
pub mod delivery;
pub mod ingest;
pub mod metrics;
pub mod queue;
pub mod report;
pub mod simulator;
pub mod wutt;
