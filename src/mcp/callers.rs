//! `CallerPool`: the upstream sessions of a server with `session = "per_caller"` — one per
//! downstream caller (for stdio, one child process each), started on the caller's first call,
//! capped, and closed as soon as the caller is gone (or after it has been idle too long).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use rmcp::model::ClientCapabilities;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::upstream::{McpWorkbench, PrimaryLink, is_legacy_caller};
use crate::config::{ProtocolPreference, ServerConfig};
use crate::workbench::{CallContext, WorkbenchError};

/// The key used for calls made on nobody's behalf (the CLI, library callers).
const NO_CALLER: &str = "";

struct Entry {
    /// Cancelled when the caller is gone.
    gone: Option<CancellationToken>,
    workbench: McpWorkbench,
    stop: CancellationToken,
    active: Arc<AtomicUsize>,
    last_used: Arc<Mutex<Instant>>,
}

impl Entry {
    fn idle_for(&self) -> Duration {
        self.last_used
            .lock()
            .map(|t| t.elapsed())
            .unwrap_or_default()
    }

    fn reapable(&self, idle: Duration) -> bool {
        if self.active.load(Ordering::Acquire) > 0 {
            return false;
        }
        let gone = self.gone.as_ref().is_some_and(|g| g.is_cancelled());
        gone || self.idle_for() >= idle
    }
}

/// One caller's upstream session, held for the length of a call.
pub struct CallerLease {
    /// The caller's own session.
    pub workbench: McpWorkbench,
    active: Arc<AtomicUsize>,
    last_used: Arc<Mutex<Instant>>,
    release: mpsc::UnboundedSender<CancellationToken>,
}

impl Drop for CallerLease {
    fn drop(&mut self) {
        if let Ok(mut t) = self.last_used.lock() {
            *t = Instant::now();
        }
        self.active.fetch_sub(1, Ordering::AcqRel);
        // A caller that left while its call ran is reaped now that the call is over.
        let now = CancellationToken::new();
        now.cancel();
        let _ = self.release.send(now);
    }
}

/// The per-caller sessions of one upstream server.
pub struct CallerPool {
    config: ServerConfig,
    primary: PrimaryLink,
    shutdown: CancellationToken,
    sessions: Mutex<HashMap<String, Entry>>,
    /// Tells the reaper about a caller to watch (or, already cancelled, to look now).
    watch: mpsc::UnboundedSender<CancellationToken>,
    reaper: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// The server acts for each caller upstream (`grant = "token_exchange"`).
    acts_for_callers: bool,
}

/// What a caller's own session may ask of it: only what the caller itself declared.
fn mirrored(caller: Option<&ClientCapabilities>) -> ClientCapabilities {
    let mut ours = ClientCapabilities::default();
    if let Some(caller) = caller {
        ours.sampling = caller.sampling.clone();
        ours.elicitation = caller.elicitation.clone();
        ours.roots = caller.roots.clone();
    }
    ours
}

impl CallerPool {
    /// An empty pool; its reaper runs until `shutdown` is cancelled.
    pub fn start(
        config: ServerConfig,
        shutdown: CancellationToken,
        primary: PrimaryLink,
    ) -> Arc<Self> {
        let (watch, watched) = mpsc::unbounded_channel();
        let acts_for_callers = config
            .auth
            .as_ref()
            .is_some_and(|a| a.grant == crate::config::UpstreamGrant::TokenExchange);
        let pool = Arc::new(Self {
            acts_for_callers,
            config,
            primary,
            shutdown,
            sessions: Mutex::new(HashMap::new()),
            watch,
            reaper: Mutex::new(None),
        });
        let task = tokio::spawn(reap(Arc::downgrade(&pool), watched, pool.shutdown.clone()));
        if let Ok(mut slot) = pool.reaper.lock() {
            *slot = Some(task);
        }
        pool
    }

    /// How many caller sessions are open.
    pub fn open_sessions(&self) -> usize {
        self.sessions.lock().map(|s| s.len()).unwrap_or_default()
    }

    fn server(&self) -> &str {
        &self.config.name
    }

    fn entry_for(&self, ctx: &CallContext) -> Entry {
        let caller = ctx.caller.session.as_ref();
        tracing::info!(server = %self.config.name, caller = ?caller, "starting a session for a new caller");
        let stop = self.shutdown.child_token();
        let capabilities = mirrored(ctx.caller.capabilities.as_ref());
        // A caller's own session speaks the caller's era when the server may choose.
        let mut config = self.config.clone();
        if config.protocol == ProtocolPreference::Auto && is_legacy_caller(&ctx.caller) {
            config.protocol = ProtocolPreference::Initialize;
        }
        let gone = caller.map(|c| c.gone());
        if let Some(gone) = &gone {
            let _ = self.watch.send(gone.clone());
        }
        Entry {
            gone,
            workbench: McpWorkbench::start_dedicated(
                config,
                stop.clone(),
                capabilities,
                &self.primary,
                ctx.caller.principal.clone(),
            ),
            stop,
            active: Arc::default(),
            last_used: Arc::new(Mutex::new(Instant::now())),
        }
    }

