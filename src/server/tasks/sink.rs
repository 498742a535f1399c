//! `TaskSink`: where the events of a call that runs as a task go, as its driver hands them
//! over one at a time — the task's entry (questions parked for `tasks/update`, status, the
//! ending) and, for a 2025-era task, the creating session (progress, logs, questions, and
//! `notifications/tasks/status`, all sent by the driver in the order they happened).

use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use rmcp::ErrorData;
use rmcp::model::{
    CallToolResult, CustomNotification, InputRequests, InputResponses, ServerNotification,
};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use super::store::TaskLink;
use super::wire::Ending;
use crate::server::observer::CallEvent;
use crate::server::parked::ParkedInput;
use crate::server::relay::StreamRelay;
use crate::workbench::{RemoteTaskHandle, WorkbenchError};

/// The 2025-11-25 status notification.
const STATUS_NOTIFICATION: &str = "notifications/tasks/status";

/// A task's side of its driver.
pub struct TaskSink {
    link: TaskLink,
    /// The creating session (2025-era tasks).
    session: Option<StreamRelay>,
    /// Whether the session was told how the task ended.
    told_end: bool,
}

impl TaskSink {
    pub(super) fn new(link: TaskLink, session: Option<StreamRelay>) -> Self {
        Self {
            link,
            session,
            told_end: false,
        }
    }

    /// For a task forwarded to another server: where to ask about it.
    pub fn set_remote(&mut self, remote: Option<Arc<dyn RemoteTaskHandle>>) {
        if let Some(remote) = remote {
            tracing::info!(task = %self.link.id(), server = %remote.server(), "task forwarded");
            self.link.with(|e| e.remote = Some(remote));
        }
    }

    /// Progress and logs (to a 2025 session; 2026 callers are not streamed to after the task
    /// handle was returned), and status changes of a forwarded task.
    pub async fn tell(&mut self, event: CallEvent) {
        match event {
            CallEvent::Status(update) => {
                let changed = self
                    .link
                    .with(|e| e.mirror(update).then(|| e.legacy()))
                    .flatten();
                if let Some(task) = changed {
                    self.notify(task).await;
                }
            }
            notice => {
                if let Some(session) = &self.session {
                    session.tell(notice).await;
                }
            }
        }
    }

    /// Questions: asked of a 2025 session (the task shows `input_required` meanwhile), or
    /// parked for `tasks/update`.
    pub fn ask(
        &mut self,
        requests: InputRequests,
        reply: oneshot::Sender<Result<InputResponses, ErrorData>>,
        withdrawn: CancellationToken,
    ) -> Option<BoxFuture<'static, ()>> {
        let Some(session) = &self.session else {
            self.link
                .with(|e| e.park(|rename| ParkedInput::renamed(requests, reply, rename)));
            return None;
        };
        self.link.with(|e| {
            e.asking += 1;
            e.touch();
        });
        let asked = session.ask(requests, reply, withdrawn);
        let link = self.link.clone();
        Some(
            async move {
                asked.await;
                link.with(|e| {
                    e.asking = e.asking.saturating_sub(1);
                    e.touch();
                });
            }
            .boxed(),
        )
    }

    /// The task's run was cancelled: a task cancelled by its caller is told so at once.
    pub async fn cancelled(&mut self) {
        let ended = self
            .link
            .with(|e| e.ending.is_some().then(|| e.legacy()))
            .flatten();
        if let Some(task) = ended {
            self.tell_end(task).await;
        }
    }

    /// The run ended with `output` (`cancelled`: its token had fired).
    pub async fn finish(
        &mut self,
        output: Result<CallToolResult, WorkbenchError>,
        cancelled: bool,
    ) {
        let ending = if cancelled {
            Ending::Cancelled
        } else {
            Ending::of(output)
        };
        let task = self.link.with(|e| {
            e.finish(ending);
            e.detach_run();
            e.legacy()
        });
        tracing::info!(task = %self.link.id(), "task ended");
        if let Some(task) = task {
            self.tell_end(task).await;
        }
    }

    async fn tell_end(&mut self, task: Value) {
        if !self.told_end {
            self.told_end = true;
            self.notify(task).await;
        }
    }

    /// A 2025-era `notifications/tasks/status` to the owning session.
    async fn notify(&self, task: Value) {
        let Some(session) = &self.session else {
            return;
        };
        let notification = CustomNotification::new(STATUS_NOTIFICATION, Some(task));
        let _ = session
            .context
            .peer
            .send_notification(ServerNotification::CustomNotification(notification))
            .await;
    }
}
