//! The `/mcp` face's 2025-era sessions as the face sees them: the cap on how many may be open
//! (`max_sessions`, answered with a clear error), idle expiry (`session_idle_secs`), parking,
//! and what keeps a session alive: a request or stream in progress (a GET stream listening for
//! notifications, a call streaming its answer) keeps it open however long it lasts; only a
//! session with nothing in progress for the idle time ends.
//!
//! Parking: rmcp keeps a worker with its channels for every open session (60–76 KB each). A
//! session with nothing in progress for `park_after` whose state is only what its `initialize`
//! said (no subscriptions, no log level, no tasks: those pin it) gives its worker up and keeps
//! just its `initialize` parameters here, as rmcp's [`SessionStore`]; its next request restores
//! it through rmcp's own restore path (the `initialize` is replayed to a fresh handler), so the
//! client does not notice.
//!
//! Binding: with `[auth]`, a session belongs to the caller whose `initialize` opened it (its
//! owner, [`super::auth::Authenticated::owner`]); [`Sessions::refuses`] tells the face to answer
//! a request of another caller as if the session did not exist.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::session::store::{
    SessionState, SessionStore, SessionStoreError,
};
use tokio_util::sync::CancellationToken;

use crate::telemetry::metrics::SessionTimer;

/// Limits on the sessions of one HTTP app.
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    /// How many sessions may be open at once; an `initialize` beyond it is refused.
    pub max_sessions: usize,
    /// A session with nothing in progress for this long ends (the client gets 404 and starts
    /// a new one, as the spec says).
    pub idle: Duration,
    /// A session with nothing in progress for this long, and nothing but its `initialize` to
    /// remember, is parked (see the module docs).
    pub park_after: Duration,
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self {
            max_sessions: 10_000,
            idle: Duration::from_secs(30 * 60),
            park_after: Duration::from_secs(5 * 60),
        }
    }
}

/// The face's view of rmcp's sessions.
pub struct Sessions {
    manager: Arc<LocalSessionManager>,
    limits: SessionLimits,
    state: Mutex<State>,
    parked: Arc<Parked>,
}

/// The `initialize` parameters of open sessions, by id: what a parked session is restored from.
/// rmcp writes an entry when a session starts and reads it to restore one it does not hold.
#[derive(Default)]
pub struct Parked {
    states: Mutex<HashMap<String, SessionState>>,
}

impl Parked {
    fn states(&self) -> std::sync::MutexGuard<'_, HashMap<String, SessionState>> {
        self.states.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn remove(&self, id: &str) {
        self.states().remove(id);
    }
}

#[async_trait::async_trait]
impl SessionStore for Parked {
    async fn load(&self, session_id: &str) -> Result<Option<SessionState>, SessionStoreError> {
        Ok(self.states().get(session_id).cloned())
    }

    async fn store(&self, session_id: &str, state: &SessionState) -> Result<(), SessionStoreError> {
        self.states().insert(session_id.to_string(), state.clone());
        Ok(())
    }

    async fn delete(&self, session_id: &str) -> Result<(), SessionStoreError> {
        self.remove(session_id);
        Ok(())
    }
}

#[derive(Default)]
struct State {
    /// Open sessions by id.
    open: HashMap<Arc<str>, Seen>,
    /// `initialize` requests admitted and not yet answered (they hold a place under the cap).
    admitting: usize,
}

struct Seen {
    /// When the last request or stream of the session ended (or it started).
    since: Instant,
    /// Requests and streams of the session in progress.
    busy: usize,
    /// It has state beyond its `initialize` (subscriptions, a log level, tasks): never parked.
    pinned: bool,
    /// Its rmcp worker was given up; its next request restores it.
    parked: bool,
    /// The caller that opened it (`None`: no authentication).
    owner: Option<Arc<str>>,
    /// Records the session's duration when it is forgotten (ended, expired, or gone).
    _timer: SessionTimer,
}

/// Why a new session was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooManySessions {
    pub max: usize,
}

impl std::fmt::Display for TooManySessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "too many sessions: this server already holds its limit of {} (max_sessions); \
             end unused sessions with DELETE, or raise max_sessions",
            self.max
        )
    }
}

impl Sessions {
    pub fn new(manager: Arc<LocalSessionManager>, limits: SessionLimits) -> Arc<Self> {
        Arc::new(Self {
            manager,
            limits,
            state: Mutex::new(State::default()),
            parked: Arc::default(),
        })
    }

    /// The store rmcp restores parked sessions from (`StreamableHttpServerConfig::session_store`).
    pub fn store(&self) -> Arc<Parked> {
        Arc::clone(&self.parked)
    }

