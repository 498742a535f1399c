//! The background reader: reads events, decodes messages, re-opens a dropped stream (with
//! backoff) and replays the handshake on the new connection.

use std::sync::atomic::{AtomicU64, Ordering};

use eventsource_stream::Event;
use futures::StreamExt;
use rmcp::model::ServerJsonRpcMessage;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::mcp::tap::RawTap;
use crate::net::Backoff;

use super::open::resolve_endpoint;
use super::open::{EndpointState, EventStream, Opener};
use super::{Handshake, ReconnectPolicy, SseTransportError, post_json};

/// The background task: reads events, decodes messages, reconnects.
pub(super) struct Reader {
    pub(super) opener: Opener,
    pub(super) handshake: Handshake,
    pub(super) endpoint: watch::Sender<EndpointState>,
    pub(super) incoming: mpsc::Sender<ServerJsonRpcMessage>,
    pub(super) tap: Option<RawTap>,
    pub(super) policy: ReconnectPolicy,
    pub(super) cancel: CancellationToken,
}

/// Whether the reader goes on after an event.
enum Flow {
    Continue,
    Stop,
}

impl Reader {
    pub(super) async fn run(self, mut events: EventStream) {
        loop {
            let next = tokio::select! {
                () = self.cancel.cancelled() => break,
                next = events.next() => next,
            };
            match next {
                Some(Ok(event)) => match self.on_event(event).await {
                    Flow::Continue => continue,
                    Flow::Stop => break,
                },
                Some(Err(error)) => {
                    tracing::warn!(%error, url = %self.opener.url, "SSE stream failed")
                }
                None => tracing::info!(url = %self.opener.url, "SSE stream ended"),
            }
            self.endpoint.send_replace(EndpointState::Reconnecting);
            match self.reconnect().await {
                Some((new_events, endpoint)) => {
                    events = new_events;
                    self.endpoint.send_replace(EndpointState::Ready(endpoint));
                }
                None => break,
            }
        }
        self.endpoint.send_replace(EndpointState::Closed);
        tracing::debug!(url = %self.opener.url, "SSE reader stopped");
    }

    async fn on_event(&self, event: Event) -> Flow {
        match event.event.as_str() {
            "message" | "" => self.on_message(&event.data).await,
            "endpoint" => {
                match resolve_endpoint(&self.opener.url, &event.data) {
                    Ok(url) => {
                        self.endpoint.send_replace(EndpointState::Ready(url));
                    }
                    Err(error) => tracing::warn!(%error, "ignoring a bad endpoint event"),
                }
                Flow::Continue
            }
            other => {
                tracing::debug!(event = other, "ignoring unknown SSE event");
                Flow::Continue
            }
        }
    }

    async fn on_message(&self, data: &str) -> Flow {
        let value: serde_json::Value = match serde_json::from_str(data) {
            Ok(value) => value,
            Err(error) => {
                tracing::warn!(%error, data, "skipping a malformed SSE message");
                return Flow::Continue;
            }
        };
        let items = match value {
            serde_json::Value::Array(items) => items,
            single => vec![single],
        };
        for item in items {
            if let Some(tap) = &self.tap {
                tap(&item);
            }
            let message: ServerJsonRpcMessage = match serde_json::from_value(item) {
                Ok(message) => message,
                Err(error) => {
                    tracing::warn!(%error, "skipping an SSE message that is not JSON-RPC");
                    continue;
                }
            };
            let delivered = tokio::select! {
                () = self.cancel.cancelled() => false,
                sent = self.incoming.send(message) => sent.is_ok(),
            };
            if !delivered {
                return Flow::Stop;
            }
        }
        Flow::Continue
    }

    /// Replay the `initialize` handshake on a new server session, swallowing its response.
    async fn reinitialize(
        &self,
        events: &mut EventStream,
        endpoint: &Url,
    ) -> Result<(), SseTransportError> {
        let Some(params) = self.handshake.params() else {
            return Ok(());
        };
        static REINIT_IDS: AtomicU64 = AtomicU64::new(1);
        let id = format!(
            "toolyard-sse-reinit-{}",
            REINIT_IDS.fetch_add(1, Ordering::Relaxed)
        );
        let request = serde_json::json!({
            "jsonrpc": "2.0", "id": id, "method": "initialize", "params": params,
        });
        self.post_value(endpoint, &request).await?;
        tokio::time::timeout(self.opener.timeout, self.await_response(events, &id))
            .await
            .map_err(|_| SseTransportError::EndpointTimeout {
                url: endpoint.to_string(),
                timeout: self.opener.timeout,
            })??;
        let initialized = serde_json::json!({
            "jsonrpc": "2.0", "method": "notifications/initialized",
        });
        self.post_value(endpoint, &initialized).await
    }

    async fn post_value(
        &self,
        endpoint: &Url,
        value: &serde_json::Value,
    ) -> Result<(), SseTransportError> {
        let body =
            serde_json::to_vec(value).map_err(|source| SseTransportError::Serialize { source })?;
        post_json(&self.opener.http, &self.opener.headers, endpoint, body).await
    }

    /// Read the new stream until the response with `id`; an error response fails the replay.
    async fn await_response(
        &self,
        events: &mut EventStream,
        id: &str,
    ) -> Result<(), SseTransportError> {
        let url = self.opener.url.to_string();
        while let Some(event) = events.next().await {
            let event = event.map_err(|source| SseTransportError::Stream {
                url: url.clone(),
                source,
            })?;
            let Ok(value) = serde_json::from_str::<serde_json::Value>(&event.data) else {
                continue;
            };
            if value["id"] != id {
                tracing::debug!(event = %event.event, "skipping an event during re-initialization");
                continue;
            }
            return match value.get("error") {
                Some(error) => Err(SseTransportError::Reinitialize {
                    url,
                    error: error.to_string(),
                }),
                None => Ok(()),
            };
        }
        Err(SseTransportError::StreamEnded { url })
    }

    async fn reconnect(&self) -> Option<(EventStream, Url)> {
        let backoff = Backoff::new(self.policy.initial_backoff, self.policy.max_backoff);
        for attempt in 1..=self.policy.max_attempts {
            tokio::select! {
                () = self.cancel.cancelled() => return None,
                () = tokio::time::sleep(backoff.delay(attempt - 1)) => {}
            }
            let opened = tokio::select! {
                () = self.cancel.cancelled() => return None,
                opened = self.opener.open() => opened,
            };
            let reinitialized = match opened {
                Ok((mut events, endpoint)) => tokio::select! {
                    () = self.cancel.cancelled() => return None,
                    done = self.reinitialize(&mut events, &endpoint) => done.map(|()| (events, endpoint)),
                },
                Err(error) => Err(error),
            };
            match reinitialized {
                Ok(stream) => {
                    tracing::info!(attempt, endpoint = %stream.1, "SSE stream reconnected");
                    return Some(stream);
                }
                Err(error) => tracing::warn!(attempt, %error, "SSE reconnect failed"),
            }
        }
        tracing::warn!(url = %self.opener.url, "SSE stream could not be re-opened; closing");
        None
    }
}
