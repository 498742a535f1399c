//! Settings of the legacy SSE client: URL, headers, timeouts, reconnect policy.

use std::{fmt, time::Duration};

use http::HeaderMap;

use crate::mcp::tap::RawTap;

/// Settings for [`super::SseClientTransport::connect`].
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
