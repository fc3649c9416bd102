//! The integration tests, one crate: every suite is a module here, so the
//! helpers in `support` are compiled once and the whole suite links once.
//! They talk to real PostgreSQL (a database per test, see
//! `wutt_campaign::db::testing`) and real HTTP over loopback: the built-in
//! simulator, mock servers, and the real binary.

mod support;

mod campaign_files;
mod cli_api;
mod client_simulator;
mod console;
mod db;
mod delivery;
mod demo;
mod e2e_crash;
mod e2e_rate;
mod e2e_reconcile;
mod e2e_run;
mod e2e_server;
mod first_hour;
mod first_hour_rows;
mod holes_engine;
mod holes_ingest;
mod ingest;
mod ingest_cli;
mod metrics;
mod openapi_conformance;
mod queue;
mod report;
mod simulator;
mod wutt_client;
