//! Multi-round-trip calls for 2026-07-28 callers, who cannot be sent server→client requests:
//! input requests raised during a call (by a 2026 upstream's `input_required`, or a 2025
//! upstream's sampling/elicitation) end the round as an `input_required` result; the call waits,
//! parked here under a `requestState` token, until the caller's retry brings the answers.
//! Parked calls expire after [`PENDING_TTL`] (one sweeper for the store, see [`Expiry`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::ErrorData;
use rmcp::model::{InputRequests, InputRequiredResult};

use super::driver::CallHandle;
use super::expiry::Expiry;
use super::parked::ParkedInput;

/// How long a call may wait for its caller to come back with answers.
const PENDING_TTL: Duration = Duration::from_secs(600);

/// A call waiting for its caller: its driver and its questions.
struct Paused {
    handle: CallHandle,
    input: ParkedInput,
}

#[derive(Default)]
struct Pending {
    runs: Mutex<HashMap<String, Paused>>,
    expiry: Expiry,
}

/// Calls waiting for their caller's answers, by `requestState` token (shared by every
/// session: 2026-07-28 callers are sessionless).
#[derive(Clone, Default)]
pub struct PendingRuns {
    inner: Arc<Pending>,
}

impl PendingRuns {
    /// Park a call until its caller retries; returns the `requestState` token. A call whose
    /// caller never comes back is cancelled when its time is up.
    pub fn park(&self, handle: CallHandle, input: ParkedInput) -> String {
        let token = uuid::Uuid::new_v4().simple().to_string();
        if let Ok(mut runs) = self.inner.runs.lock() {
            runs.insert(token.clone(), Paused { handle, input });
        }
        let pending = Arc::downgrade(&self.inner);
        self.inner.expiry.after(token.clone(), PENDING_TTL, || {
            Box::new(move |token| {
                let expired = pending
                    .upgrade()
                    .and_then(|p| p.runs.lock().ok().and_then(|mut r| r.remove(&token)));
                if expired.is_some() {
                    tracing::info!("a parked call expired; cancelled");
                }
                // Dropping its handle cancels the call.
                drop(expired);
            })
        });
        token
    }

    /// Take the call a retry names.
    pub fn resume(&self, token: &str) -> Result<(CallHandle, ParkedInput), ErrorData> {
        self.inner
            .runs
            .lock()
            .ok()
            .and_then(|mut r| r.remove(token))
            .map(|p| (p.handle, p.input))
            .ok_or_else(|| {
                ErrorData::invalid_params(
                    "requestState does not name a pending request (it finished, expired, was altered or never issued)",
                    None,
                )
            })
    }
}

/// The `input_required` result for a parked call.
pub fn input_required(requests: InputRequests, token: String) -> InputRequiredResult {
    InputRequiredResult::new(Some(requests), Some(token))
}
