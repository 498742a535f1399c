//! Change notifications to downstream clients: per 2025-era session (list_changed, resource
//! updates for its subscriptions) and per 2026-07-28 `subscriptions/listen` stream.

use std::sync::{Mutex, Weak};

use rmcp::model::{ResourceUpdatedNotificationParam, SubscriptionFilter};
use rmcp::service::SubscriptionContext;
use rmcp::{Peer, RoleServer};
use tokio::sync::broadcast;

use crate::workbench::{CallerInfo, Workbench, WorkbenchChange};

/// Receive the next change; a lagging receiver is told "tools changed" (the safe superset).
async fn next_change(
    changes: &mut broadcast::Receiver<WorkbenchChange>,
) -> Option<WorkbenchChange> {
    match changes.recv().await {
        Ok(c) => Some(c),
        Err(broadcast::error::RecvError::Lagged(_)) => Some(WorkbenchChange::Tools),
        Err(broadcast::error::RecvError::Closed) => None,
    }
}

/// Forward workbench changes to one 2025-era session until it closes.
pub async fn notify_session(
    peer: Peer<RoleServer>,
    mut changes: broadcast::Receiver<WorkbenchChange>,
    subscriptions: Weak<Mutex<Vec<String>>>,
) {
    while let Some(change) = next_change(&mut changes).await {
        if peer.is_transport_closed() {
            return;
        }
        let sent = match change {
            WorkbenchChange::Tools => peer.notify_tool_list_changed().await,
            WorkbenchChange::Resources => peer.notify_resource_list_changed().await,
            WorkbenchChange::Prompts => peer.notify_prompt_list_changed().await,
            WorkbenchChange::ResourceUpdated(uri) => {
                let subscribed = subscriptions
                    .upgrade()
                    .and_then(|s| s.lock().ok().map(|v| v.contains(&uri)))
                    .unwrap_or(false);
                if !subscribed {
                    continue;
                }
                peer.notify_resource_updated(ResourceUpdatedNotificationParam::new(uri))
                    .await
            }
            WorkbenchChange::Health => continue,
        };
        if sent.is_err() {
            return;
        }
    }
}

/// Serve one 2026-07-28 `subscriptions/listen` stream until it is cancelled.
pub async fn listen(workbench: &dyn Workbench, context: SubscriptionContext, caller: &CallerInfo) {
    let Some(mut changes) = workbench.changes() else {
        context.cancelled().await;
        return;
    };
    let accepted: SubscriptionFilter = context.accepted().clone();
    let uris = accepted.resource_subscriptions.clone().unwrap_or_default();
    for uri in &uris {
        if let Err(e) = workbench.subscribe_resource(uri, caller).await {
            tracing::warn!(uri = %uri, error = %e, "upstream resource subscription failed");
        }
    }
    let wants = |flag: Option<bool>| flag == Some(true);
    loop {
        let change = tokio::select! {
            _ = context.cancelled() => break,
            c = next_change(&mut changes) => c,
        };
        let Some(change) = change else { break };
        let sink = context.sink();
        let sent = match change {
            WorkbenchChange::Tools if wants(accepted.tools_list_changed) => {
                sink.notify_tool_list_changed().await
            }
            WorkbenchChange::Prompts if wants(accepted.prompts_list_changed) => {
                sink.notify_prompt_list_changed().await
            }
            WorkbenchChange::Resources if wants(accepted.resources_list_changed) => {
                sink.notify_resource_list_changed().await
            }
            WorkbenchChange::ResourceUpdated(uri) if uris.contains(&uri) => {
                sink.notify_resource_updated(uri).await
            }
            _ => Ok(()),
        };
        if sent.is_err() {
            break;
        }
    }
    for uri in &uris {
        let _ = workbench.unsubscribe_resource(uri, caller).await;
    }
}
