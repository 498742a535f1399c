//! `CodeExecutorAgentBuilder`: the options of a `CodeExecutorAgent` and their checks.

use std::sync::Arc;

use super::{
    ApprovalFn, CodeExecutorAgent, DEFAULT_AGENT_DESCRIPTION, DEFAULT_SUPPORTED_LANGUAGES,
    DEFAULT_SYSTEM_MESSAGE, DEFAULT_TERMINAL_DESCRIPTION,
};
use crate::agents::AgentError;
use crate::code_executors::{CodeExecutor, extract_code_blocks_with};
use crate::model_context::{ChatCompletionContext, UnboundedContext};
use crate::models::ChatCompletionClient;

/// Builds a [`CodeExecutorAgent`]; defaults are AutoGen's.
pub struct CodeExecutorAgentBuilder {
    name: String,
    executor: Arc<dyn CodeExecutor>,
    client: Option<Arc<dyn ChatCompletionClient>>,
    context: Option<Arc<dyn ChatCompletionContext>>,
    stream: bool,
    max_retries_on_error: u32,
    description: Option<String>,
    system_message: Option<String>,
    sources: Option<Vec<String>>,
    supported_languages: Option<Vec<String>>,
    approval: Option<ApprovalFn>,
}

impl CodeExecutorAgentBuilder {
    /// Starts a builder for `name` with `executor`.
    pub fn new(name: impl Into<String>, executor: Arc<dyn CodeExecutor>) -> Self {
        Self {
            name: name.into(),
            executor,
            client: None,
            context: None,
            stream: false,
            max_retries_on_error: 0,
            description: None,
            system_message: Some(DEFAULT_SYSTEM_MESSAGE.to_string()),
            sources: None,
            supported_languages: None,
            approval: None,
        }
    }

    /// A model client: the agent then writes code itself, executes it and reflects on it.
    pub fn model_client(mut self, client: Arc<dyn ChatCompletionClient>) -> Self {
        self.client = Some(client);
        self
    }

    /// The model context (unbounded by default).
    pub fn model_context(mut self, context: Arc<dyn ChatCompletionContext>) -> Self {
        self.context = Some(context);
        self
    }

    /// Streams model output as chunk events.
    pub fn model_client_stream(mut self, stream: bool) -> Self {
        self.stream = stream;
        self
    }

    /// How many times failed code may be rewritten (needs a model client with structured output).
    pub fn max_retries_on_error(mut self, retries: u32) -> Self {
        self.max_retries_on_error = retries;
        self
    }

    /// The description (default depends on whether a model client is set).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// The system message (`None` for none).
    pub fn system_message(mut self, message: Option<String>) -> Self {
        self.system_message = message;
        self
    }

    /// Only messages from these sources are searched for code (all when `None`).
    pub fn sources(mut self, sources: Option<Vec<String>>) -> Self {
        self.sources = sources;
        self
    }

    /// The fence language tags extracted (default `python`, `sh`).
    pub fn supported_languages(mut self, languages: Vec<String>) -> Self {
        self.supported_languages = Some(languages);
        self
    }

    /// The approval hook asked before any code runs.
    pub fn approval_func(mut self, approval: ApprovalFn) -> Self {
        self.approval = Some(approval);
        self
    }

    /// Checks the options (AutoGen's checks) and builds the agent.
    pub fn build(self) -> Result<CodeExecutorAgent, AgentError> {
        let bad = |reason: String| AgentError::Config {
            agent: self.name.clone(),
            reason,
        };
        let supported_languages = self.supported_languages.clone().unwrap_or_else(|| {
            DEFAULT_SUPPORTED_LANGUAGES
                .iter()
                .map(|l| l.to_string())
                .collect()
        });
        extract_code_blocks_with("", &supported_languages).map_err(|e| bad(e.to_string()))?;
        if self.max_retries_on_error > 0 {
            match &self.client {
                None => {
                    return Err(bad(
                        "model_client.model_info must be provided when max_retries_on_error > 0"
                            .into(),
                    ));
                }
                Some(c) if !c.model_info().structured_output => {
                    return Err(bad(
                        "Specified model_client doesn't support structured output mode.".into(),
                    ));
                }
                Some(_) => {}
            }
        }
        if self.approval.is_none() {
            tracing::warn!(
                agent = %self.name,
                "no approval function set for CodeExecutorAgent: code will run without human oversight"
            );
        }
        let description = self.description.unwrap_or_else(|| {
            if self.client.is_some() {
                DEFAULT_AGENT_DESCRIPTION.to_string()
            } else {
                DEFAULT_TERMINAL_DESCRIPTION.to_string()
            }
        });
        Ok(CodeExecutorAgent {
            name: self.name,
            description,
            executor: self.executor,
            client: self.client,
            context: self
                .context
                .unwrap_or_else(|| Arc::new(UnboundedContext::new())),
            stream: self.stream,
            max_retries_on_error: self.max_retries_on_error,
            system_message: self.system_message,
            sources: self.sources,
            supported_languages,
            approval: self.approval,
        })
    }
}
