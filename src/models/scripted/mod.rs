//! The scripted model server: a small axum server speaking OpenAI chat completions and the
//! Anthropic Messages API, answering deterministically from a [`Script`]. Tests, benchmarks and
//! offline demos start it with [`ScriptedServer::start`] on `127.0.0.1:0`.

mod plan;
mod render;
pub mod schema_args;
pub mod script;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body as AxumBody;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;
use axum::routing::post;
use bytes::Bytes;
use futures::StreamExt;
use serde_json::Value;
use tokio_util::sync::{CancellationToken, DropGuard};

use super::{ChatCompletionClient, ModelError, OpenAiClient, OpenAiConfig};
use plan::{Cursor, Incoming, Wire, plan};
use render::{Body, Rendered, error, render};
pub use script::{Action, CallSpec, Matcher, Rule, Script, ScriptError, Step, WhenDone};

/// One request the server received.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// Request path.
    pub path: String,
    /// Query string, if any.
    pub query: Option<String>,
    /// Headers, names lower-cased.
    pub headers: BTreeMap<String, String>,
    /// The JSON body (`null` when it was not JSON).
    pub body: Value,
}

struct Shared {
    script: Script,
    cursor: Mutex<Cursor>,
    seq: AtomicU64,
    recorded: Mutex<Vec<RecordedRequest>>,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
}

/// A running scripted server; stops when dropped or on [`ScriptedServer::shutdown`].
pub struct ScriptedServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    guard: Option<DropGuard>,
}

impl std::fmt::Debug for ScriptedServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptedServer")
            .field("addr", &self.addr)
            .finish()
    }
}

