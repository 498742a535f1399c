//! The error type of the code-executor boundary.

use std::path::PathBuf;

/// What can go wrong around code execution (not the code's own failure: that is a `CodeResult`
/// with a non-zero exit code).
#[derive(Debug, thiserror::Error)]
pub enum CodeExecutorError {
    /// The local executor was used without `enabled = true` in its config.
    #[error(
        "local code execution is disabled: it runs model-written code on this host with your \
         privileges; set `enabled = true` in the LocalCommandLineCodeExecutor config to allow it"
    )]
    LocalExecutionDisabled,
    /// A config value is invalid.
    #[error("invalid code executor config: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// `execute_code_blocks` was called with no blocks.
    #[error("no code blocks to execute")]
    NoCodeBlocks,
    /// The cancellation token fired while code was running; the process was killed.
    #[error("code execution was cancelled")]
    Cancelled,
    /// A file-system operation in the work dir failed.
    #[error("work dir I/O failed at {path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Starting a host process failed.
    #[error("could not start `{program}`: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// No Docker engine could be reached.
    #[error("cannot reach the Docker engine at {host}: {source}")]
    DockerConnect {
        /// The engine address.
        host: String,
        /// The underlying error.
        #[source]
        source: bollard::errors::Error,
    },
    /// A Docker API call failed.
    #[error("docker {operation} failed: {source}")]
    Docker {
        /// Which call (`create container`, `exec`, ...).
        operation: &'static str,
        /// The underlying error.
        #[source]
        source: bollard::errors::Error,
    },
    /// The configured image is not present in the engine (nothing is pulled).
    #[error("docker image `{image}` not found in the engine (it is never pulled): {source}")]
    ImageMissing {
        /// The image reference.
        image: String,
        /// The underlying error.
        #[source]
        source: bollard::errors::Error,
    },
    /// A component config could not be read or written.
    #[error("code executor component: {reason}")]
    Component {
        /// What is wrong.
        reason: String,
    },
}

impl CodeExecutorError {
    /// An [`CodeExecutorError::Io`] for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// A [`CodeExecutorError::Docker`] for `operation`.
    pub(crate) fn docker(operation: &'static str, source: bollard::errors::Error) -> Self {
        Self::Docker { operation, source }
    }
}
