//! Shared state of one simulator: the credentials, the account's switches
//! and data, the server's clock, the record of what reached WhatsApp
//! (memory and `--record` file), counters, the fault generator, WhatsApp's
//! refusal rules and the rate limiter. Every lock is short, never held
//! across an `.await`, and none is taken while another is held.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::account::SimAccount;
use super::clock::SimClock;
use super::config::IpRange;
use super::data::Data;
use super::faults::FaultState;
use super::rate::RateLimiter;
use super::refusals::Refusals;

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

/// A message that reached WhatsApp, whatever the answer said. Fields are
/// as the client sent them (after the server's trimming).
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
    /// The text WhatsApp got: the message, or the caption of an image,
    /// document or video; `None` for audio, location, CTA URL and list.
    pub message: Option<String>,
    /// `body_variables[]` as sent, before the server's `{{…}}` replacement.
    #[serde(default)]
    pub body_variables: Vec<String>,
    /// `header_variables[]` as sent, before replacement.
    #[serde(default)]
    pub header_variables: Vec<String>,
    /// The Wutt contact it went to; `None` for a number that is not one.
    #[serde(default)]
    pub contact_id: Option<i64>,
    /// The one media file sent (image, else document, video, audio).
    pub media: Vec<MediaInfo>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub cta_url_id: Option<i64>,
    pub interactive_list_id: Option<i64>,
    /// WhatsApp's message id, `wamid.sim-<seq>` (the answer's
    /// `data.message.whatsapp_message_id` when there is one).
    pub message_id: String,
}

/// Counters served by `GET /__sim/stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SimStats {
    /// API requests seen (control endpoints excluded).
    pub requests: u64,
    /// Messages that reached WhatsApp (recorded).
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
pub(crate) struct Credentials {
    pub client_id: String,
    pub secret_digest: [u8; 32],
    pub allow_ips: Vec<IpRange>,
}

pub(crate) struct Shared {
    pub credentials: Credentials,
    pub settings: Mutex<SimAccount>,
    pub clock: Mutex<SimClock>,
    pub data: Mutex<Data>,
    pub refusals: Mutex<Refusals>,
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
            msg.message_id = format!("wamid.sim-{}", msg.seq);
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

    /// The account's switches now.
    pub fn settings(&self) -> SimAccount {
        *lock(&self.settings)
    }

    pub fn count_fault(&self, kind: &str) {
        *lock(&self.stats).faults.entry(kind.into()).or_default() += 1;
    }
}
