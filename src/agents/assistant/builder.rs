//! `AssistantAgentBuilder`: every AssistantAgent option, validated in `build`.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use super::{
    AssistantAgent, DEFAULT_DESCRIPTION, DEFAULT_SYSTEM_MESSAGE, Handoff, StructuredOutput,
    SummaryFormatter,
};
use crate::agents::AgentError;
use crate::memory::Memory;
use crate::model_context::{ChatCompletionContext, UnboundedContext};
use crate::models::ChatCompletionClient;
use crate::tools::{StaticWorkbench, Tool};
use crate::workbench::Workbench;

/// Builds an [`AssistantAgent`].
pub struct AssistantAgentBuilder {
    name: String,
    client: Arc<dyn ChatCompletionClient>,
    description: String,
    system_message: Option<String>,
    tools: Vec<Arc<dyn Tool>>,
    workbenches: Vec<Arc<dyn Workbench>>,
    handoffs: Vec<Handoff>,
    context: Option<Arc<dyn ChatCompletionContext>>,
    memory: Vec<Arc<dyn Memory>>,
    stream: bool,
    reflect: Option<bool>,
    max_tool_iterations: usize,
    summary_format: String,
    summary_formatter: Option<SummaryFormatter>,
    output: Option<StructuredOutput>,
    metadata: BTreeMap<String, String>,
}

impl AssistantAgentBuilder {
    pub(super) fn new(name: String, client: Arc<dyn ChatCompletionClient>) -> Self {
        Self {
            name,
            client,
            description: DEFAULT_DESCRIPTION.into(),
            system_message: Some(DEFAULT_SYSTEM_MESSAGE.into()),
            tools: Vec::new(),
            workbenches: Vec::new(),
            handoffs: Vec::new(),
            context: None,
            memory: Vec::new(),
            stream: false,
            reflect: None,
            max_tool_iterations: 1,
            summary_format: "{result}".into(),
            summary_formatter: None,
            output: None,
            metadata: BTreeMap::new(),
        }
    }

    /// Description for selectors and tools.
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = d.into();
        self
    }

    /// System message (`None`: no system message).
    pub fn system_message(mut self, m: Option<String>) -> Self {
        self.system_message = m;
        self
    }

    /// Adds an in-process tool (served through a `StaticWorkbench`).
    pub fn tool(mut self, t: Arc<dyn Tool>) -> Self {
        self.tools.push(t);
        self
    }

    /// Adds a workbench (cannot be combined with `tool`).
    pub fn workbench(mut self, w: Arc<dyn Workbench>) -> Self {
        self.workbenches.push(w);
        self
    }

    /// Adds a handoff.
    pub fn handoff(mut self, h: Handoff) -> Self {
        self.handoffs.push(h.with_defaults());
        self
    }

    /// Sets the model context (default unbounded).
    pub fn model_context(mut self, c: Arc<dyn ChatCompletionContext>) -> Self {
        self.context = Some(c);
        self
    }

    /// Adds a memory, queried before each model call.
    pub fn memory(mut self, m: Arc<dyn Memory>) -> Self {
        self.memory.push(m);
        self
    }

    /// Streams model output as chunk events.
    pub fn model_client_stream(mut self, on: bool) -> Self {
        self.stream = on;
        self
    }

    /// Asks the model to answer from tool results (default: on with structured output, else off).
    pub fn reflect_on_tool_use(mut self, on: bool) -> Self {
        self.reflect = Some(on);
        self
    }

    /// How many model calls may produce tool calls in a row (>= 1).
    pub fn max_tool_iterations(mut self, n: usize) -> Self {
        self.max_tool_iterations = n;
        self
    }

    /// Summary format with `{tool_name}`, `{arguments}`, `{result}`, `{is_error}`.
    pub fn tool_call_summary_format(mut self, f: impl Into<String>) -> Self {
        self.summary_format = f.into();
        self
    }

    /// A function formatting each call and result (overrides the format string).
    pub fn tool_call_summary_formatter(mut self, f: SummaryFormatter) -> Self {
        self.summary_formatter = Some(f);
        self
    }

    /// Structured output: answers become `StructuredMessage`s validated against the schema.
    pub fn output_content_type(mut self, o: StructuredOutput) -> Self {
        self.output = Some(o);
        self
    }

    /// Metadata.
    pub fn metadata(mut self, m: BTreeMap<String, String>) -> Self {
        self.metadata = m;
        self
    }

    /// Validates and builds.
    pub fn build(self) -> Result<AssistantAgent, AgentError> {
        let bad = |reason: String| AgentError::Config {
            agent: self.name.clone(),
            reason,
        };
        if self.max_tool_iterations < 1 {
            return Err(bad(format!(
                "Maximum number of tool iterations must be greater than or equal to 1, got {}",
                self.max_tool_iterations
            )));
        }
        let wants_calls = !self.tools.is_empty() || !self.handoffs.is_empty();
        if wants_calls && !self.client.model_info().function_calling {
            return Err(bad("The model does not support function calling.".into()));
        }
        if !self.tools.is_empty() && !self.workbenches.is_empty() {
            return Err(bad("Tools cannot be used with a workbench.".into()));
        }
        let mut names = HashSet::new();
        for t in &self.tools {
            if !names.insert(t.name().to_string()) {
                return Err(bad(format!("Tool names must be unique: {}", t.name())));
            }
        }
        for h in &self.handoffs {
            if names.contains(&h.name) || names.contains(&h.target) {
                return Err(bad("Handoff names must be unique from tool names".into()));
            }
            if !names.insert(h.name.clone()) {
                return Err(bad(format!("Handoff names must be unique: {}", h.name)));
            }
        }
        let workbenches = if self.workbenches.is_empty() {
            vec![Arc::new(StaticWorkbench::new(self.tools.clone())) as Arc<dyn Workbench>]
        } else {
            self.workbenches
        };
        Ok(AssistantAgent {
            reflect: self.reflect.unwrap_or(self.output.is_some()),
            context: self
                .context
                .unwrap_or_else(|| Arc::new(UnboundedContext::new())),
            name: self.name,
            description: self.description,
            client: self.client,
            system_message: self.system_message,
            tools: self.tools,
            workbenches,
            handoffs: self.handoffs,
            memory: self.memory,
            stream: self.stream,
            max_tool_iterations: self.max_tool_iterations,
            summary_format: self.summary_format,
            summary_formatter: self.summary_formatter,
            output_validator: self.output.as_ref().map(|o| {
                jsonschema::validator_for(&o.schema)
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            }),
            output: self.output,
            metadata: self.metadata,
        })
    }
}
