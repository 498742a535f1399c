//! Shared HTTP plumbing for providers: send with retries, timeouts, cancellation, error mapping.

use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use reqwest::{RequestBuilder, Response};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::error::ModelError;
use super::retry::{RetryPolicy, parse_retry_after};

/// A provider's HTTP client with its retry policy and timeout.
#[derive(Debug, Clone)]
pub(crate) struct HttpCore {
    pub client: reqwest::Client,
    pub provider: String,
    pub retry: RetryPolicy,
    pub timeout: Option<Duration>,
}

/// The one reqwest client every model client of the process uses (a handle to one connection
/// pool). Building one loads the TLS roots, and a served team builds fresh model clients for
/// every call; nothing in it is per provider (timeouts are set per request).
fn shared_client() -> Result<reqwest::Client, ModelError> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(client) = CLIENT.get() {
        return Ok(client.clone());
    }
    let client = reqwest::Client::builder()
        .build()
        .map_err(|e| ModelError::Config {
            reason: format!("cannot build the HTTP client: {e}"),
        })?;
    Ok(CLIENT.get_or_init(|| client).clone())
}

/// What a successful exchange produced.
pub(crate) enum Exchange {
    /// A complete body (non-streaming).
    Body(Bytes),
    /// Response headers arrived; the body is streamed by the caller.
    Stream(Response),
}

impl HttpCore {
    /// A core on the process's shared reqwest client.
    pub fn new(
        provider: &str,
        retry: RetryPolicy,
        timeout: Option<Duration>,
    ) -> Result<Self, ModelError> {
        let client = shared_client()?;
        Ok(Self {
            client,
            provider: provider.to_string(),
            retry,
            timeout,
        })
    }

    /// Sends a request built by `build` with retries; returns the whole body or the open stream.
    pub async fn send(
        &self,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
        streaming: bool,
        cancel: &CancellationToken,
    ) -> Result<Exchange, ModelError> {
        let mut attempt = 0;
        loop {
            let span = tracing::debug_span!("model_request", provider = %self.provider, attempt, streaming);
            let result = self
                .attempt(build(&self.client), streaming, cancel)
                .instrument(span)
                .await;
            let error = match result {
                Ok(exchange) => return Ok(exchange),
                Err(e) => e,
            };
            let Some(wait) = self.retry.delay_for(attempt, &error) else {
                return Err(error);
            };
            tracing::warn!(provider = %self.provider, attempt, ?wait, error = %error, "retrying model request");
            tokio::select! {
                _ = cancel.cancelled() => return Err(self.cancelled()),
                _ = tokio::time::sleep(wait) => {}
            }
            attempt += 1;
        }
    }

    async fn attempt(
        &self,
        request: RequestBuilder,
        streaming: bool,
        cancel: &CancellationToken,
    ) -> Result<Exchange, ModelError> {
        let work = async {
            let response = request.send().await.map_err(|e| self.transport(e))?;
            let status = response.status();
            if !status.is_success() {
                return Err(self.status_error(response).await);
            }
            if streaming {
                return Ok(Exchange::Stream(response));
            }
            let body = response.bytes().await.map_err(|e| self.transport(e))?;
            Ok(Exchange::Body(body))
        };
        tokio::select! {
            _ = cancel.cancelled() => Err(self.cancelled()),
            r = self.with_timeout(work) => r,
        }
    }

    /// Runs `fut` under the configured timeout.
    pub async fn with_timeout<T>(
        &self,
        fut: impl Future<Output = Result<T, ModelError>>,
    ) -> Result<T, ModelError> {
        match self.timeout {
            Some(timeout) => tokio::time::timeout(timeout, fut)
                .await
                .unwrap_or_else(|_| Err(self.timed_out(timeout))),
            None => fut.await,
        }
    }

    async fn status_error(&self, response: Response) -> ModelError {
        let status = response.status().as_u16();
        let retry_after = parse_retry_after(response.headers());
        let body = read_capped(response, 64 * 1024).await;
        let message = provider_message(&body);
        if status == 401 || status == 403 {
            return ModelError::Auth {
                provider: self.provider.clone(),
                status,
                message,
            };
        }
        ModelError::Status {
            provider: self.provider.clone(),
            status,
            message,
            retry_after,
        }
    }

    /// Maps a reqwest error to a model error.
    pub fn transport(&self, e: reqwest::Error) -> ModelError {
        ModelError::Connection {
            provider: self.provider.clone(),
            source: e,
        }
    }

    /// A cancellation error for this provider.
    pub fn cancelled(&self) -> ModelError {
        ModelError::Cancelled {
            provider: self.provider.clone(),
        }
    }

    /// A timeout error for this provider.
    pub fn timed_out(&self, timeout: Duration) -> ModelError {
        ModelError::Timeout {
            provider: self.provider.clone(),
            timeout,
        }
    }

    /// An invalid-response error for this provider.
    pub fn invalid(&self, reason: impl Into<String>) -> ModelError {
        ModelError::InvalidResponse {
            provider: self.provider.clone(),
            reason: reason.into(),
        }
    }

    /// A broken-stream error for this provider.
    pub fn broken(&self, reason: impl Into<String>) -> ModelError {
        ModelError::StreamBroken {
            provider: self.provider.clone(),
            reason: reason.into(),
        }
    }
}

async fn read_capped(response: Response, cap: usize) -> String {
    let mut out = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(Ok(chunk)) = stream.next().await {
        out.extend_from_slice(&chunk);
        if out.len() >= cap {
            out.truncate(cap);
            break;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The provider's own message from an error body (`{"error": {"message": ...}}` and variants).
fn provider_message(body: &str) -> String {
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        return body.trim().to_string();
    };
    let error = value.get("error").unwrap_or(&value);
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .or_else(|| error.as_str())
        .or_else(|| value.get("message").and_then(Value::as_str));
    match message {
        Some(m) => match error.get("type").and_then(Value::as_str) {
            Some(kind) => format!("{m} ({kind})"),
            None => m.to_string(),
        },
        None => body.trim().to_string(),
    }
}

/// Resolves an API key from the config value or the environment.
pub(crate) fn api_key_from(
    configured: Option<&str>,
    env_var: &str,
    provider: &str,
) -> Result<String, ModelError> {
    if let Some(k) = configured.filter(|k| is_real_secret(k)) {
        return Ok(k.to_string());
    }
    std::env::var(env_var)
        .ok()
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ModelError::MissingApiKey {
            provider: provider.to_string(),
            env_var: env_var.to_string(),
        })
}

/// Whether a configured secret is usable: not empty and not AutoGen's `**********` mask.
pub(crate) fn is_real_secret(value: &str) -> bool {
    !value.is_empty() && !value.chars().all(|c| c == '*')
}
