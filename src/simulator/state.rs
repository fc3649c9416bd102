//! Shared state of one simulator: the account data, the record of accepted
//! messages (memory and `--record` file), counters, the fault generator and
//! the rate limiter. Every lock is short and never held across an `.await`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::config::IpRange;
use super::data::Data;
use super::faults::FaultState;
use super::rate::RateLimiter;

/// Locks a mutex; a poisoned lock is still usable (the data is plain values).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// `send-message` or `send-template-message`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageKind {
    Text,
    Template,
}

/// A file that came with a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaInfo {
    /// `image`, `document`, `video` or `audio`.
    pub field: String,
    pub file_name: String,
    pub content_type: Option<String>,
    pub size: u64,
    /// Hex SHA-256 of the bytes received.
    pub sha256: String,
}

/// A message the simulator accepted ("reached WhatsApp"). Fields are as sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentMessage {
    /// 1, 2, 3, … in order of acceptance.
    pub seq: u64,
    pub received_at_ms: u64,
    pub kind: MessageKind,
    pub mobile_code: String,
    pub mobile: String,
    pub from_number: Option<String>,
    pub template_id: Option<i64>,
    pub message: Option<String>,
    pub media: Vec<MediaInfo>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub cta_url_id: Option<i64>,
    pub interactive_list_id: Option<i64>,
    /// `sim-<seq>`, also returned in the answer's `data.message_id`.
    pub message_id: String,
}

/// Counters served by `GET /__sim/stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SimStats {
    /// API requests seen (control endpoints excluded).
    pub requests: u64,
    /// Messages accepted and recorded.
    pub accepted: u64,
    /// Answers sent, by HTTP status (withheld answers are not counted).
    pub by_status: BTreeMap<u16, u64>,
    /// 429 answers, from the rate limit and the throttle fault.
    pub throttled: u64,
    /// 429 answers from the rate limit alone.
    pub rate_limited: u64,
    /// Faults injected, by kind (`error`, `throttle`, `slow`, `timeout`, `drop`, `malformed`).
    pub faults: BTreeMap<String, u64>,
}

/// Accepted messages, in memory and optionally appended to a file.
pub(crate) struct Recorder {
    pub messages: Vec<SentMessage>,
    pub next_seq: u64,
    pub file: Option<File>,
}

/// What the auth check compares against.
pub(crate) struct Account {
    pub client_id: String,
    pub secret_digest: [u8; 32],
    pub allow_ips: Vec<IpRange>,
}

pub(crate) struct Shared {
    pub account: Account,
    pub data: Mutex<Data>,
    pub recorder: Mutex<Recorder>,
    pub recorded: Notify,
    pub stats: Mutex<SimStats>,
    pub faults: Mutex<FaultState>,
    pub rate: Mutex<RateLimiter>,
    pub shutdown: CancellationToken,
}

pub(crate) fn digest(value: &str) -> [u8; 32] {
    Sha256::digest(value.as_bytes()).into()
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Shared {
    /// Gives the message its sequence number and id, keeps it and appends it
    /// to the record file. Returns the stored message.
    pub fn record(&self, mut msg: SentMessage) -> SentMessage {
        {
            let mut rec = lock(&self.recorder);
            msg.seq = rec.next_seq;
            rec.next_seq += 1;
            msg.message_id = format!("sim-{}", msg.seq);
            msg.received_at_ms = now_ms();
            if let Some(file) = rec.file.as_mut() {
                let written = serde_json::to_string(&msg)
                    .map_err(std::io::Error::other)
                    .and_then(|line| writeln!(file, "{line}"))
                    .and_then(|()| file.flush());
                if let Err(err) = written {
                    tracing::warn!(%err, "simulator: cannot append to the record file");
                }
            }
            rec.messages.push(msg.clone());
        }
        lock(&self.stats).accepted += 1;
        self.recorded.notify_waiters();
        msg
    }

    pub fn count_fault(&self, kind: &str) {
        *lock(&self.stats).faults.entry(kind.into()).or_default() += 1;
    }
}
