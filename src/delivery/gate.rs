//! The dispatch gate: the last word on claimed recipients right before their
//! requests leave — the recipient not opted out since the claim, the campaign
//! neither paused nor cancelled (by this process or any other), the lease
//! long enough for the request — written down in the same statement
//! (`queue::claim::gate`), so a rescuer can tell a claim that sent from one
//! that never did.
//!
//! A dispatcher asks for a group at a time: the recipients the throttle and
//! the in-flight slots let go at once. At a handful of messages per second
//! that is one recipient per statement; at thousands, a whole claim.

use std::time::Duration;

use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::db::retry::{Retried, retry};
use crate::queue::claim::{self, Verdict};

/// Asks the gate; cheap to clone.
#[derive(Clone)]
pub struct Gate {
    pool: PgPool,
    request_time: Duration,
    give_up: CancellationToken,
}

impl Gate {
    /// `request_time` is what a request needs of its lease (the timeout and a
    /// margin); a database outage is waited out until `give_up`, after which
    /// the answer is [`Verdict::Lost`] (nothing is sent; the rows' leases
    /// expire and the rescuer puts them back).
    pub fn new(pool: PgPool, request_time: Duration, give_up: CancellationToken) -> Gate {
        Gate {
            pool,
            request_time,
            give_up,
        }
    }

    /// The verdicts on `claims` (`(recipient_id, lease_token)` pairs), in
    /// their order: one statement, retried through a database outage.
    pub async fn check(&self, claims: &[(i64, i64)]) -> Vec<Verdict> {
        let ask = || claim::gate(&self.pool, claims, self.request_time);
        match retry(&self.give_up, "dispatch gate", ask).await {
            Retried::Done(verdicts) => verdicts,
            Retried::Stopped => vec![Verdict::Lost; claims.len()],
            Retried::Failed(err) => {
                tracing::error!(error = %err, "dispatch gate failed: these recipients are not sent now");
                vec![Verdict::Lost; claims.len()]
            }
        }
    }
}
