//! Fault injection on the send endpoints, standing for what sits in front of
//! the server (proxies, PHP-FPM, the network): one seeded draw per request
//! decides latency, a slow answer and at most one fault. 5xx (but 504) and
//! 429 answer before acting, with HTML pages; timeout, drop, malformed and a
//! 504 act first (a message WhatsApp took is recorded) and then withhold,
//! cut or garble the answer.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::config::{Faults, MalformedBody};
use super::reply;
use super::state::{Shared, lock};

/// The error status that acts before answering (the gateway gave up waiting).
const GATEWAY_TIMEOUT: u16 = 504;

/// How long a timed-out request holds its connection at most.
const HOLD_MAX: Duration = Duration::from_secs(300);

/// Marks a response that stands for "no answer", so it is not counted as one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Unanswered;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    None,
    Error(u16),
    Throttle,
    Timeout,
    Drop,
    Malformed(MalformedBody),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Draw {
    pub fault: Fault,
    pub slow: bool,
    pub delay: Duration,
}

pub(crate) struct FaultState {
    pub faults: Faults,
    rng: StdRng,
}

impl FaultState {
    pub fn new(faults: Faults, seed: u64) -> Self {
        FaultState {
            faults,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// One draw. Always consumes the same amount of randomness, so the same
    /// seed and the same request order give the same faults whatever the rates.
    pub fn draw(&mut self) -> Draw {
        let f = &self.faults;
        let pick: f64 = self.rng.random();
        let slow_roll: f64 = self.rng.random();
        let latency = self
            .rng
            .random_range(f.latency_ms.min..=f.latency_ms.max.max(f.latency_ms.min));
        let body_roll: u8 = self.rng.random_range(0..3);
        let slow = slow_roll < f.slow_rate;
        let mut edge = 0.0;
        let mut hit = |rate: f64| {
            edge += rate;
            pick < edge
        };
        let fault = if hit(f.error_rate) {
            Fault::Error(f.error_status)
        } else if hit(f.throttle_rate) {
            Fault::Throttle
        } else if hit(f.timeout_rate) {
            Fault::Timeout
        } else if hit(f.drop_rate) {
            Fault::Drop
        } else if hit(f.malformed_rate) {
            Fault::Malformed(match f.malformed_body {
                MalformedBody::Mixed => [
                    MalformedBody::Html,
                    MalformedBody::Empty,
                    MalformedBody::TruncatedJson,
                ][usize::from(body_roll)],
                kind => kind,
            })
        } else {
            Fault::None
        };
        let extra = if slow { f.slow_ms } else { 0 };
        let delay = Duration::from_millis(latency.saturating_add(extra));
        Draw { fault, slow, delay }
    }
}

/// Middleware of the send routes.
pub(crate) async fn apply(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    // A wrong method never reaches the server; it draws nothing.
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let draw = lock(&shared.faults).draw();
    if draw.slow {
        shared.count_fault("slow");
    }
    if !draw.delay.is_zero() {
        tokio::select! {
            () = tokio::time::sleep(draw.delay) => {}
            () = shared.shutdown.cancelled() => return cut_off(StatusCode::SERVICE_UNAVAILABLE, Bytes::new()),
        }
    }
    match draw.fault {
        // A gateway that timed out waiting for the API cannot know whether the
        // API acted: act first, like the other ambiguous faults.
        Fault::Error(GATEWAY_TIMEOUT) => {}
        Fault::Error(status) => {
            shared.count_fault("error");
            return error_answer(status);
        }
        Fault::Throttle => {
            shared.count_fault("throttle");
            return reply::too_many_requests(1);
        }
        _ => {}
    }
    let resp = next.run(req).await;
    match draw.fault {
        Fault::Error(status) => {
            shared.count_fault("error");
            error_answer(status)
        }
        Fault::Timeout => {
            shared.count_fault("timeout");
            tokio::select! {
                () = tokio::time::sleep(HOLD_MAX) => {}
                () = shared.shutdown.cancelled() => {}
            }
            let mut cut = cut_off(StatusCode::SERVICE_UNAVAILABLE, Bytes::new());
            cut.extensions_mut().insert(Unanswered);
            cut
        }
        Fault::Drop => {
            shared.count_fault("drop");
            let status = resp.status();
            let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
                .await
                .unwrap_or_default();
            let half = body.slice(..body.len() / 2);
            cut_off(status, half)
        }
        Fault::Malformed(kind) => {
            shared.count_fault("malformed");
            malformed(kind)
        }
        _ => resp,
    }
}

/// The HTML page of an error status: the app's 500 page, Laravel's 503
/// (maintenance), nginx's for the gateway statuses and the rest.
fn error_answer(status: u16) -> Response {
    match status {
        500 => reply::server_error(),
        503 => reply::service_unavailable(),
        other => reply::nginx_page(StatusCode::from_u16(other).unwrap_or(StatusCode::BAD_GATEWAY)),
    }
}

/// A 200 whose body is not the JSON envelope.
fn malformed(kind: MalformedBody) -> Response {
    match kind {
        MalformedBody::Empty => {
            let mut resp = StatusCode::OK.into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            resp
        }
        MalformedBody::TruncatedJson => {
            let mut resp = (StatusCode::OK, r#"{"status":"success","remark":"messa"#).into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            resp
        }
        MalformedBody::Html | MalformedBody::Mixed => reply::html(
            StatusCode::OK,
            "<!DOCTYPE html>\n<html><head><title>Wutt.net</title></head><body><h1>Something went wrong</h1><p>Please try again later.</p></body></html>\n"
                .into(),
        ),
    }
}

/// Headers and `head` of the body, then the connection breaks.
fn cut_off(status: StatusCode, head: Bytes) -> Response {
    let first = futures::stream::iter([Ok::<Bytes, std::io::Error>(head)]);
    // Yielding once between the chunk and the error lets the server flush the
    // headers and the partial body before the connection is torn down.
    let broken = futures::stream::once(async {
        tokio::task::yield_now().await;
        Err(std::io::Error::other("answer dropped by the simulator"))
    });
    let mut resp = Response::new(Body::from_stream(futures::StreamExt::chain(first, broken)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_draws() {
        let faults = Faults {
            error_rate: 0.3,
            timeout_rate: 0.3,
            latency_ms: super::super::config::LatencyRange { min: 0, max: 50 },
            ..Faults::default()
        };
        let mut a = FaultState::new(faults.clone(), 7);
        let mut b = FaultState::new(faults, 7);
        let da: Vec<Draw> = (0..50).map(|_| a.draw()).collect();
        let db: Vec<Draw> = (0..50).map(|_| b.draw()).collect();
        assert_eq!(da, db);
        assert!(da.iter().any(|d| d.fault == Fault::Error(500)));
        assert!(da.iter().any(|d| d.fault == Fault::Timeout));
        assert!(da.iter().any(|d| d.fault == Fault::None));
    }

    #[test]
    fn certain_and_impossible_faults() {
        let mut s = FaultState::new(
            Faults {
                drop_rate: 1.0,
                ..Faults::default()
            },
            1,
        );
        assert!((0..20).all(|_| s.draw().fault == Fault::Drop));
        let mut none = FaultState::new(Faults::default(), 1);
        assert!((0..20).all(|_| none.draw()
            == Draw {
                fault: Fault::None,
                slow: false,
                delay: Duration::ZERO
            }));
    }
}
