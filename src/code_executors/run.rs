//! The block loop both executors share: language check, code file, run, stop at first failure.

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use super::error::CodeExecutorError;
use super::executor::{CodeBlock, CodeResult};
use super::language::Language;
use super::output::OutputBuffer;
use super::workspace;

/// Exit code reported for a block killed by the timeout (as GNU `timeout` and AutoGen).
pub(crate) const TIMEOUT_EXIT_CODE: i32 = 124;

/// How one block ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlockOutcome {
    /// The process exited with this code (128 + signal when killed by a signal).
    Exited(i32),
    /// The timeout fired and the process was killed.
    TimedOut,
}

/// Runs one code file; the executor-specific part of the loop.
#[async_trait]
pub(crate) trait BlockRunner: Send + Sync {
    /// Runs `file` (relative to the work dir) as `language`, appending its output to `output`;
    /// kills it after `timeout` or when `cancel` fires (then returns `Cancelled`).
    async fn run_file(
        &self,
        language: Language,
        file: &Path,
        output: &mut OutputBuffer,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> Result<BlockOutcome, CodeExecutorError>;
}

/// Limits of one `execute_code_blocks` call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RunLimits {
    /// Per-block timeout.
    pub timeout: Duration,
    /// Most output bytes kept.
    pub max_output_bytes: usize,
}

/// Runs `blocks` in order in `work_dir` through `runner`, AutoGen style.
pub(crate) async fn run_blocks(
    runner: &dyn BlockRunner,
    work_dir: &Path,
    blocks: &[CodeBlock],
    limits: RunLimits,
    cancel: &CancellationToken,
) -> Result<CodeResult, CodeExecutorError> {
    if blocks.is_empty() {
        return Err(CodeExecutorError::NoCodeBlocks);
    }
    let before = workspace::list_files(work_dir);
    let mut output = OutputBuffer::new(limits.max_output_bytes);
    let mut code_files: Vec<PathBuf> = Vec::new();
    let mut exit_code = 0;
    let mut timed_out = false;
    for block in blocks {
        if cancel.is_cancelled() {
            return Err(CodeExecutorError::Cancelled);
        }
        let Some(language) = Language::from_tag(&block.language) else {
            output.push(format!("unknown language {}\n", block.language.to_lowercase()).as_bytes());
            exit_code = 1;
            break;
        };
        let relative = match workspace::code_file_name(&block.code, language) {
            Ok(r) => r,
            Err(message) => {
                output.push(message.as_bytes());
                exit_code = 1;
                break;
            }
        };
        code_files.push(workspace::write_code_file(
            work_dir,
            &relative,
            &block.code,
        )?);
        tracing::debug!(%language, file = %relative.display(), "running code block");
        match runner
            .run_file(language, &relative, &mut output, limits.timeout, cancel)
            .await?
        {
            BlockOutcome::Exited(code) => exit_code = code,
            BlockOutcome::TimedOut => {
                output.push(
                    format!(
                        "\nTimeout: the block ran longer than {}s and was killed\n",
                        limits.timeout.as_secs_f64()
                    )
                    .as_bytes(),
                );
                exit_code = TIMEOUT_EXIT_CODE;
                timed_out = true;
            }
        }
        if exit_code != 0 {
            break;
        }
    }
    let after = workspace::list_files(work_dir);
    Ok(CodeResult {
        exit_code,
        output: output.into_string(),
        files_created: workspace::created_files(work_dir, &before, &after, &code_files),
        code_files,
        timed_out,
    })
}
