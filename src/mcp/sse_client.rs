//! Legacy HTTP+SSE client transport (MCP 2024-11-05 style) as an rmcp `Transport<RoleClient>`.
//!
//! `GET` the SSE URL, wait for the `endpoint` event, then `POST` every outgoing JSON-RPC message to
//! that endpoint and yield every `message` event as an incoming message. A background task reads
//! the stream and reconnects (bounded, with backoff) when it drops. A legacy server keys its session
//! on the SSE connection, so after a reconnect the transport replays the `initialize` handshake it
//! saw (swallowing the response) before further messages go to the new endpoint.

use std::{
    fmt,
    pin::Pin,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use eventsource_stream::{Event, EventStreamError, Eventsource};
use futures::{Stream, StreamExt};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use rmcp::{
    RoleClient,
    model::{ClientJsonRpcMessage, ServerJsonRpcMessage},
    transport::Transport,
};
use tokio::{
    sync::{mpsc, watch},
    task::JoinHandle,
};
use tokio_util::sync::{CancellationToken, DropGuard};
use tracing::Instrument;
use url::Url;

use crate::mcp::tap::RawTap;
use crate::net::Backoff;

/// How many incoming messages may wait for `receive` before the reader pauses.
const INCOMING_BUFFER: usize = 64;

/// Settings for [`SseClientTransport::connect`].
#[derive(Clone)]
pub struct SseClientConfig {
    /// The SSE URL (`GET` opens the event stream).
    pub url: String,
    /// Extra headers sent with the `GET` and every `POST` (e.g. `Authorization`).
    pub headers: HeaderMap,
    /// Bound on opening the stream and receiving the `endpoint` event.
    pub connect_timeout: Duration,
    /// Called with every incoming message as raw JSON, before typed decoding.
    pub raw_tap: Option<RawTap>,
    /// What to do when the event stream drops.
    pub reconnect: ReconnectPolicy,
}

impl SseClientConfig {
    /// A config for `url` with no extra headers, a 30 s connect timeout and default reconnects.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            headers: HeaderMap::new(),
            connect_timeout: Duration::from_secs(30),
            raw_tap: None,
            reconnect: ReconnectPolicy::default(),
        }
    }
}

impl fmt::Debug for SseClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseClientConfig")
            .field("url", &self.url)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("connect_timeout", &self.connect_timeout)
            .field("raw_tap", &self.raw_tap.is_some())
            .field("reconnect", &self.reconnect)
            .finish()
    }
}

/// Bounded exponential backoff for re-opening a dropped event stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconnectPolicy {
    /// Attempts after a drop before the transport closes (0 disables reconnecting).
    pub max_attempts: u32,
    /// Delay before the first attempt; doubled after each failure.
    pub initial_backoff: Duration,
    /// Upper bound on the delay between attempts.
    pub max_backoff: Duration,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// Errors of the legacy SSE client transport.
