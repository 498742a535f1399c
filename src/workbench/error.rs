//! `WorkbenchError`: why a list or call on a workbench failed.

use std::time::Duration;

/// The JSON-RPC error code of a call refused by a rate limit (an implementation-defined server
/// error; `data.retry_after_secs` says when to try again).
pub const RATE_LIMITED: rmcp::model::ErrorCode = rmcp::model::ErrorCode(-32029);

/// Why a workbench operation failed. Messages are meant for the caller (and a model) to read.
#[derive(Debug, thiserror::Error)]
pub enum WorkbenchError {
    /// No tool has this name.
    #[error("unknown tool `{name}`")]
    UnknownTool { name: String },
    /// No prompt has this name.
    #[error("unknown prompt `{name}`")]
    UnknownPrompt { name: String },
    /// No resource (or template) matches this URI.
    #[error("unknown resource `{uri}`")]
    UnknownResource { uri: String },
    /// Arguments do not match the tool's input schema.
    #[error("invalid arguments for tool `{tool}`: {field}: {message}")]
    InvalidArguments {
        tool: String,
        field: String,
        message: String,
    },
    /// The upstream server is not connected right now.
    #[error("server `{server}` is unavailable: {reason}")]
    Unavailable { server: String, reason: String },
    /// The upstream did not answer in time.
    #[error("server `{server}` did not answer `{operation}` within {timeout:?}")]
    Timeout {
        server: String,
        operation: String,
        timeout: Duration,
    },
    /// The caller cancelled the operation.
    #[error("cancelled")]
    Cancelled,
    /// The upstream answered with a JSON-RPC error.
    #[error("server `{server}` returned an error: {error}")]
    Upstream {
        server: String,
        error: Box<rmcp::ErrorData>,
    },
    /// The connection to the upstream failed during the operation.
    #[error("server `{server}` connection failed during `{operation}`: {message}")]
    Connection {
        server: String,
        operation: String,
        message: String,
    },
    /// The caller could not answer an input request (sampling, elicitation, roots).
    #[error("server `{server}` needs input the caller could not give: {error}")]
    Input {
        server: String,
        error: Box<rmcp::ErrorData>,
    },
    /// The upstream kept asking for input beyond the round limit.
    #[error("server `{server}` asked for input more than {rounds} times")]
    TooManyRounds { server: String, rounds: usize },
    /// The policy does not let this caller use the tool, prompt or resource (`kind`). Nothing
    /// about the rules is said.
    #[error("{kind} `{name}` is not permitted")]
    NotPermitted { kind: &'static str, name: String },
    /// The caller made more calls than its rate limit allows.
    #[error("rate limit reached: retry after {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// The operation is not something this workbench offers.
    #[error("{0}")]
    Unsupported(String),
}

impl WorkbenchError {
    /// The MCP error to answer a downstream request with.
    pub fn to_error_data(&self) -> rmcp::ErrorData {
        use rmcp::ErrorData;
        match self {
            WorkbenchError::UnknownTool { .. } | WorkbenchError::UnknownPrompt { .. } => {
                ErrorData::invalid_params(self.to_string(), None)
            }
            WorkbenchError::UnknownResource { uri } => ErrorData::resource_not_found(
                self.to_string(),
                Some(serde_json::json!({ "uri": uri })),
            ),
            WorkbenchError::InvalidArguments { .. } => {
                ErrorData::invalid_params(self.to_string(), None)
            }
            WorkbenchError::Upstream { error, .. } | WorkbenchError::Input { error, .. } => {
                (**error).clone()
            }
            WorkbenchError::NotPermitted { .. } => {
                ErrorData::invalid_request(self.to_string(), None)
            }
            WorkbenchError::RateLimited { retry_after_secs } => ErrorData::new(
                RATE_LIMITED,
                self.to_string(),
                Some(serde_json::json!({ "retry_after_secs": retry_after_secs })),
            ),
            _ => ErrorData::internal_error(self.to_string(), None),
        }
    }

    /// Whether this error belongs in a tool result (`isError: true`) rather than a protocol error.
    pub fn is_tool_error(&self) -> bool {
        !matches!(
            self,
            WorkbenchError::UnknownTool { .. }
                | WorkbenchError::Upstream { .. }
                | WorkbenchError::Input { .. }
                | WorkbenchError::NotPermitted { .. }
                | WorkbenchError::RateLimited { .. }
        )
    }
}
