//! The one error type of the model layer: which provider, which status, what the provider said.

use std::time::Duration;

/// Everything that can go wrong while talking to a model provider.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The provider answered with a non-success HTTP status.
    #[error("{provider}: HTTP {status}: {message}")]
    Status {
        /// Provider name (openai, azure, anthropic, ...).
        provider: String,
        /// HTTP status code.
        status: u16,
        /// The provider's own error message (or the raw body).
        message: String,
        /// Delay the provider asked for in `Retry-After`, if any.
        retry_after: Option<Duration>,
    },
    /// The provider rejected the credentials (401/403).
    #[error("{provider}: authentication failed (HTTP {status}): {message}; check the API key")]
    Auth {
        /// Provider name.
        provider: String,
        /// HTTP status code (401 or 403).
        status: u16,
        /// The provider's own error message.
        message: String,
    },
    /// No API key in the config nor in the environment.
    #[error(
        "{provider}: no API key: set `api_key` in the config or the {env_var} environment variable"
    )]
    MissingApiKey {
        /// Provider name.
        provider: String,
        /// Environment variable that was consulted.
        env_var: String,
    },
    /// The connection failed or was reset.
    #[error("{provider}: connection error: {source}")]
    Connection {
        /// Provider name.
        provider: String,
        /// Underlying HTTP client error.
        #[source]
        source: reqwest::Error,
    },
    /// The request took longer than the configured timeout.
    #[error("{provider}: request timed out after {timeout:?}")]
    Timeout {
        /// Provider name.
        provider: String,
        /// The timeout that elapsed.
        timeout: Duration,
    },
    /// The caller cancelled the request.
    #[error("{provider}: request cancelled")]
    Cancelled {
        /// Provider name.
        provider: String,
    },
    /// A streamed answer ended before the provider's end marker.
    #[error("{provider}: stream broken before the end marker: {reason}")]
    StreamBroken {
        /// Provider name.
        provider: String,
        /// What was missing or failed.
        reason: String,
    },
    /// The provider's answer could not be understood.
    #[error("{provider}: invalid response: {reason}")]
    InvalidResponse {
        /// Provider name.
        provider: String,
        /// What was wrong with it.
        reason: String,
    },
    /// Structured output was requested but the answer is not valid JSON.
    #[error("{provider}: model output is not valid JSON ({reason}): {content}")]
    InvalidJsonOutput {
        /// Provider name.
        provider: String,
        /// Parser message.
        reason: String,
        /// The model's raw output.
        content: String,
    },
    /// Structured output does not match the requested JSON schema.
    #[error("{provider}: model output does not match the output schema: {errors}")]
    SchemaMismatch {
        /// Provider name.
        provider: String,
        /// Validation errors, joined.
        errors: String,
        /// The model's raw output.
        content: String,
    },
    /// The requested output schema itself is not a valid JSON schema.
    #[error("invalid output schema: {reason}")]
    InvalidSchema {
        /// Compiler message.
        reason: String,
    },
    /// The request needs a capability the model does not have (per its `model_info`).
    #[error("{provider}: model `{model}` does not support {feature} (see `model_info`)")]
    Unsupported {
        /// Provider name.
        provider: String,
        /// Model name.
        model: String,
        /// The missing capability.
        feature: &'static str,
    },
    /// A client or component configuration is invalid.
    #[error("invalid model configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// The replay client has no more scripted responses.
    #[error("replay: no more scripted responses (used {used})")]
    ReplayExhausted {
        /// How many responses were returned before running out.
        used: usize,
    },
    /// The cache store failed.
    #[error("cache store error: {source}")]
    Cache {
        /// Underlying store error.
        #[source]
        source: redb::Error,
    },
    /// A cached entry could not be (de)serialised.
    #[error("cache entry error: {source}")]
    CacheEntry {
        /// Underlying serde error.
        #[source]
        source: serde_json::Error,
    },
}

impl ModelError {
    /// Whether retrying the same request may succeed (429, 5xx, connection errors, timeouts).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Status { status, .. } => *status == 429 || *status == 408 || *status >= 500,
            Self::Connection { .. } | Self::Timeout { .. } => true,
            _ => false,
        }
    }

    /// The HTTP status, when the error came from one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } | Self::Auth { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Converts any redb error into [`ModelError::Cache`].
pub(crate) fn store_error(e: impl Into<redb::Error>) -> ModelError {
    ModelError::Cache { source: e.into() }
}
