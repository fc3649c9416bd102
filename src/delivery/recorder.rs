//! Writing outcomes in batches: completions are queued and written with one
//! `queue::claim::complete` call per batch (group commit: a flush starts as
//! soon as the previous one ends and takes everything that arrived meanwhile,
//! up to the batch size, waiting up to [`FILL_WAIT`] when that is less than
//! half a batch), so a crash loses only the last few answers (those
//! recipients are rescued as `unknown`, never resent). At most [`BACKLOG`]
//! batches wait to be written: when the database falls behind, recording
//! waits, and the send tasks, the in-flight slots and the claims wait with it.
//! A flush that fails on a database outage is retried with backoff
//! (`db::retry`) until the hard stop.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::db::retry::{Retried, retry};
use crate::queue::claim::{self, Completion};

/// Flushes running side by side (each on its own connection).
const FLUSHERS: usize = 3;

/// How long a flusher that found fewer answers than half its batch waits for
/// more: a few milliseconds turn many small statements into fewer large ones,
/// which costs the database less per answer when answers arrive by the
/// thousand per second, and changes nothing that matters at lower rates.
const FILL_WAIT: Duration = Duration::from_millis(2);

/// Batches that may wait to be written, per flusher.
const BACKLOG: usize = 2;

/// Sends completions to the flusher.
#[derive(Debug, Clone)]
pub struct Recorder {
    tx: mpsc::UnboundedSender<Item>,
    /// One permit per answer that may wait to be written.
    room: Arc<Semaphore>,
    size: usize,
    /// Notified after every flush.
    written: Arc<Notify>,
}

/// The flusher task; await it after dropping every [`Recorder`] to flush the rest.
#[derive(Debug)]
pub struct Flusher {
    handles: Vec<JoinHandle<u64>>,
    close: CancellationToken,
}

impl Recorder {
    /// Starts the flusher: batches of up to `max_batch`. A flush that cannot
    /// reach the database is retried until `give_up` (the second stop signal);
    /// what is then unwritten is rescued as `unknown` later, never resent.
    pub fn start(
        pool: PgPool,
        max_batch: usize,
        give_up: CancellationToken,
    ) -> (Recorder, Flusher) {
        let (tx, rx) = mpsc::unbounded_channel();
        let close = CancellationToken::new();
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let written = Arc::new(Notify::new());
        let handles = (0..FLUSHERS)
            .map(|_| {
                let flusher = Flush {
                    pool: pool.clone(),
                    max_batch: max_batch.max(1),
                    give_up: give_up.clone(),
                    written: written.clone(),
                };
                tokio::spawn(flusher.run(rx.clone(), close.clone()))
            })
            .collect();
        let size = FLUSHERS * BACKLOG * max_batch.max(1);
        let room = Arc::new(Semaphore::new(size));
        let recorder = Recorder {
            tx,
            room,
            size,
            written,
        };
        (recorder, Flusher { handles, close })
    }

    /// Queues one completion for the next flush, once there is room: what a
    /// crash can leave `unknown` is the requests in flight and this backlog.
    pub async fn record(&self, completion: Completion) {
        let Ok(room) = self.room.clone().acquire_owned().await else {
            return;
        };
        if let Err(err) = self.tx.send((completion, room)) {
            // Only after the flusher is gone (shutdown): the recipient's lease
            // expires and it is rescued as `unknown` — never resent.
            tracing::error!(
                recipient = (err.0).0.recipient_id,
                "outcome could not be recorded"
            );
        }
    }
}

impl Recorder {
    /// Answers handed over and not written yet.
    pub fn unwritten(&self) -> usize {
        self.size.saturating_sub(self.room.available_permits())
    }

    /// Waits until every answer handed over so far is written.
    pub async fn settled(&self) {
        loop {
            let written = self.written.notified();
            if self.unwritten() == 0 {
                return;
            }
            written.await;
        }
    }
}

impl Flusher {
    /// Writes everything queued so far and stops; call once nothing more will
    /// be recorded. Returns how many rows were applied over the whole run.
    pub async fn finish(self) -> u64 {
        self.close.cancel();
        let mut applied = 0;
        for h in self.handles {
            applied += h.await.unwrap_or(0);
        }
        applied
    }
}

struct Flush {
    pool: PgPool,
    max_batch: usize,
    give_up: CancellationToken,
    written: Arc<Notify>,
}

/// A completion and its room in the backlog, given back once it is written.
type Item = (Completion, OwnedSemaphorePermit);

impl Flush {
    async fn run(
        self,
        rx: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Item>>>,
        close: CancellationToken,
    ) -> u64 {
        let mut applied = 0;
        let mut buf: Vec<Item> = Vec::with_capacity(self.max_batch);
        // Group commit: each flusher takes whatever is waiting (up to the batch
        // size) as soon as its previous flush is done; answers that arrive
        // meanwhile form the next batch, for this flusher or another.
        loop {
            let closing = {
                let mut rx = rx.lock().await;
                let closing = tokio::select! {
                    biased;
                    n = rx.recv_many(&mut buf, self.max_batch) => n == 0,
                    _ = close.cancelled() => {
                        while let Ok(item) = rx.try_recv() {
                            buf.push(item);
                        }
                        true
                    }
                };
                let deadline = tokio::time::Instant::now() + FILL_WAIT;
                while !closing && buf.len() < self.max_batch.div_ceil(2) {
                    let room = self.max_batch - buf.len();
                    tokio::select! {
                        biased;
                        n = rx.recv_many(&mut buf, room) => if n == 0 { break },
                        _ = close.cancelled() => break,
                        () = tokio::time::sleep_until(deadline) => break,
                    }
                }
                closing
            };
            while !buf.is_empty() {
                let rest = if buf.len() > self.max_batch {
                    buf.split_off(self.max_batch)
                } else {
                    Vec::new()
                };
                applied += self.flush(&mut buf).await;
                self.written.notify_waiters();
                buf = rest;
            }
            if closing {
                return applied;
            }
        }
    }

    async fn flush(&self, buf: &mut Vec<Item>) -> u64 {
        if buf.is_empty() {
            return 0;
        }
        let write = || claim::complete(&self.pool, buf.iter().map(|(c, _)| c));
        let done = match retry(&self.give_up, "recording outcomes", write).await {
            Retried::Done(done) => done,
            Retried::Stopped => {
                tracing::error!(
                    lost = buf.len(),
                    "stopping without recording these answers; their recipients will be unknown"
                );
                buf.clear();
                return 0;
            }
            Retried::Failed(err) => {
                tracing::error!(
                    error = %err,
                    lost = buf.len(),
                    "recording outcomes failed; their recipients will be unknown, never resent"
                );
                buf.clear();
                return 0;
            }
        };
        if !done.fenced_off.is_empty() {
            tracing::warn!(
                recipients = ?done.fenced_off,
                "lease had been taken over; the attempt is recorded, the row left alone"
            );
        }
        buf.clear();
        done.applied
    }
}
