//! Following one run of an agent or team for the call that started it — the one path every
//! team-as-tool takes (a served workbench tool and AutoGen's AgentTool/TeamTool alike): each
//! message to the call's observer as it arrives, optionally as progress and a log line; the
//! caller's cancellation lets the run wind down for a grace period; the result, a failure, or
//! `Cancelled`.

use futures::{Stream, StreamExt};
use rmcp::model::{LoggingLevel, LoggingMessageNotificationParam};
use serde_json::json;

use crate::agents::RunItem;
use crate::messages::{AgentEvent, AgentMessage, TaskResult};
use crate::workbench::CallContext;

/// How long a cancelled run may take to stop before it is dropped.
const CANCEL_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Longest speaker content in a progress message, in characters.
const PROGRESS_CHARS: usize = 200;

/// What the caller hears besides the messages themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reporting {
    /// Only the messages (`CallObserver::agent_message`): a tool inside an agent's run, whose
    /// own run reports.
    Messages,
    /// Also a progress notification and an info log line per message: a tool served over MCP.
    Progress,
}

/// How a followed run ended.
pub(crate) enum Followed {
    Done(TaskResult),
    Cancelled,
    Failed(String),
}

/// Relays a run's messages to the caller until its result (or cancellation).
pub(crate) async fn follow<E: std::fmt::Display>(
    tool: &str,
    stream: impl Stream<Item = Result<RunItem, E>>,
    ctx: &CallContext,
    reporting: Reporting,
) -> Followed {
    let mut stream = std::pin::pin!(stream);
    let mut count = 0u64;
    loop {
        let item = tokio::select! {
            item = stream.next() => item,
            _ = ctx.cancel.cancelled() => {
                // The run's token is a child of the caller's: let it wind down (upstream calls
                // send their own cancellations) before the stream is dropped.
                let drain = async { while stream.next().await.is_some() {} };
                if tokio::time::timeout(CANCEL_GRACE, drain).await.is_err() {
                    tracing::warn!(tool, "run did not stop within the grace period; dropped");
                }
                return Followed::Cancelled;
            }
        };
        match item {
            None => return Followed::Failed("the run ended without a result".into()),
            Some(Err(e)) if ctx.cancel.is_cancelled() => {
                tracing::debug!(tool, error = %e, "run stopped by cancellation");
                return Followed::Cancelled;
            }
            Some(Err(e)) => return Followed::Failed(e.to_string()),
            Some(Ok(RunItem::Result(r))) => return Followed::Done(r),
            Some(Ok(RunItem::Message(m))) => {
                // A caller that is itself an agent (a team calling this team through its
                // gateway view) gets the messages in its own stream, as with a TeamTool.
                ctx.observer.agent_message(m.clone()).await;
                if matches!(
                    m,
                    AgentMessage::Event(AgentEvent::ModelClientStreamingChunkEvent(_))
                ) {
                    continue;
                }
                count += 1;
                if reporting == Reporting::Progress {
                    report(tool, &m, count, ctx).await;
                }
            }
        }
    }
}

/// A one-line form of a message for progress: tool calls as `name(args)`, results as
/// `name → text`, anything else as its text; cut to [`PROGRESS_CHARS`].
fn short_content(message: &AgentMessage) -> String {
    let full = match message {
        AgentMessage::Event(AgentEvent::ToolCallRequestEvent(e)) => e
            .content
            .iter()
            .map(|c| format!("{}({})", c.name, c.arguments))
            .collect::<Vec<_>>()
            .join(", "),
        AgentMessage::Event(AgentEvent::ToolCallExecutionEvent(e)) => e
            .content
            .iter()
            .map(|r| format!("{} → {}", r.name, r.content))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_text(),
    };
    let full = full.replace('\n', " ");
    let short: String = full.chars().take(PROGRESS_CHARS).collect();
    if short.len() < full.len() {
        format!("{short}…")
    } else {
        short
    }
}

async fn report(tool: &str, message: &AgentMessage, count: u64, ctx: &CallContext) {
    let content = message.to_text();
    let short = short_content(message);
    ctx.observer
        .progress(
            count as f64,
            None,
            Some(format!("{}: {short}", message.source())),
        )
        .await;
    ctx.observer
        .log(
            LoggingMessageNotificationParam::new(
                LoggingLevel::Info,
                json!({"source": message.source(), "type": message.type_name(), "content": content}),
            )
            .with_logger(tool),
        )
        .await;
}
