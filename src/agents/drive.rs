//! `drive`: turns "a future that sends events on a channel" into one ordered stream.

use std::future::Future;
use std::task::Poll;

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use tokio::sync::mpsc::UnboundedReceiver;

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
