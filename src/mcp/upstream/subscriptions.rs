//! Resource subscriptions on one upstream session, counted per URI so that one downstream
//! session's unsubscribe never ends another's: `resources/subscribe` on a 2025-era session, a
//! `subscriptions/listen` stream (opened in the background, since an upstream may acknowledge
//! it late or never) on a 2026-07-28 one. Updates go out as `WorkbenchChange::ResourceUpdated`.

use std::collections::HashMap;
use std::sync::Mutex;

use rmcp::model::{
    ServerNotification, SubscribeRequestParams, SubscriptionFilter, UnsubscribeRequestParams,
};
use rmcp::{Peer, RoleClient};
use tokio::sync::broadcast;
use tokio_util::task::AbortOnDropHandle;

use super::McpWorkbench;
use super::request::is_modern;
use crate::workbench::{WorkbenchChange, WorkbenchError};

struct Subscription {
    count: usize,
    /// The `subscriptions/listen` forwarder (2026-07-28 upstreams); dropping it ends the stream.
    listen: Option<AbortOnDropHandle<()>>,
}

/// The URIs subscribed on one session, with how many downstream subscribers each has.
#[derive(Default)]
pub struct Subscriptions {
    by_uri: Mutex<HashMap<String, Subscription>>,
}

impl Subscriptions {
    /// Count one more subscriber; `true` when it is the first (the upstream must be told).
    fn add(&self, uri: &str) -> bool {
        let mut map = self.by_uri.lock().unwrap_or_else(|p| p.into_inner());
        let entry = map.entry(uri.to_string()).or_insert(Subscription {
            count: 0,
            listen: None,
        });
        entry.count += 1;
        entry.count == 1
    }

    /// Count one subscriber less; the entry when it was the last.
    fn remove(&self, uri: &str) -> Option<Subscription> {
        let mut map = self.by_uri.lock().unwrap_or_else(|p| p.into_inner());
        let entry = map.get_mut(uri)?;
        entry.count = entry.count.saturating_sub(1);
        if entry.count == 0 {
            map.remove(uri)
        } else {
            None
        }
    }

    fn set_listen(&self, uri: &str, task: AbortOnDropHandle<()>) {
        let mut map = self.by_uri.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = map.get_mut(uri) {
            entry.listen = Some(task);
        }
    }
}

/// Forward one upstream `subscriptions/listen` stream's resource updates.
async fn listen(peer: Peer<RoleClient>, uri: String, changes: broadcast::Sender<WorkbenchChange>) {
    let mut filter = SubscriptionFilter::new();
    filter.resource_subscriptions = Some(vec![uri.clone()]);
    let mut subscription = match peer.listen(filter).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(uri = %uri, error = %e, "upstream subscriptions/listen failed");
            return;
        }
    };
    while let Ok(Some(notification)) = subscription.next().await {
        if let ServerNotification::ResourceUpdatedNotification(n) = notification {
            let _ = changes.send(WorkbenchChange::ResourceUpdated(n.params.uri));
        }
    }
}

impl McpWorkbench {
    /// Subscribe to `uri` on this session (the upstream is told on the first subscriber).
    pub(super) async fn subscribe_here(&self, uri: &str) -> Result<(), WorkbenchError> {
        if !self.subscriptions.add(uri) {
            return Ok(());
        }
        let told = async {
            let peer = self.peer()?;
            if is_modern(&peer) {
                let task = tokio::spawn(listen(peer, uri.to_string(), self.inner.changes.clone()));
                self.subscriptions
                    .set_listen(uri, AbortOnDropHandle::new(task));
                return Ok(());
            }
            peer.subscribe(SubscribeRequestParams::new(uri))
                .await
                .map_err(|e| self.map_err("resources/subscribe".into(), e))
        };
        let outcome = told.await;
        if outcome.is_err() {
            self.subscriptions.remove(uri);
        }
        outcome
    }

    /// Unsubscribe one subscriber of `uri` (the upstream is told when it was the last).
    pub(super) async fn unsubscribe_here(&self, uri: &str) -> Result<(), WorkbenchError> {
        let Some(last) = self.subscriptions.remove(uri) else {
            return Ok(());
        };
        if last.listen.is_some() {
            // Dropping the forwarder drops the subscription, which cancels the listen upstream.
            return Ok(());
        }
        let peer = self.peer()?;
        peer.unsubscribe(UnsubscribeRequestParams::new(uri))
            .await
            .map_err(|e| self.map_err("resources/unsubscribe".into(), e))
    }
}
