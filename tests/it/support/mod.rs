//! Helpers shared by the integration tests, one module per thing a test
//! stands up: the database, the simulator, the delivery runner in-process,
//! the real binary, raw loopback HTTP for the client's tests, and a TCP proxy
//! that can make the database unreachable.

pub mod bin;
pub mod db;
pub mod http;
pub mod proxy;
pub mod runner;
pub mod sim;
