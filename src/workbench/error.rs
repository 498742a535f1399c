//! `WorkbenchError`: why a list or call on a workbench failed.

use std::time::Duration;

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
        )
    }
}
