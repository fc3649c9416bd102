//! Prometheus metrics and the `/healthz` endpoint of the daemon.
