//! Legacy HTTP+SSE client transport (MCP 2024-11-05 style) as an rmcp `Transport<RoleClient>`.
//!
//! `GET` the SSE URL, wait for the `endpoint` event, then `POST` every outgoing JSON-RPC message to
//! that endpoint and yield every `message` event as an incoming message. A background task reads
//! the stream and reconnects (bounded, with backoff) when it drops. A legacy server keys its session
//! on the SSE connection, so after a reconnect the transport replays the `initialize` handshake it
//! saw (swallowing the response) before further messages go to the new endpoint.

mod config;
mod error;
mod open;
mod reader;

use std::{
    fmt,
    sync::{Arc, Mutex, PoisonError},
};

use http::{HeaderMap, HeaderValue, header};
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

pub use config::{ReconnectPolicy, SseClientConfig};
pub use error::SseTransportError;
use open::{EndpointState, Opener};
use reader::Reader;

/// How many incoming messages may wait for `receive` before the reader pauses.
const INCOMING_BUFFER: usize = 64;

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
pub(super) async fn post_json(
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
pub(super) struct Handshake {
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
