//! The dispatch gate as a service: every send task asks it, right before its
//! request leaves, whether it still may go — the recipient not opted out
//! since the claim, the campaign neither paused nor cancelled (by this
//! process or any other), the lease long enough for the request — and the
//! answer is written down in the same statement (`queue::claim::gate`), so a
//! rescuer can tell a claim that sent from one that never did.
//!
//! Asks are grouped the way the recorder groups answers: a gate statement
//! starts as soon as the previous one ends and takes every ask that arrived
//! meanwhile, so at a handful of sends per second each send is one short
//! statement and at thousands a statement carries dozens. Two run side by
//! side, each on its own connection.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::db::retry::{Retried, retry};
use crate::queue::claim::{self, Verdict};

/// Gate statements running side by side.
const GATES: usize = 2;

/// Most asks one statement carries.
const MAX_GROUP: usize = 500;

struct Ask {
    claim: (i64, i64),
    answer: oneshot::Sender<Verdict>,
}

/// Asks the gate; cheap to clone.
#[derive(Clone)]
pub struct Gate {
    tx: mpsc::UnboundedSender<Ask>,
}

/// The gate's tasks.
pub struct GateService {
    handles: Vec<JoinHandle<()>>,
}

impl Gate {
    /// Starts the service. `request_time` is what a request needs of its
    /// lease (the timeout and a margin); a database outage is waited out until
    /// `give_up`, after which asks are answered [`Verdict::Lost`] (nothing is
    /// sent; the rows' leases expire and the rescuer puts them back).
    pub fn start(
        pool: PgPool,
        request_time: Duration,
        give_up: CancellationToken,
    ) -> (Gate, GateService) {
        let (tx, rx) = mpsc::unbounded_channel();
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let handles = (0..GATES)
            .map(|_| {
                tokio::spawn(serve(
                    rx.clone(),
                    pool.clone(),
                    request_time,
                    give_up.clone(),
                ))
            })
            .collect();
        (Gate { tx }, GateService { handles })
    }

    /// The last word on one claimed recipient: `(recipient_id, lease_token)`.
    pub async fn ask(&self, recipient_id: i64, lease_token: i64) -> Verdict {
        let (answer, verdict) = oneshot::channel();
        let ask = Ask {
            claim: (recipient_id, lease_token),
            answer,
        };
        if self.tx.send(ask).is_err() {
            return Verdict::Lost;
        }
        verdict.await.unwrap_or(Verdict::Lost)
    }
}

impl GateService {
    /// Stops the tasks. Call once no send task is left (every in-flight slot
    /// is back): no ask is pending then.
    pub async fn stop(self) {
        for h in &self.handles {
            h.abort();
        }
        for h in self.handles {
            let _ = h.await;
        }
    }
}

async fn serve(
    rx: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Ask>>>,
    pool: PgPool,
    request_time: Duration,
    give_up: CancellationToken,
) {
    loop {
        let group = {
            let mut rx = rx.lock().await;
            let Some(first) = rx.recv().await else { return };
            let mut group = vec![first];
            while group.len() < MAX_GROUP {
                match rx.try_recv() {
                    Ok(ask) => group.push(ask),
                    Err(_) => break,
                }
            }
            group
        };
        let claims: Vec<(i64, i64)> = group.iter().map(|a| a.claim).collect();
        let verdicts = run_gate(&pool, &claims, request_time, &give_up).await;
        for (ask, verdict) in group.into_iter().zip(verdicts) {
            let _ = ask.answer.send(verdict);
        }
    }
}

/// One gate statement, retried through a database outage until `give_up`.
async fn run_gate(
    pool: &PgPool,
    claims: &[(i64, i64)],
    request_time: Duration,
    give_up: &CancellationToken,
) -> Vec<Verdict> {
    match retry(give_up, "dispatch gate", || {
        claim::gate(pool, claims, request_time)
    })
    .await
    {
        Retried::Done(verdicts) => verdicts,
        Retried::Stopped => vec![Verdict::Lost; claims.len()],
        Retried::Failed(err) => {
            tracing::error!(error = %err, "dispatch gate failed: these recipients are not sent now");
            vec![Verdict::Lost; claims.len()]
        }
    }
}
