//! `WorkbenchSet`: the workbench files of a folder served as tools (a member of the Gateway).
//! Every call builds a fresh team or agent, streams each inner message to the caller as a
//! progress notification and a log message, and answers with AutoGen's text formatting plus a
//! structured result (`messages`, `stop_reason`, `usage`). A file that cannot run (bad keys,
//! unknown model or provider) is left out with one warning per problem. The MCP servers of a
//! file's `McpWorkbench` entries belong to the file (stopped when it changes or goes, and at
//! [`WorkbenchSet::shutdown`]) or to each run (`[toolyard] mcp_servers = "per-run"`). With a
//! store ([`WorkbenchSet::keep_conversations`]) every call is a turn of a conversation
//! (`conversation_id` in, and out in the structured result).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, RwLock};

use async_trait::async_trait;
use rmcp::model::{CallToolResult, ContentBlock, JsonObject, Tool as McpTool};
use serde_json::{Map, Value, json};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::check::{Problem, runnable_problems};
use super::conversation::{CONVERSATION_ID, ConversationError, Conversations, owner_of};
use super::file::load_folder;
use super::mcp_servers::{McpServers, Scope};
use super::models::{ModelTable, RunEnv};
use super::prepare::{Built, Mode, build, no_input_channel};
use super::task_tools::follow::{Followed, Reporting, follow};
use super::view::GatewayHandle;
use super::{WorkbenchFile, WorkbenchesError};
use crate::agents::{Task, UserInputFn};
use crate::compose::caller_input::caller_input_for;
use crate::messages::TaskResult;
use crate::telemetry::events;
use crate::workbench::{CallContext, ToolSpec, Workbench, WorkbenchChange, WorkbenchError};

/// Makes the input function of a run's `UserProxyAgent`s from the call (e.g. asking the calling
/// client's user through MCP elicitation).
pub type InputFactory = Arc<dyn Fn(&RunEnv) -> UserInputFn + Send + Sync>;

/// One served file and the MCP servers its runs share.
struct Entry {
    file: Arc<WorkbenchFile>,
    servers: Arc<McpServers>,
}

/// The workbench files of one folder, served as tools.
pub struct WorkbenchSet {
    dir: PathBuf,
    models: Arc<ModelTable>,
    input: InputFactory,
    gateway: GatewayHandle,
    entries: RwLock<Arc<Vec<Arc<Entry>>>>,
    problems: RwLock<Arc<Vec<Problem>>>,
    changes: broadcast::Sender<WorkbenchChange>,
    /// Parent of every file's and every run's MCP servers.
    root: CancellationToken,
    /// Where conversations are kept (none: a call may not name one).
    conversations: OnceLock<Arc<Conversations>>,
}

/// One call: its task text and the conversation it continues, if any.
struct Request {
    task: String,
    conversation: Option<String>,
}

impl std::fmt::Debug for WorkbenchSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkbenchSet")
            .field("dir", &self.dir)
            .finish()
    }
}

impl WorkbenchSet {
    /// Loads the folder's files (a bad file is logged and left out; `toolyard check` names it).
    /// `UserProxyAgent`s ask the calling client's user: MCP elicitation for 2025-era callers,
    /// an `input_required` round for 2026-07-28 callers, and a clear error for a caller that
    /// supports neither.
    pub fn load(dir: &Path, models: Arc<ModelTable>) -> Arc<Self> {
        Self::load_with_input(
            dir,
            models,
            Arc::new(|env: &RunEnv| caller_input_for(&env.ctx)),
        )
    }

    /// Like [`WorkbenchSet::load`], but a run that needs human input fails at once.
    pub fn load_without_input(dir: &Path, models: Arc<ModelTable>) -> Arc<Self> {
        Self::load_with_input(dir, models, Arc::new(|_env: &RunEnv| no_input_channel()))
    }

