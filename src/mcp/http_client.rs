//! The HTTP client under rmcp's streamable HTTP transport, for upstream servers.
//!
//! - Plain `http://` upstreams go through our own hyper client on [`QuickAckConnector`]
//!   connections (no 40 ms delayed-ACK stall behind a server's two small writes); `https://`
//!   upstreams through reqwest (its TLS setup).
//! - Every notification that arrives on the response stream of one of our requests is marked
//!   with that request's id (`_meta` [`RELATED_REQUEST_META`]), so the handler can give an
//!   upstream's log messages to the call they belong to (rmcp marks server→client *requests*
//!   itself with `InboundStreamOrigin`).
//! - Every `tools/list` result is shown to the raw tap before rmcp's typed decoding drops the
//!   tool fields it does not model (`execution`).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use http::header::{
    ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use rmcp::model::{ClientJsonRpcMessage, JsonRpcMessage, RequestId, ServerJsonRpcMessage};
use rmcp::transport::streamable_http_client::{
    AuthRequiredError, HttpStatusError, InsufficientScopeError, SseError, StreamableHttpClient,
    StreamableHttpError, StreamableHttpPostResponse,
};
use serde_json::Value;
use sse_stream::{Sse, SseStream};

use super::credentials::{CredentialError, Credentials};
use super::handler::RELATED_REQUEST_META;
use super::tap::RawTap;
use crate::net::QuickAckConnector;

/// rmcp's raw SSE event limit (its `DEFAULT_MAX_SSE_EVENT_SIZE`), for the plain `post_message`.
const MAX_SSE_EVENT: usize = 8 * 1024 * 1024;
/// Largest JSON response body read.
const MAX_JSON_BODY: usize = 16 * 1024 * 1024;
/// Largest error response body read.
const MAX_ERROR_BODY: usize = 64 * 1024;
/// The session header of streamable HTTP.
const SESSION_HEADER: &str = "mcp-session-id";
/// The resume header of streamable HTTP.
const LAST_EVENT_ID: &str = "last-event-id";

