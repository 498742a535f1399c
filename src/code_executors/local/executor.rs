//! The local executor: host processes in a work dir, per-block timeout, opt-in only.

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use super::config::LocalExecutorConfig;
use super::process::run_program;
use crate::code_executors::component::{self, LOCAL_PROVIDER};
use crate::code_executors::error::CodeExecutorError;
use crate::code_executors::executor::{CodeBlock, CodeExecutor, CodeResult};
use crate::code_executors::language::Language;
use crate::code_executors::output::OutputBuffer;
use crate::code_executors::run::{BlockOutcome, BlockRunner, RunLimits, run_blocks};
use crate::code_executors::workspace::WorkDir;
use crate::component::ComponentModel;

/// Runs code blocks as processes on this host (AutoGen `LocalCommandLineCodeExecutor`).
///
/// **Dangerous**: the code has this process's privileges, environment (including secrets in
/// environment variables), files and network. Only constructed when the config has
/// `enabled = true`; use the Docker executor for model-written code.
pub struct LocalCommandLineCodeExecutor {
    config: LocalExecutorConfig,
    work_dir: std::sync::Mutex<Option<WorkDir>>,
    /// Serialises runs: one block at a time per executor.
    run_lock: Mutex<()>,
}

impl std::fmt::Debug for LocalCommandLineCodeExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalCommandLineCodeExecutor")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl LocalCommandLineCodeExecutor {
    /// An executor for `config`; refuses with [`CodeExecutorError::LocalExecutionDisabled`]
    /// unless `config.enabled`.
    pub fn new(config: LocalExecutorConfig) -> Result<Self, CodeExecutorError> {
        config.validate()?;
        Ok(Self {
            config,
            work_dir: std::sync::Mutex::new(None),
            run_lock: Mutex::new(()),
        })
    }

    /// The config.
    pub fn config(&self) -> &LocalExecutorConfig {
        &self.config
    }

    /// The work dir, prepared on first use.
    fn ensure_work_dir(&self) -> Result<WorkDir, CodeExecutorError> {
        let mut slot = self.work_dir.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(dir) = slot.as_ref() {
            return Ok(dir.clone());
        }
        let dir = WorkDir::prepare(self.config.work_dir.as_deref())?;
        *slot = Some(dir.clone());
        Ok(dir)
    }

    fn interpreter(&self, language: Language) -> &str {
        match (language, &self.config.python) {
            (Language::Python, Some(python)) => python,
            _ => language.default_interpreter(),
        }
    }
}

/// Runs files of one work dir on the host.
struct HostRunner<'a> {
    executor: &'a LocalCommandLineCodeExecutor,
    dir: &'a Path,
}

#[async_trait]
impl BlockRunner for HostRunner<'_> {
    async fn run_file(
        &self,
        language: Language,
        file: &Path,
        output: &mut OutputBuffer,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> Result<BlockOutcome, CodeExecutorError> {
        let program = self.executor.interpreter(language);
        run_program(program, file, self.dir, output, timeout, cancel).await
    }
}

#[async_trait]
impl CodeExecutor for LocalCommandLineCodeExecutor {
    async fn execute_code_blocks(
        &self,
        blocks: &[CodeBlock],
        cancel: &CancellationToken,
    ) -> Result<CodeResult, CodeExecutorError> {
        let _running = self.run_lock.lock().await;
        let dir = self.ensure_work_dir()?;
        let runner = HostRunner {
            executor: self,
            dir: dir.path(),
        };
        let limits = RunLimits {
            timeout: Duration::from_secs(self.config.timeout),
            max_output_bytes: self.config.max_output_bytes,
        };
        let result = run_blocks(&runner, dir.path(), blocks, limits, cancel).await;
        if self.config.cleanup_temp_files
            && let Ok(result) = &result
        {
            for file in &result.code_files {
                let _ = std::fs::remove_file(file);
            }
        }
        result
    }

    async fn start(&self) -> Result<(), CodeExecutorError> {
        self.ensure_work_dir().map(|_| ())
    }

    async fn stop(&self) -> Result<(), CodeExecutorError> {
        let _running = self.run_lock.lock().await;
        let dir = self
            .work_dir
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(dir) = dir {
            dir.remove_if_temp();
        }
        Ok(())
    }

    async fn restart(&self) -> Result<(), CodeExecutorError> {
        Ok(())
    }

    fn work_dir(&self) -> Option<PathBuf> {
        let slot = self.work_dir.lock().unwrap_or_else(|p| p.into_inner());
        slot.as_ref()
            .map(|d| d.path().to_path_buf())
            .or_else(|| self.config.work_dir.clone())
    }

    fn dump_component(&self) -> Result<ComponentModel, CodeExecutorError> {
        component::dump(LOCAL_PROVIDER, "LocalCommandLineCodeExecutor", &self.config)
    }
}