#[derive(Debug, thiserror::Error)]
pub enum SseTransportError {
    /// The configured SSE URL does not parse.
    #[error("invalid SSE url {url:?}")]
    InvalidUrl {
        url: String,
        #[source]
        source: url::ParseError,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client")]
    HttpClient {
        #[source]
        source: reqwest::Error,
    },
    /// The `GET` of the SSE URL failed before a response.
    #[error("cannot open SSE stream {url}")]
    Connect {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// The `GET` of the SSE URL returned a non-success status.
    #[error("SSE stream {url} answered {status}: {body}")]
    SseStatus {
        url: String,
        status: StatusCode,
        body: String,
    },
    /// The event stream failed while waiting for the `endpoint` event.
    #[error("SSE stream {url} failed")]
    Stream {
        url: String,
        #[source]
        source: EventStreamError<reqwest::Error>,
    },
    /// The event stream ended before the `endpoint` event.
    #[error("SSE stream {url} ended before the endpoint event")]
    StreamEnded { url: String },
    /// No `endpoint` event arrived in time.
    #[error("no endpoint event from {url} within {timeout:?}")]
    EndpointTimeout { url: String, timeout: Duration },
    /// The `endpoint` event data is not a URL.
    #[error("invalid endpoint {endpoint:?} from {url}")]
    InvalidEndpoint {
        url: String,
        endpoint: String,
        #[source]
        source: url::ParseError,
    },
    /// The `endpoint` event points at another origin than the SSE URL.
    #[error("endpoint {endpoint} is not on the origin of {url}")]
    CrossOriginEndpoint { url: String, endpoint: String },
    /// An outgoing message could not be serialized.
    #[error("cannot serialize an outgoing message")]
    Serialize {
        #[source]
        source: serde_json::Error,
    },
    /// The `POST` of a message failed before a response.
    #[error("cannot post a message to {endpoint}")]
    Post {
        endpoint: String,
        #[source]
        source: reqwest::Error,
    },
    /// The `POST` of a message returned a non-success status.
    #[error("posting to {endpoint} answered {status}: {body}")]
    PostStatus {
        endpoint: String,
        status: StatusCode,
        body: String,
    },
    /// The server rejected the replayed `initialize` after a reconnect.
    #[error("re-initializing after reconnecting to {url} failed: {error}")]
    Reinitialize { url: String, error: String },
    /// The transport is closed (closed locally or the stream could not be re-opened).
    #[error("the SSE transport is closed")]
    Closed,
}

type EventStream =
    Pin<Box<dyn Stream<Item = Result<Event, EventStreamError<reqwest::Error>>> + Send>>;

/// Where outgoing messages go right now.
#[derive(Debug, Clone)]
enum EndpointState {
    Ready(Url),
    Reconnecting,
    Closed,
}

/// Opens the event stream and waits for its endpoint; shared by connect and reconnect.
#[derive(Clone)]
struct Opener {
    http: reqwest::Client,
    url: Url,
    headers: HeaderMap,
    timeout: Duration,
}

impl Opener {
    async fn open(&self) -> Result<(EventStream, Url), SseTransportError> {
        tokio::time::timeout(self.timeout, self.open_inner())
            .await
            .map_err(|_| SseTransportError::EndpointTimeout {
                url: self.url.to_string(),
                timeout: self.timeout,
            })?
    }

    async fn open_inner(&self) -> Result<(EventStream, Url), SseTransportError> {
        let url = self.url.to_string();
        let response = self
            .http
            .get(self.url.clone())
            .headers(self.headers.clone())
            .header(
                header::ACCEPT,
                HeaderValue::from_static("text/event-stream"),
            )
            .send()
            .await
            .map_err(|source| SseTransportError::Connect {
                url: url.clone(),
                source,
            })?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(SseTransportError::SseStatus { url, status, body });
        }
        let mut events: EventStream = Box::pin(response.bytes_stream().eventsource());
        while let Some(event) = events.next().await {
            let event = event.map_err(|source| SseTransportError::Stream {
                url: url.clone(),
                source,
            })?;
            if event.event == "endpoint" {
                let endpoint = resolve_endpoint(&self.url, &event.data)?;
                tracing::debug!(%endpoint, "SSE endpoint received");
                return Ok((events, endpoint));
            }
            tracing::warn!(event = %event.event, "ignoring SSE event before the endpoint event");
        }
        Err(SseTransportError::StreamEnded { url })
    }
}

/// Resolve the `endpoint` event data against the SSE URL and require the same origin.
fn resolve_endpoint(sse_url: &Url, data: &str) -> Result<Url, SseTransportError> {
    let endpoint =
        sse_url
            .join(data.trim())
            .map_err(|source| SseTransportError::InvalidEndpoint {
                url: sse_url.to_string(),
                endpoint: data.to_string(),
                source,
            })?;
    if endpoint.origin() != sse_url.origin() {
        return Err(SseTransportError::CrossOriginEndpoint {
            url: sse_url.to_string(),
            endpoint: endpoint.to_string(),
        });
    }
    Ok(endpoint)
}

/// The legacy HTTP+SSE client transport; plug it into `rmcp::ServiceExt::serve`.
pub struct SseClientTransport {
    http: reqwest::Client,
    headers: HeaderMap,
    endpoint: watch::Receiver<EndpointState>,
    incoming: mpsc::Receiver<ServerJsonRpcMessage>,
    handshake: Handshake,
    cancel: CancellationToken,
    reader: Option<JoinHandle<()>>,
    _guard: DropGuard,
}

impl fmt::Debug for SseClientTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseClientTransport")
            .field("endpoint", &*self.endpoint.borrow())
            .finish_non_exhaustive()
    }
}

impl SseClientTransport {
    /// Open the SSE stream, wait for the `endpoint` event and start the background reader.
    pub async fn connect(config: SseClientConfig) -> Result<Self, SseTransportError> {
        let url = Url::parse(&config.url).map_err(|source| SseTransportError::InvalidUrl {
            url: config.url.clone(),
            source,
        })?;
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|source| SseTransportError::HttpClient { source })?;
        let opener = Opener {
            http: http.clone(),
            url,
            headers: config.headers.clone(),
            timeout: config.connect_timeout,
        };
        let (events, endpoint) = opener.open().await?;
        let (endpoint_tx, endpoint_rx) = watch::channel(EndpointState::Ready(endpoint));
        let (incoming_tx, incoming_rx) = mpsc::channel(INCOMING_BUFFER);
        let cancel = CancellationToken::new();
        let handshake = Handshake::default();
        let reader = Reader {
            opener,
            handshake: handshake.clone(),
            endpoint: endpoint_tx,
            incoming: incoming_tx,
            tap: config.raw_tap,
            policy: config.reconnect,
            cancel: cancel.clone(),
        };
        let span = tracing::info_span!("sse_client", url = %config.url);
        let task = tokio::spawn(reader.run(events).instrument(span));
        Ok(Self {
            http,
            headers: config.headers,
            endpoint: endpoint_rx,
            incoming: incoming_rx,
            handshake,
            _guard: cancel.clone().drop_guard(),
            cancel,
            reader: Some(task),
        })
    }

    /// The endpoint outgoing messages are posted to, if the stream is up.
    pub fn endpoint(&self) -> Option<Url> {
        match &*self.endpoint.borrow() {
            EndpointState::Ready(url) => Some(url.clone()),
            EndpointState::Reconnecting | EndpointState::Closed => None,
        }
    }
}

