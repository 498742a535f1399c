//! Drives a provider's SSE response into a `ChatStream`: cancellation, idle timeout, end marker.

use std::time::Duration;

use eventsource_stream::Eventsource;
use futures::StreamExt;
use reqwest::RequestBuilder;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::client::{ChatStream, StreamItem};
use super::error::ModelError;
use super::http::{Exchange, HttpCore};
use super::types::CreateResult;

/// What feeding one event produced.
#[derive(Default)]
pub(crate) struct Feed {
    /// Items to pass on to the caller.
    pub items: Vec<StreamItem>,
    /// The provider's end marker was seen.
    pub done: bool,
}

/// A provider-specific assembler of streamed events into a final result.
pub(crate) trait SseAssembler: Send + 'static {
    /// Feeds one SSE event (event name, data).
    fn feed(&mut self, event: &str, data: &str) -> Result<Feed, ModelError>;
    /// Builds the final result once the end marker was seen.
    fn finish(self: Box<Self>) -> Result<CreateResult, ModelError>;
}

/// Post-processing of the final result (validation, usage bookkeeping).
pub(crate) type Finisher = Box<dyn FnOnce(CreateResult) -> Result<CreateResult, ModelError> + Send>;

/// Opens the request (with retries) and streams its events through `assembler`.
pub(crate) fn spawn_stream<B>(
    core: HttpCore,
    build: B,
    assembler: Box<dyn SseAssembler>,
    finisher: Finisher,
    cancel: CancellationToken,
) -> ChatStream
where
    B: Fn(&reqwest::Client) -> RequestBuilder + Send + Sync + 'static,
{
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        let outcome = pump(&core, build, assembler, finisher, &cancel, &tx).await;
        if let Err(e) = outcome {
            let _ = tx.send(Err(e)).await;
        }
    });
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
}

type Tx = mpsc::Sender<Result<StreamItem, ModelError>>;

async fn pump<B>(
    core: &HttpCore,
    build: B,
    mut assembler: Box<dyn SseAssembler>,
    finisher: Finisher,
    cancel: &CancellationToken,
    tx: &Tx,
) -> Result<(), ModelError>
where
    B: Fn(&reqwest::Client) -> RequestBuilder,
{
    let response = match core.send(build, true, cancel).await? {
        Exchange::Stream(r) => r,
        Exchange::Body(_) => return Err(core.invalid("expected a streamed response")),
    };
    let mut events = response.bytes_stream().eventsource();
    // One idle timer for the whole stream, pushed back lazily (no timer work per event).
    let idle = core
        .timeout
        .unwrap_or(Duration::from_secs(60 * 60 * 24 * 365));
    let mut last_event = Instant::now();
    let timer = tokio::time::sleep_until(last_event + idle);
    tokio::pin!(timer);
    loop {
        let next = tokio::select! {
            _ = cancel.cancelled() => return Err(core.cancelled()),
            _ = tx.closed() => return Ok(()),
            n = events.next() => n,
            _ = &mut timer => {
                if last_event.elapsed() >= idle {
                    return Err(core.timed_out(idle));
                }
                timer.as_mut().reset(last_event + idle);
                continue;
            }
        };
        last_event = Instant::now();
        let event = match next {
            None => return Err(core.broken("the stream ended without its end marker")),
            Some(Err(e)) => return Err(core.broken(e.to_string())),
            Some(Ok(event)) => event,
        };
        let feed = assembler.feed(&event.event, &event.data)?;
        for item in feed.items {
            if tx.send(Ok(item)).await.is_err() {
                return Ok(());
            }
        }
        if feed.done {
            let result = finisher(assembler.finish()?)?;
            let _ = tx.send(Ok(StreamItem::Done(result))).await;
            return Ok(());
        }
    }
}
