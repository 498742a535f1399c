//! `Expiry`: one sweeper task per store that hands back each key when its time is up (a
//! `DelayQueue`), instead of a sleeping task per parked run or per task. The sweeper starts
//! with the first key and stops with the store.

use std::sync::OnceLock;
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_util::task::AbortOnDropHandle;
use tokio_util::time::DelayQueue;
use tracing::Instrument;

type OnExpiry = Box<dyn Fn(String) + Send + Sync>;

/// Keys with deadlines; when one passes, `on_expiry` is called with its key.
pub struct Expiry {
    started: OnceLock<Sweeper>,
}

/// The running sweeper: where new keys go, and its task (stopped when the store goes).
struct Sweeper {
    keys: mpsc::UnboundedSender<(String, Duration)>,
    _task: AbortOnDropHandle<()>,
}

impl Expiry {
    /// No keys yet.
    pub const fn new() -> Self {
        Self {
            started: OnceLock::new(),
        }
    }

    /// Hand `key` to `on_expiry` once `ttl` has passed (`on_expiry` is fixed by the first call:
    /// every call of one store passes the same one).
    pub fn after(&self, key: String, ttl: Duration, on_expiry: impl FnOnce() -> OnExpiry) {
        let sweeper = self.started.get_or_init(|| {
            let (keys, received) = mpsc::unbounded_channel();
            let task = tokio::spawn(
                sweep(received, on_expiry()).instrument(tracing::info_span!("expiry_sweeper")),
            );
            Sweeper {
                keys,
                _task: AbortOnDropHandle::new(task),
            }
        });
        let _ = sweeper.keys.send((key, ttl));
    }
}

impl Default for Expiry {
    fn default() -> Self {
        Self::new()
    }
}

async fn sweep(mut keys: mpsc::UnboundedReceiver<(String, Duration)>, on_expiry: OnExpiry) {
    let mut queue = DelayQueue::new();
    loop {
        tokio::select! {
            key = keys.recv() => match key {
                Some((key, ttl)) => {
                    queue.insert(key, ttl);
                }
                None => return,
            },
            Some(expired) = queue.next(), if !queue.is_empty() => on_expiry(expired.into_inner()),
        }
    }
}
