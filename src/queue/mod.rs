//! The job queue: every SQL statement that loads, claims, completes, retries
//! and controls campaigns and recipients. Nothing outside this module (and
//! `report`) builds SQL.
//!
//! - [`load`]: a whole campaign in one transaction (COPY for recipients).
//! - [`suppress`]: the opt-out list.
//! - [`claim`]: claiming due recipients under a lease, batched completion,
//!   lease rescue.
//! - [`contacts`]: numbers known to be Wutt contacts (made before a text).
//! - [`control`]: pause, resume, cancel, requeue, expiry, campaign lookup.
//! - [`console`]: approving (or cancelling) a `draft` campaign.
//! - [`reconcile`]: `unknown` recipients to read back, and the read-backs' records.
//! - [`throttle`]: shared token buckets, the 429 slow-down, the tier budget,
//!   wake-up notifications.

pub mod claim;
pub mod console;
pub mod contacts;
pub mod control;
pub mod load;
pub mod reconcile;
pub mod suppress;
pub mod throttle;
