//! The `CodeExecutor` trait and the data it takes and returns.

use std::path::PathBuf;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::error::CodeExecutorError;
use crate::component::ComponentModel;

/// A code block taken from a message: its language tag and its code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeBlock {
    /// The fence's language tag (`python`, `py`, `bash`, `sh`, `shell`, ...).
    pub language: String,
    /// The code.
    pub code: String,
}

impl CodeBlock {
    /// A block of `language` with `code`.
    pub fn new(language: impl Into<String>, code: impl Into<String>) -> Self {
        Self {
            language: language.into(),
            code: code.into(),
        }
    }
}

/// The outcome of running a list of blocks (AutoGen `CommandLineCodeResult`, plus the files the
/// code created).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeResult {
    /// Exit code of the last block run (0 when all succeeded; 124 on timeout; 1 for an unknown
    /// language or a file name outside the work dir).
    pub exit_code: i32,
    /// stdout and stderr of every block run, interleaved as produced.
    pub output: String,
    /// The code files written into the work dir, in run order.
    pub code_files: Vec<PathBuf>,
    /// Files that appeared in the work dir during the run (code files excluded), sorted.
    pub files_created: Vec<PathBuf>,
    /// Whether a block was killed for exceeding the timeout.
    pub timed_out: bool,
}

impl CodeResult {
    /// The first code file, as AutoGen's `code_file`.
    pub fn code_file(&self) -> Option<&PathBuf> {
        self.code_files.first()
    }
}

/// Runs code blocks somewhere (a container, the host) and reports what happened.
///
/// Blocks run in order; the run stops at the first block that fails (non-zero exit, unknown
/// language, timeout). The executor's own failures (engine unreachable, cancelled, I/O) are
/// errors; the code's failures are a [`CodeResult`] with a non-zero exit code.
#[async_trait]
pub trait CodeExecutor: Send + Sync {
    /// Runs `blocks` in order; `cancel` kills the running block and returns
    /// [`CodeExecutorError::Cancelled`].
    async fn execute_code_blocks(
        &self,
        blocks: &[CodeBlock],
        cancel: &CancellationToken,
    ) -> Result<CodeResult, CodeExecutorError>;

    /// Prepares the executor (work dir, container); idempotent.
    async fn start(&self) -> Result<(), CodeExecutorError>;

    /// Releases everything the executor holds (kills and removes its container, removes a
    /// temporary work dir); idempotent.
    async fn stop(&self) -> Result<(), CodeExecutorError>;

    /// Stops and starts again (a fresh container; the work dir is kept).
    async fn restart(&self) -> Result<(), CodeExecutorError>;

    /// The host directory code runs in, once known (a temporary one exists only after `start`).
    fn work_dir(&self) -> Option<PathBuf>;

    /// The executor's component config (AutoGen `dump_component`).
    fn dump_component(&self) -> Result<ComponentModel, CodeExecutorError>;
}
