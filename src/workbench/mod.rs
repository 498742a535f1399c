//! The `Workbench` trait: a set of tools (plus resources and prompts) that can be listed and called.
//!
//! Everything that offers tools is a workbench: one upstream MCP server ([`crate::mcp::McpWorkbench`]),
//! the [`crate::gateway::Gateway`] over many of them, and in-process tools
//! (`crate::tools::StaticWorkbench`). Agents call tools
//! through a workbench; the MCP server faces serve one.

mod caller;
mod error;
mod observer;
mod principal;
mod tasks;

use std::sync::Arc;

use async_trait::async_trait;
use rmcp::model::{
    CallToolResult, ClientCapabilities, CompleteRequestParams, CompleteResult, GetPromptResult,
    JsonObject, LoggingLevel, Prompt, ProtocolVersion, ReadResourceResult, Resource,
    ResourceTemplate, Tool,
};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

pub use caller::CallerSession;
pub use error::{RATE_LIMITED, WorkbenchError};
pub use observer::{CallObserver, NoObserver, withdrawn};
pub use principal::{AuthMethod, Principal};
pub use tasks::{
    CallFuture, RemoteTask, RemoteTaskHandle, TaskRequest, TaskStart, TaskSupport, TaskUpdate,
};

/// A tool definition as served: rmcp's typed [`Tool`] plus the fields it does not model.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    /// The typed definition.
    pub tool: Tool,
    /// Fields of the wire definition that [`Tool`] drops (e.g. `execution`), kept verbatim.
    pub extra: JsonObject,
}

impl ToolSpec {
    /// A spec with no extra fields.
    pub fn new(tool: Tool) -> Self {
        Self {
            tool,
            extra: JsonObject::new(),
        }
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.tool.name
    }

    /// The full wire form: the typed fields plus the preserved extras.
    pub fn to_json(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(&self.tool).unwrap_or_default();
        if let Some(obj) = value.as_object_mut() {
            for (k, v) in &self.extra {
                obj.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        value
    }
}

/// Who is calling, as far as an upstream needs to know (2026-07-28 sends this per request).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallerInfo {
    /// The caller's client capabilities (what input requests it can answer).
    pub capabilities: Option<ClientCapabilities>,
    /// The least severe log level the caller wants to receive; `None`: no log messages.
    pub log_level: Option<LoggingLevel>,
    /// Which downstream caller this is: upstream sessions with `session = "per_caller"` are
    /// keyed on it. `None` for calls made on nobody's behalf (the CLI, a test).
    pub session: Option<CallerSession>,
    /// The protocol version the caller speaks (its era picks the upstream session of a server
    /// that speaks both); `None`: unknown (the CLI, a test).
    pub protocol: Option<ProtocolVersion>,
    /// Who the call is made for, when the face authenticated the caller (`[auth]`, or the
    /// stdio face's `[auth.stdio]`); `None`: nobody in particular (auth off, the CLI, a test).
    /// Policy decides on it, and it travels into served teams so their agents act for the caller.
    pub principal: Option<Arc<Principal>>,
}

/// What a workbench call carries besides its arguments.
#[derive(Clone)]
pub struct CallContext {
    /// Cancelled when the caller gives up; the call must stop promptly.
    pub cancel: CancellationToken,
    /// Receives progress and logging, and answers sampling/elicitation on the caller's behalf.
    pub observer: Arc<dyn CallObserver>,
    /// The caller's capabilities and log level.
    pub caller: CallerInfo,
}

impl Default for CallContext {
    fn default() -> Self {
        Self {
            cancel: CancellationToken::new(),
            observer: Arc::new(NoObserver),
            caller: CallerInfo::default(),
        }
    }
}

impl CallContext {
    /// A context with the given cancellation token and no observer.
    pub fn with_cancel(cancel: CancellationToken) -> Self {
        Self {
            cancel,
            ..Self::default()
        }
    }
}

/// Something in a workbench changed; listeners re-fetch what they cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkbenchChange {
    /// The tool list changed.
    Tools,
    /// The resource or resource-template list changed.
    Resources,
    /// The prompt list changed.
    Prompts,
    /// The resource with this URI was updated.
    ResourceUpdated(String),
    /// The health of a member changed (a server went down or came back).
    Health,
}

/// A set of tools, resources and prompts that can be listed and used.
///
/// Only `list_tools` and `call_tool` are required; the rest default to "nothing here".
#[async_trait]
pub trait Workbench: Send + Sync {
    /// The tools this workbench offers now.
    async fn list_tools(&self) -> Result<Vec<ToolSpec>, WorkbenchError>;

