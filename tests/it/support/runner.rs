//! The delivery engine as in-process tests run it: a client aimed at a
//! loopback server and a runner configuration with short waits.

use std::time::Duration;

use wutt_campaign::config::Secret;
use wutt_campaign::delivery::{BreakerConfig, DeliveryConfig, RetryPolicy, ThrottleConfig};
use wutt_campaign::wutt::{Client, ClientConfig};

pub fn client(base: &str, secret: &str, timeout: Duration) -> Client {
    Client::new(ClientConfig {
        base_url: url::Url::parse(base).unwrap(),
        client_id: "test-id".into(),
        client_secret: Secret::new(secret),
        connect_timeout: Duration::from_secs(2),
        timeout,
        user_agent: "wutt-campaign-test".into(),
    })
    .unwrap()
}

pub fn config(rate: f64, concurrency: usize) -> DeliveryConfig {
    DeliveryConfig {
        worker_id: wutt_campaign::delivery::worker_id(),
        batch_size: 50,
        lease: Duration::from_secs(30),
        concurrency,
        request_timeout: Duration::from_secs(5),
        retry: RetryPolicy {
            base: Duration::from_millis(50),
            max: Duration::from_millis(500),
            pair_wait: Duration::from_millis(200),
        },
        breaker: BreakerConfig::default(),
        throttle: ThrottleConfig {
            account_key: format!("account:test-{}", rand::random::<u32>()),
            rate,
            burst: wutt_campaign::delivery::throttle::default_burst(rate),
            per_number_rate: None,
        },
        daily_unique_limit: None,
        once_horizon: Duration::from_secs(5),
        poll_interval: Duration::from_millis(200),
    }
}
