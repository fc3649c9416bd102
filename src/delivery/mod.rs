//! Delivery: worker tasks that claim due recipients and send them, with throttling, retry and a circuit breaker.