    /// rmcp's session manager.
    pub fn manager(&self) -> &Arc<LocalSessionManager> {
        &self.manager
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock leaves counts that are still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hold a place for a new session, or refuse it when the cap is reached. The place is kept
    /// until [`Admission::opened`] names the session (or the admission is dropped).
    pub fn admit(self: &Arc<Self>) -> Result<Admission, TooManySessions> {
        let mut state = self.state();
        if state.open.len() + state.admitting >= self.limits.max_sessions {
            return Err(TooManySessions {
                max: self.limits.max_sessions,
            });
        }
        state.admitting += 1;
        Ok(Admission {
            sessions: Arc::clone(self),
        })
    }

    /// Mark a request or stream of session `id` as in progress until the returned guard drops
    /// (a parked session is restored by rmcp when the request reaches it); `pin` when the
    /// request gives the session state beyond its `initialize`. An id the face does not know
    /// gets no guard (rmcp answers it with 404).
    pub fn enter(self: &Arc<Self>, id: &str, pin: bool) -> Option<Busy> {
        let mut state = self.state();
        let key = Arc::clone(state.open.get_key_value(id)?.0);
        let seen = state.open.get_mut(id)?;
        seen.busy += 1;
        seen.parked = false;
        seen.pinned |= pin;
        Some(Busy {
            sessions: Arc::clone(self),
            id: key,
        })
    }

    /// Whether session `id` is open and belongs to another caller than `owner` (a request
    /// naming it must not reach it). An unknown id is not refused here: rmcp answers it.
    pub fn refuses(&self, id: &str, owner: Option<&str>) -> bool {
        self.state()
            .open
            .get(id)
            .is_some_and(|seen| seen.owner.as_deref() != owner)
    }

    /// Forget a session that was ended (DELETE); whether it was open (possibly parked).
    pub fn forget(&self, id: &str) -> bool {
        self.parked.remove(id);
        self.state().open.remove(id).is_some()
    }

    /// How many open sessions are parked.
    pub fn parked(&self) -> usize {
        self.state().open.values().filter(|s| s.parked).count()
    }

    /// How many sessions are open.
    pub fn len(&self) -> usize {
        self.state().open.len()
    }

    /// Whether no session is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// End every session idle for longer than the limit, park the ones idle long enough, and
    /// forget sessions that rmcp ended on its own (a worker that stopped). Returns how many idle
    /// sessions were ended.
    pub async fn sweep(&self) -> usize {
        let live: HashSet<String> = self
            .manager
            .sessions
            .read()
            .await
            .keys()
            .map(|id| id.to_string())
            .collect();
        let ended: Vec<Arc<str>> = {
            let mut state = self.state();
            let ended = state
                .open
                .iter()
                .filter(|(id, seen)| !seen.parked && seen.busy == 0 && !live.contains(&***id))
                .map(|(id, _)| Arc::clone(id))
                .collect::<Vec<_>>();
            for id in &ended {
                state.open.remove(id);
            }
            ended
        };
        for id in &ended {
            self.parked.remove(id);
        }
        let now = Instant::now();
        let idle = self.take_idle(now);
        for id in &idle {
            self.parked.remove(id);
            self.stop_worker(id).await;
            tracing::debug!(session_id = %id, "idle session ended");
        }
        for id in self.take_parkable(now) {
            self.stop_worker(&id).await;
            tracing::trace!(session_id = %id, "idle session parked");
        }
        idle.len()
    }

    /// Stop rmcp's worker of session `id`, if it has one.
    async fn stop_worker(&self, id: &str) {
        let handle = self.manager.sessions.write().await.remove(id);
        if let Some(handle) = handle {
            // An error means its worker had stopped already: it is gone either way.
            let _ = handle.close().await;
        }
    }

    /// Remove and return the sessions with nothing in progress for longer than the limit.
    fn take_idle(&self, now: Instant) -> Vec<Arc<str>> {
        let mut state = self.state();
        let idle: Vec<Arc<str>> = state
            .open
            .iter()
            .filter(|(_, seen)| {
                seen.busy == 0 && now.duration_since(seen.since) >= self.limits.idle
            })
            .map(|(id, _)| Arc::clone(id))
            .collect();
        for id in &idle {
            state.open.remove(id);
        }
        idle
    }

    /// Mark as parked and return the sessions that may give their worker up now.
    fn take_parkable(&self, now: Instant) -> Vec<Arc<str>> {
        let mut state = self.state();
        let mut parkable = Vec::new();
        for (id, seen) in state.open.iter_mut() {
            if !seen.parked
                && !seen.pinned
                && seen.busy == 0
                && now.duration_since(seen.since) >= self.limits.park_after
            {
                seen.parked = true;
                parkable.push(Arc::clone(id));
            }
        }
        parkable
    }

    /// Sweep every so often until `stop` is cancelled or the sessions are dropped (the task
    /// holds them weakly, so it never outlives the app that owns them).
    pub fn expire(self: &Arc<Self>, stop: CancellationToken) -> impl Future<Output = ()> + use<> {
        let shortest = self.limits.idle.min(self.limits.park_after);
        let period = (shortest / 4).clamp(Duration::from_millis(50), Duration::from_secs(60));
        let sessions = Arc::downgrade(self);
        async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        let Some(sessions) = sessions.upgrade() else { return };
                        sessions.sweep().await;
                    }
                    () = stop.cancelled() => return,
                }
            }
        }
    }
}

