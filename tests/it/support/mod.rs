//! Helpers shared by the integration tests, one module per thing a test
//! stands up: the database, the simulator, the delivery runner in-process,
//! the real binary, and raw loopback HTTP for the client's tests.

pub mod bin;
pub mod db;
pub mod http;
pub mod runner;
pub mod sim;