/// Wait out a reconnect and return the current endpoint.
async fn current_endpoint(
    endpoint: &mut watch::Receiver<EndpointState>,
) -> Result<Url, SseTransportError> {
    let state = endpoint
        .wait_for(|state| !matches!(state, EndpointState::Reconnecting))
        .await
        .map(|state| state.clone())
        .map_err(|_| SseTransportError::Closed)?;
    match state {
        EndpointState::Ready(url) => Ok(url),
        EndpointState::Reconnecting | EndpointState::Closed => Err(SseTransportError::Closed),
    }
}

/// POST one JSON body; a non-2xx answer is an error carrying status and body text.
async fn post_json(
    http: &reqwest::Client,
    headers: &HeaderMap,
    url: &Url,
    body: Vec<u8>,
) -> Result<(), SseTransportError> {
    let response = http
        .post(url.clone())
        .headers(headers.clone())
        .header(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )
        .body(body)
        .send()
        .await
        .map_err(|source| SseTransportError::Post {
            endpoint: url.to_string(),
            source,
        })?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = response.text().await.unwrap_or_default();
    Err(SseTransportError::PostStatus {
        endpoint: url.to_string(),
        status,
        body,
    })
}

async fn post_message(
    http: reqwest::Client,
    headers: HeaderMap,
    mut endpoint: watch::Receiver<EndpointState>,
    handshake: Handshake,
    message: ClientJsonRpcMessage,
) -> Result<(), SseTransportError> {
    let value =
        serde_json::to_value(&message).map_err(|source| SseTransportError::Serialize { source })?;
    if value["method"] == "initialize" {
        handshake.remember(value["params"].clone());
    }
    let body =
        serde_json::to_vec(&value).map_err(|source| SseTransportError::Serialize { source })?;
    let url = current_endpoint(&mut endpoint).await?;
    post_json(&http, &headers, &url, body).await
}

/// The `initialize` params last sent, replayed on a re-opened stream (a new server session).
#[derive(Clone, Default)]
struct Handshake {
    params: Arc<Mutex<Option<serde_json::Value>>>,
}

impl Handshake {
    fn remember(&self, params: serde_json::Value) {
        *self.params.lock().unwrap_or_else(PoisonError::into_inner) = Some(params);
    }

    fn params(&self) -> Option<serde_json::Value> {
        self.params
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Transport<RoleClient> for SseClientTransport {
    type Error = SseTransportError;

    fn send(
        &mut self,
        item: ClientJsonRpcMessage,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        post_message(
            self.http.clone(),
            self.headers.clone(),
            self.endpoint.clone(),
            self.handshake.clone(),
            item,
        )
    }

    fn receive(&mut self) -> impl Future<Output = Option<ServerJsonRpcMessage>> + Send {
        self.incoming.recv()
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        self.cancel.cancel();
        if let Some(task) = self.reader.take()
            && let Err(error) = task.await
        {
            tracing::warn!(%error, "SSE reader task failed");
        }
        Ok(())
    }
}

/// The background task: reads events, decodes messages, reconnects.
struct Reader {
    opener: Opener,
    handshake: Handshake,
    endpoint: watch::Sender<EndpointState>,
    incoming: mpsc::Sender<ServerJsonRpcMessage>,
    tap: Option<RawTap>,
    policy: ReconnectPolicy,
    cancel: CancellationToken,
}

/// Whether the reader goes on after an event.
enum Flow {
    Continue,
    Stop,
}

impl Reader {
    async fn run(self, mut events: EventStream) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("http://127.0.0.1:9000/mcp/sse").expect("url")
    }

    #[test]
    fn relative_endpoint_resolves_against_sse_url() {
        let url = resolve_endpoint(&base(), "/messages?sessionId=abc").expect("resolves");
        assert_eq!(url.as_str(), "http://127.0.0.1:9000/messages?sessionId=abc");
        let url = resolve_endpoint(&base(), "messages?sessionId=abc").expect("resolves");
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9000/mcp/messages?sessionId=abc"
        );
    }

    #[test]
    fn absolute_same_origin_endpoint_is_kept() {
        let url = resolve_endpoint(&base(), " http://127.0.0.1:9000/m?s=1\n").expect("resolves");
        assert_eq!(url.as_str(), "http://127.0.0.1:9000/m?s=1");
    }

    #[test]
    fn cross_origin_endpoint_is_rejected() {
        for endpoint in [
            "http://evil.example/messages",
            "http://127.0.0.1:9001/messages",
            "https://127.0.0.1:9000/messages",
        ] {
            let error = resolve_endpoint(&base(), endpoint).expect_err(endpoint);
            assert!(
                matches!(error, SseTransportError::CrossOriginEndpoint { .. }),
                "{error:?}"
            );
        }
    }
}