impl ScriptedServer {
    /// Starts the server on `127.0.0.1:0`.
    pub async fn start(script: Script) -> Result<Self, ScriptError> {
        Self::start_on(script, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts the server on `addr`.
    pub async fn start_on(script: Script, addr: SocketAddr) -> Result<Self, ScriptError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| ScriptError::Io {
                what: format!("binding {addr}"),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| ScriptError::Io {
            what: "reading the bound address".into(),
            source,
        })?;
        let shared = Arc::new(Shared {
            script,
            cursor: Mutex::new(Cursor::default()),
            seq: AtomicU64::new(0),
            recorded: Mutex::new(Vec::new()),
            in_flight: AtomicU64::new(0),
            max_in_flight: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/v1/chat/completions", post(openai))
            .route("/chat/completions", post(openai))
            .route(
                "/openai/deployments/{deployment}/chat/completions",
                post(openai),
            )
            .route("/v1/messages", post(anthropic))
            .with_state(shared.clone());
        let token = CancellationToken::new();
        let stop = token.clone();
        tokio::spawn(async move {
            // TCP_NODELAY: a streamed answer's chunks leave at once, not behind Nagle's
            // algorithm (a client without quick ACKs would wait ~40 ms per reply).
            let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                let _ = tcp.set_nodelay(true);
            });
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await;
            if let Err(e) = served {
                tracing::warn!(error = %e, "scripted model server stopped");
            }
        });
        tracing::debug!(%addr, "scripted model server listening");
        Ok(Self {
            addr,
            shared,
            guard: Some(token.drop_guard()),
        })
    }

    /// The server root, e.g. `http://127.0.0.1:4321` (Anthropic `base_url`, Azure endpoint).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The OpenAI-style base URL, `<root>/v1`.
    pub fn openai_base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// An OpenAI client config for this server: model `gpt-4o`, a test API key, no retries (a
    /// scripted error reaches the caller as it is).
    pub fn openai_config(&self) -> OpenAiConfig {
        let mut config = OpenAiConfig::new("gpt-4o");
        config.api_key = Some("sk-test".into());
        config.base_url = Some(self.openai_base_url());
        config.max_retries = Some(0);
        config
    }

    /// An OpenAI client talking to this server (see [`ScriptedServer::openai_config`]).
    pub fn openai_client(&self) -> Result<Arc<dyn ChatCompletionClient>, ModelError> {
        Ok(Arc::new(OpenAiClient::new(self.openai_config())?))
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Requests received so far (empty when recording is off).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared
            .recorded
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// Number of requests answered or being answered.
    pub fn request_count(&self) -> u64 {
        self.shared.seq.load(Ordering::Relaxed)
    }

    /// The most requests that were being answered at the same time (proves concurrency).
    pub fn max_in_flight(&self) -> u64 {
        self.shared.max_in_flight.load(Ordering::Relaxed)
    }

    /// Stops accepting connections.
    pub fn shutdown(&mut self) {
        self.guard.take();
    }
}

async fn openai(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(&shared, Wire::OpenAi, uri, headers, body).await
}

async fn anthropic(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(&shared, Wire::Anthropic, uri, headers, body).await
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn authorised(key: &str, wire: Wire, headers: &HeaderMap) -> bool {
    match wire {
        Wire::Anthropic => header_str(headers, "x-api-key") == Some(key),
        Wire::OpenAi => {
            header_str(headers, "authorization").and_then(|v| v.strip_prefix("Bearer "))
                == Some(key)
                || header_str(headers, "api-key") == Some(key)
        }
    }
}

async fn answer(
    shared: &Shared,
    wire: Wire,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = shared.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
    shared.max_in_flight.fetch_max(now, Ordering::Relaxed);
    let response = answer_inner(shared, wire, uri, headers, body).await;
    shared.in_flight.fetch_sub(1, Ordering::Relaxed);
    response
}

async fn answer_inner(
    shared: &Shared,
    wire: Wire,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let seq = shared.seq.fetch_add(1, Ordering::Relaxed) + 1;
    let Ok(value) = serde_json::from_slice::<Value>(&body) else {
        return respond(error(wire, 400, "request body is not JSON", None), false, 0);
    };
    if shared.script.record {
        record(shared, &uri, &headers, &value);
    }
    if let Some(key) = &shared.script.api_key
        && !authorised(key, wire, &headers)
    {
        return respond(
            error(wire, 401, "Incorrect API key provided", None),
            false,
            0,
        );
    }
    let incoming = Incoming::parse(wire, &value);
    let planned = match shared.cursor.lock() {
        Ok(mut cursor) => plan(&shared.script, &mut cursor, &incoming),
        Err(_) => {
            return respond(
                error(wire, 500, "scripted server state poisoned", None),
                false,
                0,
            );
        }
    };
    if planned.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(planned.delay_ms)).await;
    }
    let rendered = render(wire, &planned.reply, &incoming, seq);
    respond(rendered, incoming.stream, planned.chunk_delay_ms)
}

fn record(shared: &Shared, uri: &Uri, headers: &HeaderMap, body: &Value) {
    let headers = headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    if let Ok(mut r) = shared.recorded.lock() {
        r.push(RecordedRequest {
            path: uri.path().to_string(),
            query: uri.query().map(str::to_string),
            headers,
            body: body.clone(),
        });
    }
}

fn respond(rendered: Rendered, stream: bool, chunk_delay_ms: u64) -> Response {
    let content_type = if stream && rendered.status == 200 {
        "text/event-stream"
    } else {
        "application/json"
    };
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(rendered.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, content_type);
    if let Some(secs) = rendered.retry_after {
        builder = builder.header(header::RETRY_AFTER, secs.to_string());
    }
    let body = match rendered.body {
        Body::Full(text) => AxumBody::from(text),
        Body::Events { events, cut: false } if chunk_delay_ms == 0 => {
            AxumBody::from(events.concat())
        }
        Body::Events { events, cut } => {
            AxumBody::from_stream(event_stream(events, cut, chunk_delay_ms))
        }
    };
    builder
        .body(body)
        .unwrap_or_else(|_| Response::new(AxumBody::from("scripted server: bad response")))
}

type Chunk = Result<Bytes, std::io::Error>;

fn event_stream(
    events: Vec<String>,
    cut: bool,
    delay_ms: u64,
) -> impl futures::Stream<Item = Chunk> + Send {
    let delay = Duration::from_millis(delay_ms);
    let items: Vec<Option<String>> = events
        .into_iter()
        .map(Some)
        .chain(cut.then_some(None))
        .collect();
    futures::stream::iter(items.into_iter().enumerate()).then(move |(i, item)| async move {
        if i > 0 && !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        match item {
            Some(text) => Ok(Bytes::from(text)),
            None => {
                // Let the server flush what was sent before dropping the connection.
                tokio::time::sleep(Duration::from_millis(20)).await;
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionAborted,
                    "scripted stream cut",
                ))
            }
        }
    })
}