/// Why an HTTP exchange with an upstream failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The plain-HTTP client failed (connect, send).
    #[error("{0}")]
    Plain(#[source] hyper_util::client::legacy::Error),
    /// Reading a response body failed, or it was too large.
    #[error("reading the response body: {0}")]
    Body(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The TLS (reqwest) client failed.
    #[error("{0}")]
    Tls(#[source] reqwest::Error),
    /// A request could not be built (a bad URL or header).
    #[error("cannot build the request: {0}")]
    Request(#[source] http::Error),
    /// No token could be had for the request (`[servers.NAME.auth]`).
    #[error("{0}")]
    Credentials(#[source] CredentialError),
}

type HttpResult<T> = Result<T, StreamableHttpError<HttpError>>;

fn plain_error(e: hyper_util::client::legacy::Error) -> StreamableHttpError<HttpError> {
    StreamableHttpError::Client(HttpError::Plain(e))
}

fn tls_error(e: StreamableHttpError<reqwest::Error>) -> StreamableHttpError<HttpError> {
    match e {
        StreamableHttpError::Client(e) => StreamableHttpError::Client(HttpError::Tls(e)),
        StreamableHttpError::Sse(e) => StreamableHttpError::Sse(e),
        StreamableHttpError::Io(e) => StreamableHttpError::Io(e),
        StreamableHttpError::HttpStatus(e) => StreamableHttpError::HttpStatus(e),
        StreamableHttpError::UnexpectedEndOfStream => StreamableHttpError::UnexpectedEndOfStream,
        StreamableHttpError::UnexpectedServerResponse(m) => {
            StreamableHttpError::UnexpectedServerResponse(m)
        }
        StreamableHttpError::ResponseBodyTooLarge { max_size } => {
            StreamableHttpError::ResponseBodyTooLarge { max_size }
        }
        StreamableHttpError::UnexpectedContentType(c) => {
            StreamableHttpError::UnexpectedContentType(c)
        }
        StreamableHttpError::ServerDoesNotSupportSse => {
            StreamableHttpError::ServerDoesNotSupportSse
        }
        StreamableHttpError::ServerDoesNotSupportDeleteSession => {
            StreamableHttpError::ServerDoesNotSupportDeleteSession
        }
        StreamableHttpError::Deserialize(e) => StreamableHttpError::Deserialize(e),
        StreamableHttpError::AuthRequired(e) => StreamableHttpError::AuthRequired(e),
        StreamableHttpError::InsufficientScope(e) => StreamableHttpError::InsufficientScope(e),
        StreamableHttpError::SessionExpired => StreamableHttpError::SessionExpired,
        other => StreamableHttpError::UnexpectedServerResponse(Cow::Owned(other.to_string())),
    }
}

/// Where requests go: our plain-HTTP client, or reqwest for TLS.
#[derive(Clone)]
enum Backend {
    Plain(Client<QuickAckConnector, Full<Bytes>>),
    Tls(reqwest::Client),
}

/// The upstream HTTP client (see the module docs).
#[derive(Clone)]
pub struct UpstreamHttp {
    backend: Backend,
    tap: Option<RawTap>,
    credentials: Option<Arc<Credentials>>,
}

impl UpstreamHttp {
    /// The client for `url`: plain HTTP through [`crate::net::http_client`], HTTPS through the
    /// shared reqwest client. `tap` sees every `tools/list` result as raw JSON.
    pub fn for_url(url: &url::Url, tap: Option<RawTap>) -> Self {
        let backend = match url.scheme() {
            "http" => Backend::Plain(crate::net::http_client()),
            _ => Backend::Tls(super::transport::tls_client()),
        };
        Self {
            backend,
            tap,
            credentials: None,
        }
    }

    /// The same client, with requests carrying tokens from `credentials`.
    pub fn with_credentials(mut self, credentials: Option<Arc<Credentials>>) -> Self {
        self.credentials = credentials;
        self
    }

    /// The bearer token of one request: from the credentials (toolyard's own, or the caller's
    /// exchanged token in a session that acts for one caller), else rmcp's configured one.
    async fn bearer(
        &self,
        given: Option<String>,
    ) -> Result<Option<String>, StreamableHttpError<HttpError>> {
        match &self.credentials {
            Some(credentials) => credentials
                .session_token()
                .await
                .map(|t| Some(t.to_string()))
                .map_err(|e| StreamableHttpError::Client(HttpError::Credentials(e))),
            None => Ok(given),
        }
    }

    /// Show a raw message to the tap when it may be a tool list.
    fn tap_raw(&self, text: &str) {
        let Some(tap) = &self.tap else { return };
        if memchr::memmem::find(text.as_bytes(), b"\"tools\"").is_none() {
            return;
        }
        if let Ok(value) = serde_json::from_str::<Value>(text) {
            tap(&value);
        }
    }
}

/// Add the related-request mark to one SSE event if it is a notification.
fn mark(mut event: Sse, id: &Value) -> Sse {
    let Some(data) = event.data.as_deref() else {
        return event;
    };
    // Cheap pre-check: only notifications (a method and no id) are rewritten.
    if memchr::memmem::find(data.as_bytes(), b"\"method\"").is_none() {
        return event;
    }
    let Ok(Value::Object(mut message)) = serde_json::from_str::<Value>(data) else {
        return event;
    };
    if message.contains_key("id") || !message.contains_key("method") {
        return event;
    }
    let params = message
        .entry("params")
        .or_insert_with(|| Value::Object(Default::default()));
    let Some(params) = params.as_object_mut() else {
        return event;
    };
    let meta = params
        .entry("_meta")
        .or_insert_with(|| Value::Object(Default::default()));
    if let Some(meta) = meta.as_object_mut() {
        meta.insert(RELATED_REQUEST_META.into(), id.clone());
    }
    if let Ok(text) = serde_json::to_string(&message) {
        event.data = Some(text);
    }
    event
}

impl UpstreamHttp {
    /// Mark notifications with `related` and show tool lists to the tap, event by event.
    fn watch(
        &self,
        stream: BoxStream<'static, Result<Sse, SseError>>,
        related: Option<RequestId>,
    ) -> BoxStream<'static, Result<Sse, SseError>> {
        let id = related.map(|id| serde_json::to_value(id).unwrap_or(Value::Null));
        let this = self.clone();
        stream
            .map(move |event| {
                event.map(|e| {
                    if let Some(data) = e.data.as_deref() {
                        this.tap_raw(data);
                    }
                    match &id {
                        Some(id) => mark(e, id),
                        None => e,
                    }
                })
            })
            .boxed()
    }
}

fn header_text(headers: &HeaderMap, name: impl http::header::AsHeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// rmcp's HTTP status error for 429 and 5xx, with a bounded `Retry-After`.
fn status_error(status: StatusCode, headers: &HeaderMap) -> Option<HttpStatusError> {
    if status != StatusCode::TOO_MANY_REQUESTS && !status.is_server_error() {
        return None;
    }
    let retry_after = header_text(headers, RETRY_AFTER).filter(|v| v.len() <= 128);
    Some(HttpStatusError::new(status.as_u16(), retry_after))
}

/// Read a body up to `limit` bytes.
async fn read_body(body: hyper::body::Incoming, limit: usize) -> HttpResult<Bytes> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) => Err(StreamableHttpError::Client(HttpError::Body(e))),
    }
}

/// The scope a `WWW-Authenticate` challenge names (`scope="..."`).
fn challenge_scope(header: &str) -> Option<String> {
    let start = header.find("scope=\"")? + "scope=\"".len();
    let end = header[start..].find('"')? + start;
    Some(header[start..end].to_string())
}

fn plain_request(
    method: Method,
    uri: &str,
    session_id: Option<&str>,
    auth_header: Option<String>,
    custom_headers: HashMap<HeaderName, HeaderValue>,
) -> http::request::Builder {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = auth_header {
        request = request.header(AUTHORIZATION, format!("Bearer {token}"));
    }
    for (name, value) in custom_headers {
        request = request.header(name, value);
    }
    if let Some(session) = session_id {
        request = request.header(SESSION_HEADER, session);
    }
    request
}

impl UpstreamHttp {
    async fn plain_post(
        &self,
        client: &Client<QuickAckConnector, Full<Bytes>>,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> HttpResult<StreamableHttpPostResponse> {
        let body = serde_json::to_vec(&message)?;
        let request = plain_request(
            Method::POST,
            &uri,
            session_id.as_deref(),
            auth_header,
            custom_headers,
        )
        .header(ACCEPT, "text/event-stream, application/json")
        .header(CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| StreamableHttpError::Client(HttpError::Request(e)))?;
        let response = client.request(request).await.map_err(plain_error)?;
        let status = response.status();
        let headers = response.headers().clone();
        if let Some(challenge) = header_text(&headers, WWW_AUTHENTICATE) {
            if status == StatusCode::UNAUTHORIZED {
                return Err(StreamableHttpError::AuthRequired(AuthRequiredError::new(
                    challenge,
                )));
            }
            if status == StatusCode::FORBIDDEN {
                let scope = challenge_scope(&challenge);
                return Err(StreamableHttpError::InsufficientScope(
                    InsufficientScopeError::new(challenge, scope),
                ));
            }
        }
        if matches!(status, StatusCode::ACCEPTED | StatusCode::NO_CONTENT) {
            return Ok(StreamableHttpPostResponse::Accepted);
        }
        if status == StatusCode::NOT_FOUND && session_id.is_some() {
            return Err(StreamableHttpError::SessionExpired);
        }
        let content_type = header_text(&headers, CONTENT_TYPE);
        let is_json = content_type
            .as_deref()
            .is_some_and(|c| c.starts_with("application/json"));
        let is_sse = content_type
            .as_deref()
            .is_some_and(|c| c.starts_with("text/event-stream"));
        let session = header_text(&headers, SESSION_HEADER);
        let empty = header_text(&headers, CONTENT_LENGTH).as_deref() == Some("0");
        if status.is_success() && empty && !matches!(message, ClientJsonRpcMessage::Request(_)) {
            return Ok(StreamableHttpPostResponse::Accepted);
        }
        if !status.is_success() {
            let error = status_error(status, &headers);
            let status_only = !is_json || status == StatusCode::TOO_MANY_REQUESTS;
            if status_only && let Some(error) = error {
                return Err(error.into());
            }
            let error = status_error(status, &headers);
            let body = read_body(response.into_body(), MAX_ERROR_BODY).await?;
            if is_json
                && let Ok(message @ JsonRpcMessage::Error(_)) =
                    serde_json::from_slice::<ServerJsonRpcMessage>(&body)
            {
                return Ok(StreamableHttpPostResponse::Json(message, session));
            }
            if let Some(error) = error {
                return Err(error.into());
            }
            let text = String::from_utf8_lossy(&body);
            return Err(StreamableHttpError::UnexpectedServerResponse(Cow::Owned(
                format!(
                    "HTTP {status}: {}",
                    text.chars().take(200).collect::<String>()
                ),
            )));
        }
        if is_sse {
            let related = match &message {
                ClientJsonRpcMessage::Request(r) => Some(r.id.clone()),
                _ => None,
            };
            let events = SseStream::new(response.into_body()).boxed();
            return Ok(StreamableHttpPostResponse::Sse(
                self.watch(events, related),
                session,
            ));
        }
        if is_json {
            let body = read_body(response.into_body(), MAX_JSON_BODY).await?;
            let text = std::str::from_utf8(&body)
                .map_err(|e| StreamableHttpError::UnexpectedServerResponse(e.to_string().into()))?;
            self.tap_raw(text);
            let message: ServerJsonRpcMessage = serde_json::from_str(text)?;
            return Ok(StreamableHttpPostResponse::Json(message, session));
        }
        Err(StreamableHttpError::UnexpectedContentType(content_type))
    }

    async fn plain_get(
        &self,
        client: &Client<QuickAckConnector, Full<Bytes>>,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> HttpResult<BoxStream<'static, Result<Sse, SseError>>> {
        let mut request = plain_request(
            Method::GET,
            &uri,
            session_id.as_deref(),
            auth_header,
            custom_headers,
        )
        .header(ACCEPT, "text/event-stream, application/json");
        if let Some(last) = last_event_id {
            request = request.header(LAST_EVENT_ID, last);
        }
        let request = request
            .body(Full::new(Bytes::new()))
            .map_err(|e| StreamableHttpError::Client(HttpError::Request(e)))?;
        let response = client.request(request).await.map_err(plain_error)?;
        let status = response.status();
        let headers = response.headers().clone();
        if status == StatusCode::METHOD_NOT_ALLOWED {
            return Err(StreamableHttpError::ServerDoesNotSupportSse);
        }
        if let Some(challenge) = header_text(&headers, WWW_AUTHENTICATE) {
            if status == StatusCode::UNAUTHORIZED {
                return Err(StreamableHttpError::AuthRequired(AuthRequiredError::new(
                    challenge,
                )));
            }
            if status == StatusCode::FORBIDDEN {
                let scope = challenge_scope(&challenge);
                return Err(StreamableHttpError::InsufficientScope(
                    InsufficientScopeError::new(challenge, scope),
                ));
            }
        }
        if let Some(error) = status_error(status, &headers) {
            return Err(error.into());
        }
        if !status.is_success() {
            return Err(StreamableHttpError::UnexpectedServerResponse(Cow::Owned(
                format!("HTTP {status} for the event stream"),
            )));
        }
        let content_type = header_text(&headers, CONTENT_TYPE);
        if !content_type.as_deref().is_some_and(|c| {
            c.starts_with("text/event-stream") || c.starts_with("application/json")
        }) {
            return Err(StreamableHttpError::UnexpectedContentType(content_type));
        }
        let events = SseStream::new(response.into_body()).boxed();
        Ok(self.watch(events, None))
    }

    async fn plain_delete(
        &self,
        client: &Client<QuickAckConnector, Full<Bytes>>,
        uri: Arc<str>,
        session_id: Arc<str>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> HttpResult<()> {
        let request = plain_request(
            Method::DELETE,
            &uri,
            Some(&session_id),
            auth_header,
            custom_headers,
        )
        .body(Full::new(Bytes::new()))
        .map_err(|e| StreamableHttpError::Client(HttpError::Request(e)))?;
        let response = client.request(request).await.map_err(plain_error)?;
        let status = response.status();
        if status == StatusCode::METHOD_NOT_ALLOWED || status.is_success() {
            return Ok(());
        }
        Err(StreamableHttpError::UnexpectedServerResponse(Cow::Owned(
            format!("HTTP {status} for the session's DELETE"),
        )))
    }
}

impl StreamableHttpClient for UpstreamHttp {
    type Error = HttpError;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> HttpResult<StreamableHttpPostResponse> {
        self.post_message_with_max_sse_event_size(
            uri,
            message,
            session_id,
            auth_header,
            custom_headers,
            MAX_SSE_EVENT,
        )
        .await
    }

    async fn post_message_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> HttpResult<StreamableHttpPostResponse> {
        let auth_header = self.bearer(auth_header).await?;
        match &self.backend {
            Backend::Plain(client) => {
                self.plain_post(
                    client,
                    uri,
                    message,
                    session_id,
                    auth_header,
                    custom_headers,
                )
                .await
            }
            Backend::Tls(client) => {
                let related = match &message {
                    ClientJsonRpcMessage::Request(request) => Some(request.id.clone()),
                    _ => None,
                };
                let response = client
                    .post_message_with_max_sse_event_size(
                        uri,
                        message,
                        session_id,
                        auth_header,
                        custom_headers,
                        max_sse_event_size,
                    )
                    .await
                    .map_err(tls_error)?;
                Ok(match response {
                    StreamableHttpPostResponse::Sse(stream, session) => {
                        StreamableHttpPostResponse::Sse(self.watch(stream, related), session)
                    }
                    other => other,
                })
            }
        }
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> HttpResult<()> {
        let auth_header = self.bearer(auth_header).await?;
        match &self.backend {
            Backend::Plain(client) => {
                self.plain_delete(client, uri, session_id, auth_header, custom_headers)
                    .await
            }
            Backend::Tls(client) => client
                .delete_session(uri, session_id, auth_header, custom_headers)
                .await
                .map_err(tls_error),
        }
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> HttpResult<BoxStream<'static, Result<Sse, SseError>>> {
        let auth_header = self.bearer(auth_header).await?;
        match &self.backend {
            Backend::Plain(client) => {
                self.plain_get(
                    client,
                    uri,
                    session_id,
                    last_event_id,
                    auth_header,
                    custom_headers,
                )
                .await
            }
            Backend::Tls(client) => client
                .get_stream(uri, session_id, last_event_id, auth_header, custom_headers)
                .await
                .map(|s| self.watch(s, None))
                .map_err(tls_error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(data: &str) -> Sse {
        Sse {
            event: Some("message".into()),
            data: Some(data.into()),
            id: None,
            retry: None,
        }
    }

    #[test]
    fn notifications_get_the_request_id_and_nothing_else_changes() {
        let id = serde_json::json!(7);
        let log = r#"{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"x"}}"#;
        let marked = mark(event(log), &id);
        let value: Value = serde_json::from_str(marked.data.as_deref().unwrap()).unwrap();
        assert_eq!(value["params"]["_meta"][RELATED_REQUEST_META], 7);
        assert_eq!(value["params"]["data"], "x");
        let request = r#"{"jsonrpc":"2.0","id":3,"method":"elicitation/create","params":{}}"#;
        assert_eq!(mark(event(request), &id).data.as_deref(), Some(request));
        let response = r#"{"jsonrpc":"2.0","id":7,"result":{}}"#;
        assert_eq!(mark(event(response), &id).data.as_deref(), Some(response));
    }

    #[test]
    fn a_challenge_names_its_scope() {
        let header = r#"Bearer error="insufficient_scope", scope="mcp:tools files:read""#;
        assert_eq!(
            challenge_scope(header).as_deref(),
            Some("mcp:tools files:read")
        );
        assert_eq!(challenge_scope("Bearer"), None);
    }
}