    /// Like [`WorkbenchSet::load`], with `input` making each run's human-input function.
    pub fn load_with_input(dir: &Path, models: Arc<ModelTable>, input: InputFactory) -> Arc<Self> {
        let (changes, _) = broadcast::channel(16);
        let set = Arc::new(Self {
            dir: dir.to_path_buf(),
            models,
            input,
            gateway: GatewayHandle::default(),
            entries: RwLock::new(Arc::new(Vec::new())),
            problems: RwLock::new(Arc::new(Vec::new())),
            changes,
            root: CancellationToken::new(),
            conversations: OnceLock::new(),
        });
        set.reload();
        set
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Keeps every call's conversation in `conversations` (once; later calls are ignored).
    pub fn keep_conversations(&self, conversations: Arc<Conversations>) {
        let _ = self.conversations.set(conversations);
    }

    /// Where conversations are kept, once set.
    pub fn conversations(&self) -> Option<&Arc<Conversations>> {
        self.conversations.get()
    }

    /// The handle agents' views reach the gateway through; bind it once the gateway exists.
    pub fn gateway_handle(&self) -> &GatewayHandle {
        &self.gateway
    }

    /// The files served now.
    pub fn files(&self) -> Arc<Vec<Arc<WorkbenchFile>>> {
        Arc::new(self.entries().iter().map(|e| Arc::clone(&e.file)).collect())
    }

    /// Why the files left out at the last (re)load are not served, one problem per entry.
    pub fn problems(&self) -> Arc<Vec<Problem>> {
        self.problems
            .read()
            .map(|p| Arc::clone(&p))
            .unwrap_or_default()
    }

    fn entries(&self) -> Arc<Vec<Arc<Entry>>> {
        self.entries
            .read()
            .map(|e| Arc::clone(&e))
            .unwrap_or_default()
    }

    /// Re-reads the folder and tells listeners the tool list changed; the MCP servers of files
    /// that changed or went are told to stop.
    pub fn reload(&self) {
        for gone in self.swap() {
            gone.servers.stop();
        }
        let _ = self.changes.send(WorkbenchChange::Tools);
    }

    /// Like [`WorkbenchSet::reload`], but waits until the MCP servers of files that changed or
    /// went have stopped (their child processes are gone) before telling listeners.
    pub async fn refresh(&self) {
        for gone in self.swap() {
            gone.servers.shutdown().await;
        }
        let _ = self.changes.send(WorkbenchChange::Tools);
    }

    /// Stops the MCP servers of every file and run, and waits until they are gone; then closes
    /// the conversation store's connections.
    pub async fn shutdown(&self) {
        self.root.cancel();
        for entry in self.entries().iter() {
            entry.servers.shutdown().await;
        }
        if let Some(conversations) = self.conversations.get() {
            conversations.store().close().await;
        }
    }

    /// Loads the folder, keeps what can run, and replaces the served entries; the entries no
    /// longer served (their file changed or went).
    fn swap(&self) -> Vec<Arc<Entry>> {
        let (files, errors) = load_folder(&self.dir);
        let mut problems: Vec<Problem> = errors.into_iter().map(Problem::from).collect();
        let mut seen = std::collections::HashSet::new();
        let mut unique = Vec::new();
        for f in files {
            let cannot_run = runnable_problems(&f, &self.models);
            if !cannot_run.is_empty() {
                problems.extend(cannot_run);
                continue;
            }
            if !seen.insert(f.name.clone()) {
                problems.push(Problem::from(WorkbenchesError::file(
                    &f.path,
                    "name",
                    format!("tool name `{}` is used by an earlier file", f.name),
                )));
                continue;
            }
            unique.push(f);
        }
        // A team tool that can reach itself would recurse without end: serve none of a cycle.
        let mut cyclic = std::collections::HashSet::new();
        for c in super::check::cycles(&unique) {
            cyclic.extend(c.chain.iter().cloned());
            problems.push(Problem::from(c));
        }
        for p in &problems {
            tracing::warn!("workbench file not served: {p}");
        }
        let old = self.entries();
        let served: Vec<Arc<Entry>> = unique
            .into_iter()
            .filter(|f| !cyclic.contains(&f.name))
            .map(|f| match old.iter().find(|e| *e.file == f) {
                Some(same) => Arc::clone(same),
                None => Arc::new(Entry {
                    file: Arc::new(f),
                    servers: Arc::new(McpServers::new(&self.root)),
                }),
            })
            .collect();
        tracing::info!(dir = %self.dir.display(), tools = served.len(), "workbenches loaded");
        let gone = old
            .iter()
            .filter(|e| !served.iter().any(|s| Arc::ptr_eq(s, e)))
            .cloned()
            .collect();
        if let Ok(mut slot) = self.entries.write() {
            *slot = Arc::new(served);
        }
        if let Ok(mut slot) = self.problems.write() {
            *slot = Arc::new(problems);
        }
        gone
    }

    /// Polls the folder about every second and reloads when a file is added, changed or removed.
    pub fn watch(self: &Arc<Self>, shutdown: CancellationToken) {
        tokio::spawn(super::watch::poll(Arc::downgrade(self), shutdown));
    }

    fn entry(&self, name: &str) -> Option<Arc<Entry>> {
        self.entries().iter().find(|e| e.file.name == name).cloned()
    }

    /// Runs one call: with the file's shared MCP servers, or with servers of its own that are
    /// stopped (and waited for) before the answer goes back.
    async fn call(
        &self,
        entry: &Entry,
        request: Request,
        ctx: CallContext,
    ) -> Result<CallToolResult, WorkbenchError> {
        match entry.file.mcp_servers {
            Scope::Shared => self.run(&entry.file, &entry.servers, request, ctx).await,
            Scope::PerRun => {
                let own = McpServers::new(&self.root);
                let outcome = self.run(&entry.file, &own, request, ctx).await;
                own.shutdown().await;
                outcome
            }
        }
    }

    async fn run(
        &self,
        file: &WorkbenchFile,
        servers: &McpServers,
        request: Request,
        ctx: CallContext,
    ) -> Result<CallToolResult, WorkbenchError> {
        let Request { task, conversation } = request;
        let env = RunEnv { ctx: ctx.clone() };
        let mode = Mode::Run {
            models: &self.models,
            gateway: &self.gateway,
            env: &env,
            servers,
        };
        let built = match build(file, &mode, (self.input)(&env)) {
            Ok(b) => b,
            Err(e) => {
                return Ok(CallToolResult::error(vec![ContentBlock::text(
                    e.to_string(),
                )]));
            }
        };
        let conversations = self.conversations.get();
        let lease = match conversations {
            Some(c) => {
                let owner = owner_of(&ctx);
                match c
                    .begin(&file.name, &owner, conversation.as_deref(), &built)
                    .await
                {
                    Ok(lease) => Some(lease),
                    Err(e) => return Ok(refused(&e)),
                }
            }
            None if conversation.is_some() => return Ok(refused(&ConversationError::NoStore)),
            None => None,
        };
        let cancel = ctx.cancel.child_token();
        let _stop = cancel.clone().drop_guard();
        let running = async {
            match &built {
                Built::Team(team) => {
                    let stream = team.run_stream(Task::Text(task), cancel.clone());
                    follow(&file.name, stream, &ctx, Reporting::Progress).await
                }
                Built::Agent(agent) => {
                    let stream = agent.run_stream(Task::Text(task), cancel.clone());
                    let following = follow(&file.name, stream, &ctx, Reporting::Progress);
                    events::in_agent(&file.name, following).await
                }
            }
        };
        let (outcome, cost) = events::costed(running).await;
        let (Some(c), Some(lease)) = (conversations, lease) else {
            return ended(file, outcome, cost, None);
        };
        let Followed::Done(result) = &outcome else {
            // A failed or cancelled call leaves the conversation as it was before the call.
            c.abandon(lease).await;
            return ended(file, outcome, cost, None);
        };
        let id = lease.id().to_string();
        match c.finish(lease, &built, result.messages.len()).await {
            Ok(()) => ended(file, outcome, cost, Some(id)),
            Err(e) => Ok(refused(&e)),
        }
    }
}

/// The answer of a run that ended, carrying its conversation's id when one was saved.
fn ended(
    file: &WorkbenchFile,
    outcome: Followed,
    cost: Option<f64>,
    conversation: Option<String>,
) -> Result<CallToolResult, WorkbenchError> {
    match outcome {
        Followed::Done(result) => {
            let mut out = answer(file, &result, cost);
            if let (Some(id), Some(Value::Object(structured))) =
                (conversation, out.structured_content.as_mut())
            {
                structured.insert(CONVERSATION_ID.into(), Value::String(id));
            }
            Ok(out)
        }
        Followed::Cancelled => Err(WorkbenchError::Cancelled),
        Followed::Failed(message) => Ok(CallToolResult::error(vec![ContentBlock::text(format!(
            "{} failed: {message}",
            file.name
        ))])),
    }
}

/// A tool error for a conversation that cannot be continued or saved.
fn refused(error: &ConversationError) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(error.to_string())])
}

