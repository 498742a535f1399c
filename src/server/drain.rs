//! Graceful stop of the calls a server is running, on every face: once stopping, new calls are
//! refused; the calls in flight get a grace period to finish; the ones still running after it
//! are answered with a JSON-RPC error (`-32603 server shutting down`) instead of being cut.

use std::sync::Arc;
use std::time::Duration;

use rmcp::ErrorData;
use tokio::sync::watch;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

/// How long the calls answered at the end of the grace period get to send that answer.
const ANSWER_WAIT: Duration = Duration::from_secs(5);

/// The message of the error a call gets when the server stops under it.
pub const SHUTTING_DOWN: &str = "server shutting down";

/// The JSON-RPC error for a call refused or ended by a stop (`-32603`).
pub fn shutting_down() -> ErrorData {
    ErrorData::internal_error(SHUTTING_DOWN, None)
}

/// Counts the work in flight and carries the stop: shared by every session of one server.
#[derive(Clone)]
pub struct Drain {
    inner: Arc<Inner>,
}

struct Inner {
    /// Cancelled when the stop begins: no new calls, no new sessions.
    stopping: CancellationToken,
    /// Cancelled when the grace period is over: calls still running answer with an error.
    expired: CancellationToken,
    /// Calls (and call responses being written) in flight.
    in_flight: watch::Sender<usize>,
}

impl Default for Drain {
    fn default() -> Self {
        Self {
            inner: Arc::new(Inner {
                stopping: CancellationToken::new(),
                expired: CancellationToken::new(),
                in_flight: watch::Sender::new(0),
            }),
        }
    }
}

impl std::fmt::Debug for Drain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Drain")
            .field("stopping", &self.is_stopping())
            .field("in_flight", &*self.inner.in_flight.borrow())
            .finish()
    }
}

/// One unit of work in flight; dropping it ends it.
#[must_use = "the work counts as in flight only while this is held"]
pub struct InFlight {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for InFlight {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InFlight")
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.inner
            .in_flight
            .send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// How a stop went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// Every call finished within the grace period.
    Finished,
    /// The grace period ran out; this many calls were answered with an error.
    Expired {
        /// Calls still running when the grace period ended.
        answered: usize,
    },
}

impl Drain {
    /// Count one new call as in flight; `None` once the stop has begun (refuse the call).
    pub fn enter(&self) -> Option<InFlight> {
        // Count first, then look: a stop that began meanwhile either sees this call or is seen.
        let guard = self.track();
        (!self.is_stopping()).then_some(guard)
    }

    /// Count work that is already accepted (e.g. a call's response still being written) as in
    /// flight, even during the stop.
    pub fn track(&self) -> InFlight {
        self.inner.in_flight.send_modify(|n| *n += 1);
        InFlight {
            inner: Arc::clone(&self.inner),
        }
    }

    /// Whether the stop has begun.
    pub fn is_stopping(&self) -> bool {
        self.inner.stopping.is_cancelled()
    }

    /// A token cancelled when the stop begins (e.g. to refuse new sessions).
    pub fn stopping_token(&self) -> CancellationToken {
        self.inner.stopping.clone()
    }

    /// Resolves when the grace period is over: a running call answers with [`shutting_down`].
    pub fn expired(&self) -> WaitForCancellationFutureOwned {
        self.inner.expired.clone().cancelled_owned()
    }

    /// Begin the stop and wait until nothing is in flight, at most `grace`; then end the calls
    /// still running (each answers with [`shutting_down`]) and give them a moment to answer.
    pub async fn stop(&self, grace: Duration) -> Stopped {
        self.inner.stopping.cancel();
        let mut count = self.inner.in_flight.subscribe();
        if tokio::time::timeout(grace, count.wait_for(|n| *n == 0))
            .await
            .is_ok()
        {
            return Stopped::Finished;
        }
        let answered = *count.borrow();
        self.inner.expired.cancel();
        if tokio::time::timeout(ANSWER_WAIT, count.wait_for(|n| *n == 0))
            .await
            .is_err()
        {
            tracing::warn!("calls still in flight after they were told to stop");
        }
        Stopped::Expired { answered }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn calls_are_refused_once_stopping_and_the_stop_waits_for_running_ones() {
        let drain = Drain::default();
        let running = drain.enter().expect("admitted before the stop");
        let stopper = drain.clone();
        let stop = tokio::spawn(async move { stopper.stop(Duration::from_secs(60)).await });
        drain.stopping_token().cancelled().await;
        assert!(
            drain.enter().is_none(),
            "a new call is refused during the stop"
        );
        let writing = drain.track();
        drop(running);
        drop(writing);
        assert_eq!(stop.await.expect("stop task"), Stopped::Finished);
    }

    #[tokio::test]
    async fn calls_still_running_after_the_grace_are_told_to_answer() {
        let drain = Drain::default();
        let running = drain.enter().expect("admitted");
        let expired = drain.expired();
        let call = tokio::spawn(async move {
            expired.await;
            drop(running);
        });
        let stopped = drain.stop(Duration::from_millis(10)).await;
        assert_eq!(stopped, Stopped::Expired { answered: 1 });
        call.await.expect("call task");
    }
}
