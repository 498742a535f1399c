//! Building the client transport for an upstream's `[servers.NAME]` settings, and connect errors.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};
use rmcp::service::ClientInitializeError;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use url::Url;

use super::credentials::Credentials;
use super::http_client::{HttpError, UpstreamHttp};
use super::sse_client::{SseClientConfig, SseClientTransport, SseTransportError};
use super::tap::RawTap;

/// Why connecting to an upstream failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The stdio command could not be started.
    #[error("cannot start `{command}`: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    /// A configured header is not a valid HTTP header.
    #[error("invalid header `{name}`: {message}")]
    Header { name: String, message: String },
    /// The legacy SSE stream could not be opened.
    #[error("cannot open SSE stream: {0}")]
    Sse(#[from] SseTransportError),
    /// The MCP handshake (initialize or server/discover) failed.
    #[error("handshake failed: {}", describe_handshake(source))]
    Handshake {
        #[source]
        source: Box<ClientInitializeError>,
    },
    /// The stdio server exited before finishing its handshake.
    #[error(
        "the server exited during its handshake ({status}){}",
        stderr_tail(stderr)
    )]
    Exited {
        /// How it exited.
        status: String,
        /// Its last lines on stderr.
        stderr: Vec<String>,
    },
    /// Start-up plus handshake took too long.
    #[error("no handshake within {timeout:?}")]
    StartupTimeout { timeout: Duration },
}

impl ConnectError {
    /// Wrap an rmcp handshake error.
    pub fn handshake(source: ClientInitializeError) -> Self {
        ConnectError::Handshake {
            source: Box::new(source),
        }
    }
}

fn stderr_tail(lines: &[String]) -> String {
    match lines {
        [] => String::new(),
        lines => format!("; last lines of its stderr:\n  {}", lines.join("\n  ")),
    }
}

/// An rmcp handshake error as a person wants to read it: the cause of a transport failure
/// (connection refused, DNS, TLS, an HTTP status), both phases of a failed fallback.
pub fn describe_handshake(error: &ClientInitializeError) -> String {
    match error {
        ClientInitializeError::TransportError { error, context } => {
            format!(
                "{} (while trying to {context})",
                cause_chain(error.error.as_ref())
            )
        }
        ClientInitializeError::LegacyFallbackFailed { discover, fallback } => format!(
            "server/discover: {}; initialize: {}",
            describe_handshake(discover),
            describe_handshake(fallback)
        ),
        other => other.to_string(),
    }
}

/// An error and its sources in one line, each cause said once (rmcp's transport type names
/// and messages repeated down the chain are left out).
pub fn cause_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(error);
    while let Some(e) = current {
        let text = e.to_string();
        let text = match text.strip_prefix("Transport [") {
            Some(rest) => rest
                .split_once("] error: ")
                .map_or(text.clone(), |(_, m)| m.to_string()),
            None => text,
        };
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source().or_else(|| http_client_error(e));
    }
    parts.join(": ")
}

/// rmcp's streamable HTTP client error does not name its reqwest cause as its `source`.
fn http_client_error<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a (dyn std::error::Error + 'static)> {
    use rmcp::transport::streamable_http_client::StreamableHttpError;
    if let Some(StreamableHttpError::Client(inner)) =
        error.downcast_ref::<StreamableHttpError<HttpError>>()
    {
        return Some(inner);
    }
    match error.downcast_ref::<StreamableHttpError<reqwest::Error>>()? {
        StreamableHttpError::Client(inner) => Some(inner),
        _ => None,
    }
}

fn header_map(headers: &BTreeMap<String, String>) -> Result<HeaderMap, ConnectError> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let bad = |message: String| ConnectError::Header {
            name: name.clone(),
            message,
        };
        let n = HeaderName::try_from(name.as_str()).map_err(|e| bad(e.to_string()))?;
        let v = HeaderValue::try_from(value.as_str()).map_err(|e| bad(e.to_string()))?;
        map.insert(n, v);
    }
    Ok(map)
}

/// The process's one reqwest client for HTTPS upstreams (its connection pool is shared by every
/// upstream and reconnect; `TCP_NODELAY` is on). Plain HTTP goes through [`crate::net`].
pub fn tls_client() -> reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .tcp_nodelay(true)
                .build()
                .unwrap_or_default()
        })
        .clone()
}

/// rmcp's streamable HTTP client with our headers; an expired session is re-initialized.
pub fn streamable_http(
    url: &Url,
    headers: &BTreeMap<String, String>,
    tap: RawTap,
    credentials: Option<Arc<Credentials>>,
) -> Result<StreamableHttpClientTransport<UpstreamHttp>, ConnectError> {
    let custom: HashMap<HeaderName, HeaderValue> = header_map(headers)?
        .into_iter()
        .filter_map(|(k, v)| Some((k?, v)))
        .collect();
    let config = StreamableHttpClientTransportConfig::with_uri(url.as_str())
        .custom_headers(custom)
        .reinit_on_expired_session(true);
    Ok(StreamableHttpClientTransport::with_client(
        UpstreamHttp::for_url(url, Some(tap)).with_credentials(credentials),
        config,
    ))
}

/// Our legacy HTTP+SSE client transport.
pub async fn sse(
    url: &Url,
    headers: &BTreeMap<String, String>,
    tap: RawTap,
) -> Result<SseClientTransport, ConnectError> {
    let mut config = SseClientConfig::new(url.as_str());
    config.headers = header_map(headers)?;
    config.raw_tap = Some(tap);
    Ok(SseClientTransport::connect(config).await?)
}
