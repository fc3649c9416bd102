//! The one way the engine waits out a database that is restarting or
//! unreachable: the call is retried with backoff ([`super::reconnect_backoff`])
//! while its error is transient ([`super::is_transient`]), until it succeeds,
//! fails for good, or `cancel` fires.

use std::future::Future;

use backon::Retryable as _;
use tokio_util::sync::CancellationToken;

/// How a retried database call ended.
#[derive(Debug)]
pub enum Retried<T> {
    Done(T),
    /// `cancel` fired first.
    Stopped,
    /// An error retrying cannot fix.
    Failed(sqlx::Error),
}

/// Runs `f` until it succeeds, retrying transient errors; `what` names the
/// call in the log lines.
pub async fn retry<T, F, Fut>(cancel: &CancellationToken, what: &str, f: F) -> Retried<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = sqlx::Result<T>>,
{
    let retried = f
        .retry(super::reconnect_backoff())
        .when(super::is_transient)
        .notify(|err, _| tracing::warn!(error = %err, "{what}: database unavailable; retrying"));
    tokio::select! {
        _ = cancel.cancelled() => Retried::Stopped,
        result = retried => match result {
            Ok(v) => Retried::Done(v),
            Err(err) => Retried::Failed(err),
        },
    }
}
