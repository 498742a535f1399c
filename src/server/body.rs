//! Request bodies on the HTTP listener: every route reads its body here, once, under one size
//! limit (413) and one read deadline (408), so a client that trickles its body is cut off the
//! same way on `/mcp` and `/messages`.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use http::{StatusCode, header};
use serde_json::json;

/// The limits of [`read_body`].
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    /// Largest accepted body in bytes.
    pub max_bytes: usize,
    /// How long the whole body may take to arrive, from the end of the headers.
    pub read_timeout: Duration,
}

/// Why a body was not read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// Larger than the limit.
    #[error("request body is larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// Not complete within the read timeout.
    #[error("request body was not received within {timeout:?}")]
    TimedOut {
        /// The read timeout.
        timeout: Duration,
    },
    /// The connection failed or the framing was broken.
    #[error("cannot read the request body")]
    Read(#[source] axum::Error),
}

impl IntoResponse for BodyError {
    fn into_response(self) -> Response {
        let status = match &self {
            BodyError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::TimedOut { .. } => StatusCode::REQUEST_TIMEOUT,
            BodyError::Read(_) => StatusCode::BAD_REQUEST,
        };
        // The rest of the body is not read, so the connection cannot carry another request.
        let close = [(header::CONNECTION, "close")];
        (
            status,
            close,
            axum::Json(json!({ "error": self.to_string() })),
        )
            .into_response()
    }
}

/// Middleware: read the whole request body within `limits`, then pass it on in memory.
pub async fn read_body(State(limits): State<BodyLimits>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_bytes as u64) {
        return BodyError::TooLarge {
            limit: limits.max_bytes,
        }
        .into_response();
    }
    match collect(body, limits).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(error) => {
            tracing::debug!(%error, "request body refused");
            error.into_response()
        }
    }
}

/// The body's bytes, within the limits.
pub async fn collect(body: Body, limits: BodyLimits) -> Result<Bytes, BodyError> {
    let read = async {
        let mut chunks = body.into_data_stream();
        let mut bytes = BytesMut::new();
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.map_err(BodyError::Read)?;
            if bytes.len() + chunk.len() > limits.max_bytes {
                return Err(BodyError::TooLarge {
                    limit: limits.max_bytes,
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes.freeze())
    };
    tokio::time::timeout(limits.read_timeout, read)
        .await
        .unwrap_or(Err(BodyError::TimedOut {
            timeout: limits.read_timeout,
        }))
}
