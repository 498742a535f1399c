//! Building the client transport for an upstream's `[servers.NAME]` settings, and connect errors.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};
use rmcp::service::ClientInitializeError;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use url::Url;

use super::http_client::MarkingClient;
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
    #[error("handshake failed: {message}")]
    Handshake { message: String },
    /// Start-up plus handshake took too long.
    #[error("no handshake within {timeout:?}")]
    StartupTimeout { timeout: Duration },
}

impl ConnectError {
    /// Wrap an rmcp handshake error, keeping its whole message.
    pub fn handshake(e: ClientInitializeError) -> Self {
        ConnectError::Handshake {
            message: e.to_string(),
        }
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

/// The process's one reqwest client for upstream HTTP (its connection pool is shared by every
/// upstream and reconnect; `TCP_NODELAY` is on).
pub fn http_client() -> reqwest::Client {
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
) -> Result<StreamableHttpClientTransport<MarkingClient>, ConnectError> {
    let custom: HashMap<HeaderName, HeaderValue> = header_map(headers)?
        .into_iter()
        .filter_map(|(k, v)| Some((k?, v)))
        .collect();
    let config = StreamableHttpClientTransportConfig::with_uri(url.as_str())
        .custom_headers(custom)
        .reinit_on_expired_session(true);
    Ok(StreamableHttpClientTransport::with_client(
        MarkingClient::new(http_client()),
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