/// The tool result: AutoGen's `TaskRunnerTool` text plus the structured result.
/// `cost`: the run's cost in US dollars, when its models have prices (`usage.cost_usd`).
fn answer(file: &WorkbenchFile, result: &TaskResult, cost: Option<f64>) -> CallToolResult {
    let Some(text) = result.runner_text(file.return_value_as_last_message) else {
        return CallToolResult::error(vec![ContentBlock::text(
            "The last message is not a BaseChatMessage.",
        )]);
    };
    let usage = result.usage();
    let messages: Vec<Value> = result
        .messages
        .iter()
        .map(|m| serde_json::to_value(m).unwrap_or(Value::Null))
        .collect();
    let mut out = CallToolResult::success(vec![ContentBlock::text(text)]);
    let mut usage =
        json!({"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens});
    if let Some(cost) = cost {
        usage["cost_usd"] = json!(cost);
    }
    out.structured_content = Some(json!({
        "messages": messages,
        "stop_reason": result.stop_reason,
        "usage": usage,
    }));
    out
}

/// The output schema of every workbench tool.
pub fn output_schema() -> Map<String, Value> {
    let schema = json!({
        "type": "object",
        "properties": {
            "messages": {"type": "array", "items": {"type": "object"},
                         "description": "Every message and event of the run (AutoGen shapes)."},
            "stop_reason": {"type": ["string", "null"], "description": "Why the run stopped."},
            "conversation_id": {"type": "string",
                                "description": "The conversation this call was a turn of: pass it as `conversation_id` to continue."},
            "usage": {
                "type": "object",
                "properties": {
                    "prompt_tokens": {"type": "integer"},
                    "completion_tokens": {"type": "integer"},
                    "cost_usd": {"type": "number",
                                 "description": "The run's model cost in US dollars, when its models have prices."}
                }
            }
        },
        "required": ["messages", "stop_reason", "usage"]
    });
    match schema {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn spec(file: &WorkbenchFile) -> ToolSpec {
    let mut input = file.input_schema();
    if let Some(Value::Object(properties)) = input.get_mut("properties") {
        properties.insert(
            CONVERSATION_ID.into(),
            json!({"type": "string",
                   "description": "Continue this conversation (the `conversation_id` of an earlier result): the team sees its whole history. Leave it out to start a new one."}),
        );
    }
    let mut tool = McpTool::new(file.name.clone(), file.description.clone(), input);
    tool.output_schema = Some(Arc::new(output_schema()));
    let mut spec = ToolSpec::new(tool);
    // Long runs may be MCP tasks (the server faces run them in the background).
    spec.extra
        .insert("execution".into(), json!({"taskSupport": "optional"}));
    spec
}

#[async_trait]
impl Workbench for WorkbenchSet {
    async fn list_tools(&self) -> Result<Vec<ToolSpec>, WorkbenchError> {
        Ok(self.entries().iter().map(|e| spec(&e.file)).collect())
    }

    async fn call_tool(
        &self,
        name: &str,
        arguments: Option<JsonObject>,
        ctx: CallContext,
    ) -> Result<CallToolResult, WorkbenchError> {
        let entry = self
            .entry(name)
            .ok_or_else(|| WorkbenchError::UnknownTool { name: name.into() })?;
        let arguments = arguments.unwrap_or_default();
        let task = entry.file.task_text(&arguments).map_err(|message| {
            WorkbenchError::InvalidArguments {
                tool: name.into(),
                field: "task".into(),
                message,
            }
        })?;
        let conversation = match arguments.get(CONVERSATION_ID) {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) => Some(id.clone()),
            Some(_) => {
                return Err(WorkbenchError::InvalidArguments {
                    tool: name.into(),
                    field: CONVERSATION_ID.into(),
                    message: "`conversation_id` must be a string".into(),
                });
            }
        };
        let span = tracing::info_span!("workbench_run", tool = %name);
        let request = Request { task, conversation };
        self.call(&entry, request, ctx).instrument(span).await
    }

    fn changes(&self) -> Option<broadcast::Receiver<WorkbenchChange>> {
        Some(self.changes.subscribe())
    }
}
