//! How a runner is stopped: a graceful stop (stop claiming, let the requests
//! in flight finish and their answers be written, give back what was
//! claimed but not sent) and a hard one on top of it (also stop waiting for
//! an unreachable database). One value carries both, so no part of the
//! engine can hold one signal without the other.

use tokio_util::sync::CancellationToken;

/// The stop signals of one runner; cheap to clone.
#[derive(Debug, Clone)]
pub struct Shutdown {
    hard: CancellationToken,
    /// A child of `hard`: a hard stop is a graceful one too.
    graceful: CancellationToken,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    pub fn new() -> Self {
        let hard = CancellationToken::new();
        Shutdown {
            graceful: hard.child_token(),
            hard,
        }
    }

    /// Stop claiming; finish what is in flight.
    pub fn stop(&self) {
        self.graceful.cancel();
    }

    /// Stop now: give up waiting for the database too.
    pub fn force(&self) {
        self.hard.cancel();
    }

    /// Whether a stop (graceful or hard) was asked for.
    pub fn is_stopping(&self) -> bool {
        self.graceful.is_cancelled()
    }

    /// Resolves when a stop is asked for.
    pub async fn stopping(&self) {
        self.graceful.cancelled().await;
    }

    /// Cancelled on any stop; children of it stop a part of the engine early
    /// (one campaign's dispatcher, a service).
    pub fn graceful(&self) -> &CancellationToken {
        &self.graceful
    }

    /// Cancelled on a hard stop only.
    pub fn hard(&self) -> &CancellationToken {
        &self.hard
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hard_stop_is_a_graceful_one_too() {
        let s = Shutdown::new();
        assert!(!s.is_stopping());
        s.stop();
        assert!(s.is_stopping() && !s.hard().is_cancelled());
        let s = Shutdown::new();
        s.force();
        assert!(s.is_stopping() && s.hard().is_cancelled());
    }
}