/// A place held for a session being opened.
pub struct Admission {
    sessions: Arc<Sessions>,
}

impl Admission {
    /// The session opened under id `id` by `owner`.
    pub fn opened(self, id: &str, owner: Option<Arc<str>>) {
        let mut state = self.sessions.state();
        state.open.insert(
            Arc::from(id),
            Seen {
                since: Instant::now(),
                busy: 0,
                pinned: false,
                parked: false,
                owner,
                _timer: SessionTimer::start(),
            },
        );
        // `Drop` gives the place back.
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut state = self.sessions.state();
        state.admitting = state.admitting.saturating_sub(1);
    }
}

/// A request or stream of a session in progress.
pub struct Busy {
    sessions: Arc<Sessions>,
    id: Arc<str>,
}

impl Drop for Busy {
    fn drop(&mut self) {
        let mut state = self.sessions.state();
        if let Some(seen) = state.open.get_mut(&self.id) {
            seen.busy = seen.busy.saturating_sub(1);
            seen.since = Instant::now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sessions(max: usize, idle: Duration) -> Arc<Sessions> {
        Sessions::new(
            Arc::new(LocalSessionManager::default()),
            SessionLimits {
                max_sessions: max,
                idle,
                park_after: Duration::from_secs(3600),
            },
        )
    }

    #[test]
    fn the_cap_counts_open_sessions_and_those_being_opened() {
        let s = sessions(2, Duration::from_secs(60));
        let a = s.admit().expect("first");
        let b = s.admit().expect("second");
        assert_eq!(s.admit().err(), Some(TooManySessions { max: 2 }));
        a.opened("a", None);
        drop(b); // its initialize failed: the place is free again
        let c = s.admit().expect("third");
        c.opened("c", None);
        assert_eq!(s.len(), 2);
        let refused = s.admit().err().expect("refused");
        assert!(refused.to_string().contains("max_sessions"), "{refused}");
        assert!(s.forget("a"));
        assert!(!s.forget("a"));
        assert!(s.admit().is_ok());
    }

    #[test]
    fn a_session_is_refused_to_every_caller_but_its_owner() {
        let s = sessions(10, Duration::from_secs(60));
        s.admit().expect("a").opened("a", Some(Arc::from("alice")));
        s.admit().expect("b").opened("b", None);
        assert!(!s.refuses("a", Some("alice")));
        assert!(s.refuses("a", Some("bob")));
        assert!(s.refuses("a", None));
        assert!(s.refuses("b", Some("alice")));
        assert!(!s.refuses("unknown", Some("bob")));
    }

    #[tokio::test]
    async fn only_sessions_with_nothing_in_progress_expire() {
        let s = sessions(10, Duration::from_millis(20));
        s.admit().expect("a").opened("a", None);
        s.admit().expect("b").opened("b", None);
        let listening = s.enter("b", false).expect("known");
        assert!(s.enter("unknown", false).is_none());
        tokio::time::sleep(Duration::from_millis(40)).await;
        let idle: Vec<String> = s
            .take_idle(Instant::now())
            .iter()
            .map(|id| id.to_string())
            .collect();
        assert_eq!(idle, vec!["a".to_string()], "b has a stream open");
        assert_eq!(s.len(), 1);
        drop(listening);
        // Its stream ended just now: idle from now on, not from when it opened.
        assert!(s.take_idle(Instant::now()).is_empty());
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert_eq!(s.take_idle(Instant::now()).len(), 1);
        assert!(s.is_empty());
    }

    #[test]
    fn pinned_and_busy_sessions_are_not_parked() {
        let s = Sessions::new(
            Arc::new(LocalSessionManager::default()),
            SessionLimits {
                max_sessions: 10,
                idle: Duration::from_secs(3600),
                park_after: Duration::ZERO,
            },
        );
        for id in ["plain", "subscribed", "busy"] {
            s.admit().expect(id).opened(id, None);
        }
        drop(s.enter("subscribed", true));
        let _busy = s.enter("busy", false);
        let parked: Vec<String> = s
            .take_parkable(Instant::now())
            .iter()
            .map(|id| id.to_string())
            .collect();
        assert_eq!(parked, vec!["plain".to_string()]);
        assert_eq!(s.parked(), 1);
        // Its next request un-parks it (rmcp restores the worker); it is counted as open all
        // along.
        drop(s.enter("plain", false));
        assert_eq!((s.parked(), s.len()), (0, 3));
    }
}
