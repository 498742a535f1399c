//! Finding code blocks in messages, asking the approval hook, running the blocks and wording
//! the result as AutoGen does.

use super::{ApprovalRequest, CodeExecutorAgent};
use crate::agents::AgentError;
use crate::code_executors::{CodeBlock, CodeExecutorError, CodeResult, extract_code_blocks_with};
use crate::messages::ChatMessage;

impl CodeExecutorAgent {
    /// The supported-language blocks of `text`.
    pub(super) fn extract(&self, text: &str) -> Result<Vec<CodeBlock>, AgentError> {
        extract_code_blocks_with(text, &self.supported_languages).map_err(|source| {
            AgentError::CodeExecutor {
                agent: self.name.clone(),
                source,
            }
        })
    }

    /// The code blocks of the `TextMessage`s whose source passes the sources filter, in order.
    pub fn extract_code_blocks_from_messages(
        &self,
        messages: &[ChatMessage],
    ) -> Result<Vec<CodeBlock>, AgentError> {
        let mut blocks = Vec::new();
        for m in messages {
            let wanted = self
                .sources
                .as_ref()
                .is_none_or(|s| s.iter().any(|x| x == m.source()));
            if let (true, ChatMessage::TextMessage(t)) = (wanted, m) {
                blocks.extend(self.extract(&t.content)?);
            }
        }
        Ok(blocks)
    }

    /// Asks the approval hook (if any), runs `blocks` and words the output as AutoGen does (no
    /// output and errors get an explanatory sentence). A rejection is a result with exit code 1.
    pub async fn execute_code_block(
        &self,
        blocks: &[CodeBlock],
        cancel: &tokio_util::sync::CancellationToken,
    ) -> Result<CodeResult, AgentError> {
        if let Some(approval) = &self.approval {
            let code = blocks
                .iter()
                .map(|b| format!("```{}\n{}\n```", b.language, b.code))
                .collect::<Vec<_>>()
                .join("\n\n");
            let request = ApprovalRequest {
                code,
                context: self.context.get_messages().await,
            };
            let response = tokio::select! {
                r = approval(request) => r,
                _ = cancel.cancelled() => return Err(AgentError::Cancelled { agent: self.name.clone() }),
            };
            if !response.approved {
                tracing::info!(agent = %self.name, reason = %response.reason, "code execution not approved");
                return Ok(CodeResult {
                    exit_code: 1,
                    output: format!(
                        "Code execution was not approved. Reason: {}",
                        response.reason
                    ),
                    code_files: Vec::new(),
                    files_created: Vec::new(),
                    timed_out: false,
                });
            }
        }
        let mut result = self
            .executor
            .execute_code_blocks(blocks, cancel)
            .await
            .map_err(|source| match source {
                CodeExecutorError::Cancelled => AgentError::Cancelled {
                    agent: self.name.clone(),
                },
                source => AgentError::CodeExecutor {
                    agent: self.name.clone(),
                    source,
                },
            })?;
        if result.output.trim().is_empty() {
            result.output = format!(
                "The script ran but produced no output to console. The POSIX exit code was: {}. If you were expecting output, consider revising the script to ensure content is printed to stdout.",
                result.exit_code
            );
        } else if result.exit_code != 0 {
            result.output = format!(
                "The script ran, then exited with an error (POSIX exit code: {})\nIts output was:\n{}",
                result.exit_code, result.output
            );
        }
        Ok(result)
    }
}
