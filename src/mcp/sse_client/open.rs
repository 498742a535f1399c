//! Opening the event stream and waiting for its `endpoint` event (connect and reconnect), and
//! resolving that endpoint against the SSE URL (same origin only).

use std::{pin::Pin, time::Duration};

use eventsource_stream::{Event, EventStreamError, Eventsource};
use futures::{Stream, StreamExt};
use http::{HeaderMap, HeaderValue, header};
use url::Url;

use super::SseTransportError;

pub(super) type EventStream =
    Pin<Box<dyn Stream<Item = Result<Event, EventStreamError<reqwest::Error>>> + Send>>;

/// Where outgoing messages go right now.
#[derive(Debug, Clone)]
pub(super) enum EndpointState {
    Ready(Url),
    Reconnecting,
    Closed,
}

/// Opens the event stream and waits for its endpoint; shared by connect and reconnect.
#[derive(Clone)]
pub(super) struct Opener {
    pub(super) http: reqwest::Client,
    pub(super) url: Url,
    pub(super) headers: HeaderMap,
    pub(super) timeout: Duration,
}

impl Opener {
    pub(super) async fn open(&self) -> Result<(EventStream, Url), SseTransportError> {
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
pub(super) fn resolve_endpoint(sse_url: &Url, data: &str) -> Result<Url, SseTransportError> {
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