    /// The session of the caller of `ctx`, started (and waited for, up to the server's start-up
    /// timeout) on its first call.
    pub async fn lease(&self, ctx: &CallContext) -> Result<CallerLease, WorkbenchError> {
        let mut key = ctx
            .caller
            .session
            .as_ref()
            .map_or(NO_CALLER, |c| c.key())
            .to_string();
        // A session that acts for its caller upstream (token exchange) is never shared by two
        // principals, even if they came without a session of their own (the CLI, a library),
        // and is not started for a caller who has no token to exchange.
        if self.acts_for_callers {
            match ctx.caller.principal.as_deref() {
                Some(principal) if principal.token().is_some() => {
                    key.push('\u{1f}');
                    key.push_str(&principal.subject);
                }
                _ => {
                    return Err(WorkbenchError::Unavailable {
                        server: self.server().into(),
                        reason: crate::mcp::credentials::CredentialError::NoCallerToken.to_string(),
                    });
                }
            }
        }
        let lease = {
            let mut sessions = self.sessions.lock().map_err(|_| self.poisoned())?;
            if !sessions.contains_key(&key) && sessions.len() >= self.config.caller_sessions.max {
                return Err(WorkbenchError::Unavailable {
                    server: self.server().into(),
                    reason: format!(
                        "it already serves {} callers, its max_callers; try again later",
                        self.config.caller_sessions.max
                    ),
                });
            }
            let entry = sessions.entry(key).or_insert_with(|| self.entry_for(ctx));
            entry.workbench.act_for(ctx.caller.principal.clone());
            entry.active.fetch_add(1, Ordering::AcqRel);
            CallerLease {
                workbench: entry.workbench.clone(),
                active: Arc::clone(&entry.active),
                last_used: Arc::clone(&entry.last_used),
                release: self.watch.clone(),
            }
        };
        let ready = tokio::select! {
            ready = lease.workbench.wait_ready(self.config.startup_timeout) => ready,
            _ = ctx.cancel.cancelled() => return Err(WorkbenchError::Cancelled),
        };
        if !ready {
            let status = lease.workbench.status();
            return Err(WorkbenchError::Unavailable {
                server: self.server().into(),
                reason: status
                    .error
                    .unwrap_or_else(|| "its session for this caller did not start in time".into()),
            });
        }
        Ok(lease)
    }

    fn poisoned(&self) -> WorkbenchError {
        WorkbenchError::Unavailable {
            server: self.server().into(),
            reason: "its caller sessions are unavailable".into(),
        }
    }

    /// Close the sessions whose caller is gone or idle; returns how many were closed.
    pub async fn reap(&self) -> usize {
        let idle = self.config.caller_sessions.idle;
        let closed: Vec<Entry> = match self.sessions.lock() {
            Ok(mut sessions) => {
                let keys: Vec<String> = sessions
                    .iter()
                    .filter(|(_, e)| e.reapable(idle))
                    .map(|(k, _)| k.clone())
                    .collect();
                keys.iter().filter_map(|k| sessions.remove(k)).collect()
            }
            Err(_) => Vec::new(),
        };
        let count = closed.len();
        close(closed).await;
        count
    }

    /// Close every caller session and wait until each has stopped (children gone).
    pub async fn stop(&self) {
        self.shutdown.cancel();
        let task = self.reaper.lock().ok().and_then(|mut t| t.take());
        if let Some(task) = task {
            let _ = task.await;
        }
        let all: Vec<Entry> = self
            .sessions
            .lock()
            .map(|mut s| s.drain().map(|(_, e)| e).collect())
            .unwrap_or_default();
        close(all).await;
    }
}

async fn close(entries: Vec<Entry>) {
    for entry in &entries {
        entry.stop.cancel();
    }
    futures::future::join_all(entries.iter().map(|e| e.workbench.stopped())).await;
}

/// Closes caller sessions as soon as their caller is gone (and, every few seconds, those idle
/// longer than `caller_idle_secs`).
async fn reap(
    pool: Weak<CallerPool>,
    mut watched: mpsc::UnboundedReceiver<CancellationToken>,
    shutdown: CancellationToken,
) {
    let period = match pool.upgrade() {
        Some(p) => (p.config.caller_sessions.idle / 4)
            .clamp(Duration::from_millis(200), Duration::from_secs(5)),
        None => return,
    };
    let mut callers = FuturesUnordered::new();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            Some(gone) = watched.recv() => {
                callers.push(gone.cancelled_owned());
                continue;
            }
            Some(()) = callers.next(), if !callers.is_empty() => {}
            _ = tokio::time::sleep(period) => {}
        }
        let Some(pool) = pool.upgrade() else { return };
        let closed = pool.reap().await;
        if closed > 0 {
            tracing::info!(server = %pool.config.name, closed, "closed caller sessions (caller gone or idle)");
        }
    }
}
