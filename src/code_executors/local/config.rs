//! Config of the local executor (AutoGen `LocalCommandLineCodeExecutorConfig` plus `enabled`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::code_executors::error::CodeExecutorError;

/// Config of [`super::LocalCommandLineCodeExecutor`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalExecutorConfig {
    /// Must be `true` for the executor to run anything (host execution is dangerous).
    #[serde(default)]
    pub enabled: bool,
    /// Per-block timeout in seconds (at least 1).
    #[serde(default = "default_timeout")]
    pub timeout: u64,
    /// Work dir; a temporary dir (removed on stop) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_dir: Option<PathBuf>,
    /// Remove the code files after each run.
    #[serde(default = "default_true")]
    pub cleanup_temp_files: bool,
    /// Python interpreter to run python blocks with (default `python3` on PATH).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub python: Option<String>,
    /// Most output bytes kept per run.
    #[serde(default = "default_max_output")]
    pub max_output_bytes: usize,
}

fn default_timeout() -> u64 {
    60
}

fn default_true() -> bool {
    true
}

fn default_max_output() -> usize {
    1 << 20
}

impl Default for LocalExecutorConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            timeout: default_timeout(),
            work_dir: None,
            cleanup_temp_files: true,
            python: None,
            max_output_bytes: default_max_output(),
        }
    }
}

impl LocalExecutorConfig {
    /// Checks the values; refuses when not `enabled`.
    pub fn validate(&self) -> Result<(), CodeExecutorError> {
        if !self.enabled {
            return Err(CodeExecutorError::LocalExecutionDisabled);
        }
        if self.timeout < 1 {
            return Err(CodeExecutorError::Config {
                reason: "timeout must be at least 1 second".into(),
            });
        }
        Ok(())
    }
}
