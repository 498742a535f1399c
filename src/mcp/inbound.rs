//! `Inbound`: the transport wrapper under every upstream session. It does two things rmcp does
//! not do for a proxy:
//!
//! - **Progress, log and task status messages in order.** rmcp hands each notification to its
//!   own spawned task, so `0, 50, 100` can reach the caller as `0, 100, 50`. Here they are taken
//!   off the stream as they arrive and delivered by one task per session, in arrival order, to
//!   the call they belong to; a call waits until everything that arrived before its response
//!   has been delivered (see [`Routes::drain`]).
//! - **Late probe replies dropped.** With `protocol = "auto"` rmcp probes with
//!   `server/discover` and falls back to `initialize` when the probe gets no answer within its
//!   own 10 seconds; a server that is merely slow to start then answers the abandoned probe
//!   first, which rmcp would take as a conflicting `initialize` reply. Once `initialize` is
//!   sent, replies to earlier probes are dropped, so the start-up timeout is the only limit.

use std::borrow::Cow;
use std::sync::Arc;

use rmcp::RoleClient;
use rmcp::model::{
    ClientJsonRpcMessage, GetMeta, RequestId, ServerJsonRpcMessage, ServerNotification,
};
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use tokio::sync::mpsc;
use tokio_util::task::AbortOnDropHandle;

use super::handler::{Attribution, Routes, notification_attribution};
use crate::workbench::TaskUpdate;

/// A 2025-11-25 upstream's task status notification.
const TASK_STATUS: &str = "notifications/tasks/status";

/// A notification taken off the stream for ordered delivery, with its place in the order.
struct Queued {
    seq: u64,
    notification: ServerNotification,
}

/// Wraps an upstream transport (see the module docs).
pub struct Inbound<T> {
    inner: T,
    routes: Arc<Routes>,
    probes: Vec<RequestId>,
    probes_abandoned: bool,
    queue: mpsc::UnboundedSender<Queued>,
    _delivery: AbortOnDropHandle<()>,
}

impl<T> Inbound<T> {
    /// Wrap `inner` for the session whose calls are in `routes`; `server` names it in logs.
    pub fn new(inner: T, routes: Arc<Routes>, server: Arc<str>) -> Self {
        let (queue, pending) = mpsc::unbounded_channel();
        let delivery = tokio::spawn(deliver(pending, Arc::clone(&routes), server));
        Self {
            inner,
            routes,
            probes: Vec::new(),
            probes_abandoned: false,
            queue,
            _delivery: AbortOnDropHandle::new(delivery),
        }
    }

    fn observe_outgoing(&mut self, message: &ClientJsonRpcMessage) {
        if let ClientJsonRpcMessage::Request(request) = message {
            match request.request.method() {
                "server/discover" => self.probes.push(request.id.clone()),
                "initialize" => self.probes_abandoned = !self.probes.is_empty(),
                _ => {}
            }
        }
    }

    /// What to do with one incoming message: `Some` passes it on to rmcp.
    fn take_incoming(&mut self, message: ServerJsonRpcMessage) -> Option<ServerJsonRpcMessage> {
        match message {
            ServerJsonRpcMessage::Notification(n) if ordered(&n.notification) => {
                let seq = self.routes.queued();
                let _ = self.queue.send(Queued {
                    seq,
                    notification: n.notification,
                });
                None
            }
            ServerJsonRpcMessage::Response(ref r) if self.is_late_probe_reply(&r.id) => {
                tracing::debug!("dropped a late reply to an abandoned server/discover probe");
                None
            }
            ServerJsonRpcMessage::Error(ref e)
                if e.id.as_ref().is_some_and(|id| self.is_late_probe_reply(id)) =>
            {
                tracing::debug!("dropped a late error for an abandoned server/discover probe");
                None
            }
            other => {
                if let ServerJsonRpcMessage::Response(r) = &other {
                    self.routes.responded(&r.id);
                } else if let ServerJsonRpcMessage::Error(e) = &other
                    && let Some(id) = &e.id
                {
                    self.routes.responded(id);
                }
                Some(other)
            }
        }
    }

    fn is_late_probe_reply(&self, id: &RequestId) -> bool {
        self.probes_abandoned && self.probes.contains(id)
    }
}

/// Notifications that belong to one call and must reach it in order.
fn ordered(notification: &ServerNotification) -> bool {
    matches!(
        notification,
        ServerNotification::ProgressNotification(_)
            | ServerNotification::LoggingMessageNotification(_)
    ) || matches!(notification, ServerNotification::CustomNotification(n) if n.method == TASK_STATUS)
}

/// The task a 2025-11-25 status notification is about, and what it says.
fn task_status(params: Option<&serde_json::Value>) -> Option<(String, TaskUpdate)> {
    let params = params?;
    let id = params.get("taskId")?.as_str()?.to_string();
    let status = serde_json::from_value(params.get("status")?.clone()).ok()?;
    let message = params
        .get("statusMessage")
        .and_then(serde_json::Value::as_str)
        .map(str::to_string);
    Some((id, TaskUpdate { status, message }))
}

/// Deliver queued notifications one after another, each to the call it belongs to.
async fn deliver(
    mut pending: mpsc::UnboundedReceiver<Queued>,
    routes: Arc<Routes>,
    server: Arc<str>,
) {
    while let Some(Queued { seq, notification }) = pending.recv().await {
        let related = notification_attribution(notification.get_meta());
        match notification {
            ServerNotification::ProgressNotification(n) => {
                let p = n.params;
                let attribution = Attribution::Token(p.progress_token.clone());
                if let Some(observer) = routes.find(&attribution).await {
                    observer.progress(p.progress, p.total, p.message).await;
                }
            }
            ServerNotification::LoggingMessageNotification(n) => {
                match routes.find(&related).await {
                    Some(observer) => observer.log(n.params).await,
                    None => tracing::info!(
                        target: "toolyard::upstream::log",
                        server = %server,
                        level = ?n.params.level,
                        data = %n.params.data,
                        "upstream log message (not tied to a call)"
                    ),
                }
            }
            ServerNotification::CustomNotification(n) => {
                if let Some((task, update)) = task_status(n.params.as_ref())
                    && let Some(observer) = routes.find(&Attribution::Task(task)).await
                {
                    observer.task_status(update).await;
                }
            }
            _ => {}
        }
        routes.delivered(seq);
    }
}

impl<T> Transport<RoleClient> for Inbound<T>
where
    T: Transport<RoleClient>,
{
    type Error = T::Error;

    fn name() -> Cow<'static, str> {
        T::name()
    }

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleClient>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        self.observe_outgoing(&item);
        self.inner.send(item)
    }

    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleClient>> {
        loop {
            let message = self.inner.receive().await?;
            if let Some(message) = self.take_incoming(message) {
                return Some(message);
            }
        }
    }

    fn close(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.inner.close()
    }
}
