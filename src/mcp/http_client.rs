//! The HTTP client under rmcp's streamable HTTP transport: reqwest, plus a mark on every
//! notification that arrives on the response stream of one of our requests, naming that request
//! (`_meta` [`RELATED_REQUEST_META`]), so the handler can give an upstream's log messages to the
//! call they belong to. rmcp marks server→client *requests* itself (`InboundStreamOrigin`).

use std::collections::HashMap;
use std::sync::Arc;

use futures::StreamExt;
use futures::stream::BoxStream;
use http::{HeaderName, HeaderValue};
use rmcp::model::{ClientJsonRpcMessage, RequestId};
use rmcp::transport::streamable_http_client::{
    SseError, StreamableHttpClient, StreamableHttpError, StreamableHttpPostResponse,
};
use serde_json::Value;
use sse_stream::Sse;

use super::handler::RELATED_REQUEST_META;

/// rmcp's raw SSE event limit (its `DEFAULT_MAX_SSE_EVENT_SIZE`), for the plain `post_message`.
const MAX_SSE_EVENT: usize = 8 * 1024 * 1024;

/// reqwest with notifications marked by the request whose stream carried them.
#[derive(Clone, Default)]
pub struct MarkingClient {
    inner: reqwest::Client,
}

impl MarkingClient {
    /// Wrap a reqwest client (its connection pool is reused by every request).
    pub fn new(inner: reqwest::Client) -> Self {
        Self { inner }
    }
}

/// Add the related-request mark to one SSE event if it is a notification.
fn mark(mut event: Sse, id: &Value) -> Sse {
    let Some(data) = event.data.as_deref() else {
        return event;
    };
    // Cheap pre-check: only notifications (a method and no id) are rewritten.
    if !data.contains("\"method\"") {
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

fn marked(
    stream: BoxStream<'static, Result<Sse, SseError>>,
    id: &RequestId,
) -> BoxStream<'static, Result<Sse, SseError>> {
    let id = serde_json::to_value(id).unwrap_or(Value::Null);
    stream.map(move |event| event.map(|e| mark(e, &id))).boxed()
}

impl StreamableHttpClient for MarkingClient {
    type Error = reqwest::Error;

    async fn post_message(
        &self,
        uri: Arc<str>,
        message: ClientJsonRpcMessage,
        session_id: Option<Arc<str>>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
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
    ) -> Result<StreamableHttpPostResponse, StreamableHttpError<Self::Error>> {
        let related = match &message {
            ClientJsonRpcMessage::Request(request) => Some(request.id.clone()),
            _ => None,
        };
        let response = self
            .inner
            .post_message_with_max_sse_event_size(
                uri,
                message,
                session_id,
                auth_header,
                custom_headers,
                max_sse_event_size,
            )
            .await?;
        Ok(match (response, related) {
            (StreamableHttpPostResponse::Sse(stream, session), Some(id)) => {
                StreamableHttpPostResponse::Sse(marked(stream, &id), session)
            }
            (other, _) => other,
        })
    }

    async fn delete_session(
        &self,
        uri: Arc<str>,
        session_id: Arc<str>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<(), StreamableHttpError<Self::Error>> {
        self.inner
            .delete_session(uri, session_id, auth_header, custom_headers)
            .await
    }

    async fn get_stream(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, StreamableHttpError<Self::Error>> {
        self.inner
            .get_stream(uri, session_id, last_event_id, auth_header, custom_headers)
            .await
    }

    async fn get_stream_with_max_sse_event_size(
        &self,
        uri: Arc<str>,
        session_id: Option<Arc<str>>,
        last_event_id: Option<String>,
        auth_header: Option<String>,
        custom_headers: HashMap<HeaderName, HeaderValue>,
        max_sse_event_size: usize,
    ) -> Result<BoxStream<'static, Result<Sse, SseError>>, StreamableHttpError<Self::Error>> {
        self.inner
            .get_stream_with_max_sse_event_size(
                uri,
                session_id,
                last_event_id,
                auth_header,
                custom_headers,
                max_sse_event_size,
            )
            .await
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
}