    /// The tools `caller` may call: by default all of [`Workbench::list_tools`]; a workbench
    /// with a policy (the gateway) leaves out what the caller is not permitted to call.
    async fn list_tools_for(&self, _caller: &CallerInfo) -> Result<Vec<ToolSpec>, WorkbenchError> {
        self.list_tools().await
    }

    /// Call a tool by name.
    async fn call_tool(
        &self,
        name: &str,
        arguments: Option<JsonObject>,
        ctx: CallContext,
    ) -> Result<CallToolResult, WorkbenchError>;

    /// Start a call of tool `name` that the caller wants run as a task. A workbench whose tools
    /// can run as tasks where they live (an upstream with task support) starts one there and
    /// answers [`TaskStart::Remote`]; the default, [`TaskStart::Local`], has the server run the
    /// plain call as a task of its own. Input asked before the answer comes goes to the caller
    /// as part of its request (an `input_required` round for a 2026-07-28 caller).
    async fn start_task(
        &self,
        _name: &str,
        _arguments: Option<JsonObject>,
        _ctx: CallContext,
        _task: TaskRequest,
    ) -> Result<TaskStart, WorkbenchError> {
        Ok(TaskStart::Local)
    }

    /// The resources offered now.
    async fn list_resources(&self) -> Result<Vec<Resource>, WorkbenchError> {
        Ok(Vec::new())
    }

    /// The resources `caller` may read (by default all of [`Workbench::list_resources`]).
    async fn list_resources_for(
        &self,
        _caller: &CallerInfo,
    ) -> Result<Vec<Resource>, WorkbenchError> {
        self.list_resources().await
    }

    /// The resource templates offered now.
    async fn list_resource_templates(&self) -> Result<Vec<ResourceTemplate>, WorkbenchError> {
        Ok(Vec::new())
    }

    /// Read one resource.
    async fn read_resource(
        &self,
        uri: &str,
        _ctx: CallContext,
    ) -> Result<ReadResourceResult, WorkbenchError> {
        Err(WorkbenchError::UnknownResource { uri: uri.into() })
    }

    /// Ask to be told when a resource changes (see [`WorkbenchChange::ResourceUpdated`]), for
    /// `caller` (its protocol era picks the upstream session).
    async fn subscribe_resource(
        &self,
        uri: &str,
        _caller: &CallerInfo,
    ) -> Result<(), WorkbenchError> {
        Err(WorkbenchError::UnknownResource { uri: uri.into() })
    }

    /// Stop being told about a resource (one subscription of `caller`'s ends).
    async fn unsubscribe_resource(
        &self,
        uri: &str,
        _caller: &CallerInfo,
    ) -> Result<(), WorkbenchError> {
        Err(WorkbenchError::UnknownResource { uri: uri.into() })
    }

    /// The prompts offered now.
    async fn list_prompts(&self) -> Result<Vec<Prompt>, WorkbenchError> {
        Ok(Vec::new())
    }

    /// The prompts `caller` may get (by default all of [`Workbench::list_prompts`]).
    async fn list_prompts_for(&self, _caller: &CallerInfo) -> Result<Vec<Prompt>, WorkbenchError> {
        self.list_prompts().await
    }

    /// Render one prompt.
    async fn get_prompt(
        &self,
        name: &str,
        _arguments: Option<JsonObject>,
        _ctx: CallContext,
    ) -> Result<GetPromptResult, WorkbenchError> {
        Err(WorkbenchError::UnknownPrompt { name: name.into() })
    }

    /// Argument completion for a prompt or resource template.
    async fn complete(
        &self,
        _params: CompleteRequestParams,
    ) -> Result<CompleteResult, WorkbenchError> {
        Ok(CompleteResult::default())
    }

    /// The served definition of one tool (extras included), if it is known without waiting:
    /// used on every call where listing all tools would be wasteful (task support) or impossible
    /// (validating `Mcp-Param` headers synchronously).
    fn cached_tool(&self, _name: &str) -> Option<ToolSpec> {
        None
    }

    /// The task support of one tool, if it is known without waiting (every tool call asks):
    /// by default read from [`Workbench::cached_tool`]; a workbench with a table answers
    /// without copying the definition.
    fn cached_task_support(&self, name: &str) -> Option<TaskSupport> {
        self.cached_tool(name).map(|spec| TaskSupport::of(&spec))
    }

    /// A stream of change events, if this workbench can change.
    fn changes(&self) -> Option<broadcast::Receiver<WorkbenchChange>> {
        None
    }
}
