//! Streams a file's rows through the planner and the classifier, handing each
//! row to a sink: COPY chunks for a load, samples for a dry run. Blocking code,
//! run on a blocking thread so parsing overlaps with the database.

use std::sync::mpsc::sync_channel;

use tokio::sync::mpsc;

use crate::campaign::Problem;
use crate::campaign::csv::{CsvRow, CsvSource};
use crate::campaign::plan::{PlannedRecipient, Planner, Verdict};
use crate::queue::load::{RecipientRow, RowEncoder};

use super::classify::{Classified, Classifier};
use super::progress::Progress;

/// COPY chunk size: large enough for few round trips, small enough for flat memory.
const CHUNK_BYTES: usize = 1 << 20;

/// What streaming found.
#[derive(Debug)]
pub struct Streamed {
    pub classifier: Classifier,
    pub rows: u64,
    /// A whole-file problem that stopped the stream (the file is rejected).
    pub fatal: Option<Problem>,
}

/// Rows per batch handed between threads.
const BATCH: usize = 2048;

enum Batch<T> {
    Rows(Vec<T>),
    Fatal(Problem),
}

/// Runs every row through planner and classifier; `sink` returns `false` to stop.
/// Planning (phone numbers, rendering) is spread over worker threads; batches
/// are dealt round-robin and collected in the same order, so rows stay in order.
pub fn run(
    mut source: CsvSource,
    planner: &Planner,
    mut classifier: Classifier,
    label: &str,
    mut sink: impl FnMut(&PlannedRecipient, &Classified) -> bool,
) -> Streamed {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().clamp(1, 4));
    let mut progress = Progress::new(label);
    let mut rows = 0;
    let mut fatal = None;
    std::thread::scope(|scope| {
        let (mut inputs, mut outputs) = (Vec::new(), Vec::new());
        for _ in 0..workers {
            let (to_worker, work) = sync_channel::<Batch<CsvRow>>(2);
            let (done, from_worker) = sync_channel::<Batch<PlannedRecipient>>(2);
            let planner = planner.clone();
            scope.spawn(move || {
                for batch in work {
                    let planned = match batch {
                        Batch::Rows(rows) => {
                            Batch::Rows(rows.iter().map(|r| planner.plan(r)).collect())
                        }
                        Batch::Fatal(p) => Batch::Fatal(p),
                    };
                    if done.send(planned).is_err() {
                        break;
                    }
                }
            });
            inputs.push(to_worker);
            outputs.push(from_worker);
        }
        scope.spawn(move || {
            for i in 0.. {
                let mut batch = Vec::with_capacity(BATCH);
                let mut end = None;
                while batch.len() < BATCH {
                    match source.next_row() {
                        None => break,
                        Some(Ok(row)) => batch.push(row),
                        Some(Err(p)) => {
                            end = Some(p);
                            break;
                        }
                    }
                }
                let last = end.is_some() || batch.len() < BATCH;
                // The fatal problem takes the next slot in the round-robin order.
                let next = if batch.is_empty() { i } else { i + 1 };
                if !batch.is_empty() && inputs[i % inputs.len()].send(Batch::Rows(batch)).is_err() {
                    break;
                }
                if let Some(p) = end {
                    let _ = inputs[next % inputs.len()].send(Batch::Fatal(p));
                }
                if last {
                    break;
                }
            }
        });
        'batches: for i in 0.. {
            match outputs[i % outputs.len()].recv() {
                Err(_) => break,
                Ok(Batch::Fatal(p)) => {
                    fatal = Some(p);
                    break;
                }
                Ok(Batch::Rows(planned)) => {
                    for p in &planned {
                        let classified = classifier.classify(p);
                        rows += 1;
                        progress.row();
                        if !sink(p, &classified) {
                            break 'batches;
                        }
                    }
                }
            }
        }
        // Stops the workers and the reader if we stopped early.
        drop(outputs);
    });
    progress.finish();
    Streamed {
        classifier,
        rows,
        fatal,
    }
}

/// Streams rows as binary COPY tuples, in chunks, into `chunks` (closed when done).
pub fn to_copy(
    source: CsvSource,
    planner: &Planner,
    classifier: Classifier,
    encoder: &RowEncoder,
    chunks: mpsc::Sender<Vec<u8>>,
    label: &str,
) -> Streamed {
    let mut buf = Vec::with_capacity(CHUNK_BYTES + 4096);
    let mut open = true;
    let mut streamed = run(source, planner, classifier, label, |p, c| {
        encoder.encode(&mut buf, &row(p, c));
        if buf.len() >= CHUNK_BYTES {
            let full = std::mem::replace(&mut buf, Vec::with_capacity(CHUNK_BYTES + 4096));
            open = chunks.blocking_send(full).is_ok();
        }
        open
    });
    if open && !buf.is_empty() && chunks.blocking_send(buf).is_err() {
        streamed
            .fatal
            .get_or_insert(Problem::file("the database stopped the load"));
    }
    streamed
}

fn row<'a>(p: &'a PlannedRecipient, c: &'a Classified) -> RecipientRow<'a> {
    RecipientRow {
        row_number: p.row_number,
        line_number: p.line_number,
        raw_phone: &p.raw_phone,
        phone: match &p.verdict {
            Verdict::Ready(phone) => Some(phone),
            Verdict::Invalid(_) => None,
        },
        state: c.state,
        template_id: p.template_id,
        message: p.message.as_deref(),
        from_number: p.from_number.as_deref(),
        duplicate_of: c.duplicate_of,
        error: c.error.as_deref(),
        body_variables: p.body_variables.as_deref(),
        header_variables: p.header_variables.as_deref(),
        firstname: p.firstname.as_deref(),
        lastname: p.lastname.as_deref(),
    }
}
