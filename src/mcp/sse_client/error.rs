//! Errors of the legacy SSE client transport.

use std::time::Duration;

use eventsource_stream::EventStreamError;
use http::StatusCode;

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
