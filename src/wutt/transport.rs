//! One HTTP call as the client sees it: what came back ([`Answer`]), the
//! bounded read of a body, and transport failures in words and kinds.

use std::error::Error as _;
use std::time::Duration;

use super::client::{BODY_CAP, WuttError};
use super::envelope::Envelope;
use super::outcome::{Reply, TransportKind};

/// What one HTTP call observed.
pub(super) struct Answer {
    pub transport: Option<TransportKind>,
    pub reply: Reply,
    pub retry_after: Option<Duration>,
}

impl Answer {
    pub fn into_result(self) -> Result<Envelope, WuttError> {
        let Answer {
            transport, reply, ..
        } = self;
        if let Some(kind) = transport {
            return Err(WuttError::Transport {
                kind,
                message: reply.error.unwrap_or_default(),
            });
        }
        let http_status = reply.http_status.unwrap_or(0);
        match reply.envelope {
            None => Err(WuttError::NotEnvelope {
                http_status,
                reason: reply.error.unwrap_or_else(|| "no envelope".into()),
                excerpt: reply.body_excerpt.unwrap_or_default(),
            }),
            Some(envelope) if envelope.is_success() && (200..300).contains(&http_status) => {
                Ok(envelope)
            }
            Some(envelope) => Err(WuttError::Api {
                http_status,
                envelope,
            }),
        }
    }
}

/// Reads at most [`BODY_CAP`] bytes; the second value says why reading stopped
/// early (too large, broke off, timed out).
pub(super) async fn read_capped(response: &mut reqwest::Response) -> (Vec<u8>, Option<String>) {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > BODY_CAP {
                    let room = BODY_CAP - body.len();
                    body.extend_from_slice(&chunk[..room]);
                    return (
                        body,
                        Some(format!(
                            "body larger than {BODY_CAP} bytes; stopped reading"
                        )),
                    );
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return (body, None),
            Err(e) => {
                let what = if e.is_timeout() {
                    "timed out"
                } else {
                    "broke off"
                };
                let problem = format!(
                    "the answer {what} after {} bytes: {}",
                    body.len(),
                    error_chain(&e)
                );
                return (body, Some(problem));
            }
        }
    }
}

pub(super) fn transport_kind(e: &reqwest::Error) -> TransportKind {
    if e.is_builder() {
        TransportKind::Build
    } else if e.is_connect() {
        TransportKind::Connect
    } else if e.is_timeout() {
        TransportKind::Timeout
    } else {
        TransportKind::Dropped
    }
}

/// An error and its causes on one line.
pub(super) fn error_chain(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    if text.contains("InvalidContentType") || text.contains("corrupt message") {
        // An https:// base URL aimed at a server that speaks plain HTTP.
        return format!(
            "the server does not speak TLS (HTTPS) — if it is a plain-HTTP server such as the local simulator, write http:// in WUTT_BASE_URL ({text})"
        );
    }
    text
}
