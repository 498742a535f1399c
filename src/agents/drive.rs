//! `drive`: turns "a future that sends events on a channel" into one ordered stream.

use std::future::Future;
use std::task::Poll;

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio_util::sync::CancellationToken;

use super::{AgentError, AgentStream, AgentStreamItem, Response};
use crate::messages::AgentMessage;

/// An item of a driven stream: an event sent while working, or the final value.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Driven<T> {
    /// An event the work sent.
    Item(AgentMessage),
    /// The work's result (last).
    Done(T),
}

/// Streams every message `work` sends on the channel of `rx`, then its result. The work runs
/// as the stream is polled; dropping the stream drops (cancels) the work.
pub fn drive<'a, T, E>(
    work: impl Future<Output = Result<T, E>> + Send + 'a,
    mut rx: UnboundedReceiver<AgentMessage>,
) -> BoxStream<'a, Result<Driven<T>, E>>
where
    T: Send + 'a,
    E: Send + 'a,
{
    let mut work: Option<BoxFuture<'a, Result<T, E>>> = Some(Box::pin(work));
    let mut result: Option<Result<T, E>> = None;
    futures::stream::poll_fn(move |cx| {
        loop {
            if let Poll::Ready(Some(m)) = rx.poll_recv(cx) {
                return Poll::Ready(Some(Ok(Driven::Item(m))));
            }
            if let Some(w) = work.as_mut() {
                match w.as_mut().poll(cx) {
                    Poll::Ready(r) => {
                        work = None;
                        result = Some(r);
                        continue;
                    }
                    Poll::Pending => return Poll::Pending,
                }
            }
            return Poll::Ready(result.take().map(|r| r.map(Driven::Done)));
        }
    })
    .boxed()
}

/// Runs one agent turn as an agent stream: `turn` gets the sender for its events and returns
/// the response. Cancelling `cancel` ends the turn with `AgentError::Cancelled`, and an error
/// the cancellation caused (a cancelled model or tool call) is reported as the cancellation.
pub fn drive_turn<'a, F>(
    agent: &str,
    cancel: CancellationToken,
    turn: impl FnOnce(UnboundedSender<AgentMessage>) -> F,
) -> AgentStream<'a>
where
    F: Future<Output = Result<Response, AgentError>> + Send + 'a,
{
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let work = turn(tx);
    let agent = agent.to_string();
    let work = async move {
        let cancelled = || AgentError::Cancelled {
            agent: agent.clone(),
        };
        tokio::select! {
            r = work => r.map_err(|e| if cancel.is_cancelled() { cancelled() } else { e }),
            _ = cancel.cancelled() => Err(cancelled()),
        }
    };
    drive(work, rx)
        .map(|item| {
            item.map(|d| match d {
                Driven::Item(m) => AgentStreamItem::Event(m),
                Driven::Done(r) => AgentStreamItem::Response(r),
            })
        })
        .boxed()
}
