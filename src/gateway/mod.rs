//! The Gateway workbench: many member workbenches as one, namespaced, filtered, renamed,
//! with argument validation and change notification.

mod guarded;
mod naming;
mod validate;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rmcp::model::{
    CallToolResult, CompleteRequestParams, CompleteResult, GetPromptResult, JsonObject, Prompt,
    ReadResourceResult, Reference, Resource, ResourceTemplate,
};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, GatewaySettings, ToolFilter};
use crate::mcp::{McpWorkbench, UpstreamStatus};
use crate::policy::{Guard, Outcome, Request};
use crate::workbench::{
    CallContext, CallerInfo, TaskRequest, TaskStart, TaskSupport, ToolSpec, Workbench,
    WorkbenchChange, WorkbenchError,
};

pub use naming::Collision;
pub use validate::{ArgumentProblem, ArgumentValidator};

/// How long after start a list waits for upstreams still making their first connection: a
/// client listing right after start sees the quick ones; slower ones are announced later with
/// `list_changed`, and a slow or dead upstream never holds a list up.
const FIRST_LIST_GRACE: Duration = Duration::from_secs(1);

/// Extra tool-definition fields per served tool name (see [`ToolSpec::extra`]), kept current
/// as the tool table is rebuilt; the server faces put them back into `tools/list` results.
pub type ToolExtrasTable = Arc<RwLock<HashMap<String, JsonObject>>>;

/// One workbench inside the gateway.
#[derive(Clone)]
pub struct Member {
    /// Its name: the namespace prefix (`""`: its names are served without a prefix).
    pub name: String,
    /// The workbench.
    pub workbench: Arc<dyn Workbench>,
    /// Which of its tools are served and how they are renamed.
    pub filter: ToolFilter,
}

/// A tool as the gateway serves it.
#[derive(Clone)]
pub struct ExposedTool {
    /// The served name.
    pub name: String,
    /// The member's name.
    pub server: String,
    /// The name at the member.
    pub upstream: String,
    /// The served definition (renamed, re-described, extras kept).
    pub spec: ToolSpec,
    member: usize,
    validator: Arc<ArgumentValidator>,
    /// Read from `spec` once, for every call that asks.
    task_support: TaskSupport,
}

#[derive(Clone)]
struct ExposedPrompt {
    prompt: Prompt,
    member: usize,
    upstream: String,
}

/// Validators by the address of the schema they were compiled from (kept alive alongside).
type Compiled = HashMap<usize, (Arc<JsonObject>, Arc<ArgumentValidator>)>;

#[derive(Default)]
struct Tables {
    tools: Vec<ExposedTool>,
    tool_index: HashMap<String, usize>,
    prompts: Vec<ExposedPrompt>,
    prompt_index: HashMap<String, usize>,
    collisions: Vec<Collision>,
}

/// Many workbenches served as one.
pub struct Gateway {
    settings: GatewaySettings,
    members: Vec<Member>,
    upstreams: Vec<McpWorkbench>,
    tables: RwLock<Option<Arc<Tables>>>,
    /// The validators of the last tables built, by the schema they were compiled from (pointer
    /// identity: an upstream's listed schemas stay the same `Arc` until it lists again), so a
    /// rebuild after a health change compiles only new schemas.
    validators: Mutex<Compiled>,
    /// Bumped by every invalidation: tables built from older lists are never stored.
    generation: AtomicU64,
    started: Instant,
    extras: ToolExtrasTable,
    changes: broadcast::Sender<WorkbenchChange>,
    shutdown: CancellationToken,
    /// `[policy]` and `[audit]`: asked before every call, told after it; `None`: no checks.
    guard: Option<Arc<Guard>>,
}

impl Gateway {
    /// Start every upstream in `config` and aggregate them.
    pub fn from_config(config: &Config, shutdown: CancellationToken) -> Arc<Self> {
        Self::from_config_with(config, Vec::new(), shutdown)
    }

    /// Start every upstream in `config` and aggregate them with `extra` members after them
    /// (e.g. the workbench tools; a member named `""` is served without a prefix).
    pub fn from_config_with(
        config: &Config,
        extra: Vec<Member>,
        shutdown: CancellationToken,
    ) -> Arc<Self> {
        Self::from_config_guarded(config, extra, None, shutdown)
    }

    /// Like [`Gateway::from_config_with`], with `guard` deciding, limiting and auditing every
    /// call (build it from the same config with [`Guard::from_config`]).
    pub fn from_config_guarded(
        config: &Config,
        extra: Vec<Member>,
        guard: Option<Arc<Guard>>,
        shutdown: CancellationToken,
    ) -> Arc<Self> {
        let upstreams: Vec<McpWorkbench> = config
            .servers
            .iter()
            .map(|s| McpWorkbench::start(s.clone(), shutdown.child_token()))
            .collect();
        let members = upstreams
            .iter()
            .map(|u| Member {
                name: u.name().to_string(),
                workbench: Arc::new(u.clone()) as Arc<dyn Workbench>,
                filter: u.config().tools.clone(),
            })
            .chain(extra)
            .collect();
        Self::build(config.gateway.clone(), members, upstreams, guard, shutdown)
    }

    /// Aggregate arbitrary workbenches (no upstream supervision).
    pub fn new(
        settings: GatewaySettings,
        members: Vec<Member>,
        shutdown: CancellationToken,
    ) -> Arc<Self> {
        Self::build(settings, members, Vec::new(), None, shutdown)
    }

    /// Aggregate arbitrary workbenches behind `guard` (no upstream supervision).
    pub fn new_guarded(
        settings: GatewaySettings,
        members: Vec<Member>,
        guard: Option<Arc<Guard>>,
        shutdown: CancellationToken,
    ) -> Arc<Self> {
        Self::build(settings, members, Vec::new(), guard, shutdown)
    }

    fn build(
        settings: GatewaySettings,
        members: Vec<Member>,
        upstreams: Vec<McpWorkbench>,
        guard: Option<Arc<Guard>>,
        shutdown: CancellationToken,
    ) -> Arc<Self> {
        let (changes, _) = broadcast::channel(256);
        let gateway = Arc::new(Self {
            settings,
            members,
            upstreams,
            tables: RwLock::new(None),
            validators: Mutex::default(),
            generation: AtomicU64::new(0),
            started: Instant::now(),
            extras: ToolExtrasTable::default(),
            changes,
            shutdown,
            guard,
        });
        for member in &gateway.members {
            if let Some(rx) = member.workbench.changes() {
                tokio::spawn(forward_changes(Arc::downgrade(&gateway), rx));
            }
        }
        gateway
    }

    /// The gateway settings.
    pub fn settings(&self) -> &GatewaySettings {
        &self.settings
    }

    /// Health of every supervised upstream.
    pub fn statuses(&self) -> Vec<UpstreamStatus> {
        self.upstreams.iter().map(McpWorkbench::status).collect()
    }

    /// Extra tool fields by served name, for the server faces' `tools/list` rewrite.
    pub fn tool_extras_table(&self) -> ToolExtrasTable {
        Arc::clone(&self.extras)
    }

    /// The supervised upstreams.
    pub fn upstreams(&self) -> &[McpWorkbench] {
        &self.upstreams
    }

    /// Wait until every upstream is connected or `timeout` passes; returns whether all are.
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        let all = futures::future::join_all(self.upstreams.iter().map(|u| u.wait_ready(timeout)));
        all.await.into_iter().all(|r| r)
    }

    /// Wait until every upstream's first connection attempt has succeeded or failed (each
    /// bounded by its start-up timeout): for commands that report on all of them.
    pub async fn wait_settled(&self) {
        futures::future::join_all(
            self.upstreams
                .iter()
                .map(|u| u.wait_settled(u.config().startup_timeout)),
        )
        .await;
    }

    /// Wait for the upstreams `wanted` picks that are still making their first connection,
    /// each up to its start-up timeout (or until `cancel`).
    pub async fn settle(&self, wanted: impl Fn(&McpWorkbench) -> bool, cancel: &CancellationToken) {
        let pending = self
            .upstreams
            .iter()
            .filter(|u| !u.is_settled() && wanted(u))
            .map(|u| u.wait_settled(u.config().startup_timeout));
        tokio::select! {
            _ = futures::future::join_all(pending) => {}
            _ = cancel.cancelled() => {}
        }
    }

    /// Stop every upstream (their supervisors close sessions and kill child process groups),
    /// then write out the audit lines still queued.
    pub async fn shutdown(&self) {
        self.shutdown.cancel();
        futures::future::join_all(self.upstreams.iter().map(McpWorkbench::stopped)).await;
        if let Some(guard) = &self.guard {
            guard.close().await;
        }
    }

    /// The policy guard, if `[policy]` or `[audit]` is configured.
    pub fn guard(&self) -> Option<&Arc<Guard>> {
        self.guard.as_ref()
    }

    /// Names two servers both want under `prefix = "never"` (the later one is not served).
    pub async fn collisions(&self) -> Vec<Collision> {
        self.tables().await.collisions.clone()
    }

    /// The served tools with their routing.
    pub async fn exposed_tools(&self) -> Vec<ExposedTool> {
        self.tables().await.tools.clone()
    }

    /// The served tools `caller` may call, with their routing.
    pub async fn exposed_tools_for(&self, caller: &CallerInfo) -> Vec<ExposedTool> {
        let tools = self.tables().await.tools.clone();
        self.permitted(caller, tools, |t| Request::tool(&t.name, &t.server))
    }

    /// The served tool `name` with its routing, when it is served now (no waiting).
    pub async fn exposed_tool(&self, name: &str) -> Option<ExposedTool> {
        let tables = self.tables().await;
        let index = *tables.tool_index.get(name)?;
        tables.tools.get(index).cloned()
    }

    fn invalidate(&self) {
        if let Ok(mut t) = self.tables.write() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            *t = None;
        }
    }

    async fn tables(&self) -> Arc<Tables> {
        if let Some(t) = self.tables.read().ok().and_then(|t| t.clone()) {
            return t;
        }
        let generation = self.generation.load(Ordering::Acquire);
        let tables = Arc::new(self.build_tables().await);
        if let Ok(mut slot) = self.tables.write()
            && self.generation.load(Ordering::Acquire) == generation
        {
            *slot = Some(Arc::clone(&tables));
        }
        tables
    }

    /// The served tool `name`; when it is unknown while upstreams are still making their first
    /// connection, waits for them (each up to its start-up timeout) before saying so.
    async fn resolve_tool(
        &self,
        name: &str,
        cancel: &CancellationToken,
    ) -> Result<(Arc<Tables>, usize), WorkbenchError> {
        loop {
            let tables = self.tables().await;
            if let Some(&index) = tables.tool_index.get(name) {
                return Ok((tables, index));
            }
            let starting: Vec<&McpWorkbench> =
                self.upstreams.iter().filter(|u| !u.is_settled()).collect();
            if starting.is_empty() || cancel.is_cancelled() {
                return Err(WorkbenchError::UnknownTool { name: name.into() });
            }
            let next = futures::future::select_all(
                starting
                    .iter()
                    .map(|u| Box::pin(u.wait_settled(u.config().startup_timeout))),
            );
            tokio::select! {
                _ = next => {}
                _ = cancel.cancelled() => return Err(WorkbenchError::Cancelled),
            }
            self.invalidate();
        }
    }

    async fn build_tables(&self) -> Tables {
        let grace = FIRST_LIST_GRACE.saturating_sub(self.started.elapsed());
        if !grace.is_zero() {
            futures::future::join_all(
                self.upstreams
                    .iter()
                    .map(|u| u.wait_settled(grace.min(u.config().startup_timeout))),
            )
            .await;
        }
        let mut specs: Vec<Vec<ToolSpec>> = Vec::new();
        let mut prompts: Vec<Vec<Prompt>> = Vec::new();
        for m in &self.members {
            specs.push(m.workbench.list_tools().await.unwrap_or_default());
            prompts.push(m.workbench.list_prompts().await.unwrap_or_default());
        }
        let tool_cands = self
            .members
            .iter()
            .enumerate()
            .flat_map(|(i, m)| {
                naming::candidates(i, &m.name, &m.filter, specs[i].iter().map(ToolSpec::name))
            })
            .collect();
        let (named, mut collisions) =
            naming::assign(tool_cands, self.settings.prefix, &self.settings.separator);
        let mut tables = Tables::default();
        let mut compiled = self
            .validators
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default();
        let mut validators = HashMap::with_capacity(compiled.len());
        for (name, c) in named {
            let Some(original) = specs[c.member].iter().find(|s| s.name() == c.upstream) else {
                continue;
            };
            let mut spec = original.clone();
            spec.tool.name = name.clone().into();
            let filter = &self.members[c.member].filter;
            if let Some(d) = filter
                .overrides
                .get(&c.upstream)
                .and_then(|o| o.description.clone())
            {
                spec.tool.description = Some(d.into());
            }
            let schema = &spec.tool.input_schema;
            let key = Arc::as_ptr(schema) as usize;
            let validator = match compiled.remove(&key) {
                Some((kept, validator)) if Arc::ptr_eq(&kept, schema) => validator,
                _ => Arc::new(ArgumentValidator::new(&name, schema)),
            };
            validators.insert(key, (Arc::clone(schema), Arc::clone(&validator)));
            tables.tool_index.insert(name.clone(), tables.tools.len());
            let task_support = TaskSupport::of(&spec);
            tables.tools.push(ExposedTool {
                name,
                server: c.server,
                upstream: c.upstream,
                spec,
                member: c.member,
                validator,
                task_support,
            });
        }
        if let Ok(mut slot) = self.validators.lock() {
            *slot = validators;
        }
        let prompt_cands = self
            .members
            .iter()
            .enumerate()
            .flat_map(|(i, m)| {
                let all = ToolFilter::default();
                naming::candidates(i, &m.name, &all, prompts[i].iter().map(|p| p.name.as_str()))
            })
            .collect();
        let (named, prompt_collisions) =
            naming::assign(prompt_cands, self.settings.prefix, &self.settings.separator);
        collisions.extend(prompt_collisions);
        for (name, c) in named {
            let Some(original) = prompts[c.member].iter().find(|p| p.name == c.upstream) else {
                continue;
            };
            let mut prompt = original.clone();
            prompt.name = name.clone();
            tables.prompt_index.insert(name, tables.prompts.len());
            tables.prompts.push(ExposedPrompt {
                prompt,
                member: c.member,
                upstream: c.upstream,
            });
        }
        for c in &collisions {
            tracing::error!(name = %c.name, kept = %c.kept, dropped = %c.dropped,
                "name collision with prefix = \"never\": the later server's item is not served");
        }
        tables.collisions = collisions;
        if let Ok(mut extras) = self.extras.write() {
            *extras = tables
                .tools
                .iter()
                .filter(|t| !t.spec.extra.is_empty())
                .map(|t| (t.name.clone(), t.spec.extra.clone()))
                .collect();
        }
        tables
    }

    /// `arguments` once they fit the input schema of `tool` (handed back, unchanged).
    fn checked_arguments(
        tool: &ExposedTool,
        arguments: Option<JsonObject>,
    ) -> Result<Option<JsonObject>, WorkbenchError> {
        tool.validator
            .check(arguments)
            .map_err(|p| WorkbenchError::InvalidArguments {
                tool: tool.name.clone(),
                field: p.field,
                message: p.message,
            })
    }

    /// The workbench of the member that owns a resource URI (unknown resource otherwise).
    async fn resource_member(&self, uri: &str) -> Result<&Arc<dyn Workbench>, WorkbenchError> {
        let owner = self
            .resource_owner(uri)
            .await
            .ok_or_else(|| WorkbenchError::UnknownResource { uri: uri.into() })?;
        Ok(&self.members[owner].workbench)
    }

    /// Which member owns a resource URI: an exact listed URI first, then a template's literal prefix.
    async fn resource_owner(&self, uri: &str) -> Option<usize> {
        for (i, m) in self.members.iter().enumerate() {
            let listed = m.workbench.list_resources().await.unwrap_or_default();
            if listed.iter().any(|r| r.uri == uri) {
                return Some(i);
            }
        }
        let mut best: Option<(usize, usize)> = None;
        for (i, m) in self.members.iter().enumerate() {
            for t in m
                .workbench
                .list_resource_templates()
                .await
                .unwrap_or_default()
            {
                let literal = t.uri_template.split('{').next().unwrap_or_default();
                if !literal.is_empty()
                    && uri.starts_with(literal)
                    && best.is_none_or(|(_, len)| literal.len() > len)
                {
                    best = Some((i, literal.len()));
                }
            }
        }
        best.map(|(i, _)| i)
    }
}

async fn forward_changes(
    gateway: std::sync::Weak<Gateway>,
    mut rx: broadcast::Receiver<WorkbenchChange>,
) {
    loop {
        let shutdown = match gateway.upgrade() {
            Some(g) => g.shutdown.clone(),
            None => return,
        };
        let change = tokio::select! {
            c = rx.recv() => c,
            _ = shutdown.cancelled() => return,
        };
        let Some(g) = gateway.upgrade() else { return };
        match change {
            Ok(change) => {
                if matches!(
                    change,
                    WorkbenchChange::Tools | WorkbenchChange::Prompts | WorkbenchChange::Health
                ) {
                    g.invalidate();
                }
                let _ = g.changes.send(change);
            }
            Err(broadcast::error::RecvError::Lagged(_)) => {
                g.invalidate();
                let _ = g.changes.send(WorkbenchChange::Tools);
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

#[async_trait]
impl Workbench for Gateway {
    /// Every tool a caller on nobody's behalf may call (all of them without `[policy]`).
    async fn list_tools(&self) -> Result<Vec<ToolSpec>, WorkbenchError> {
        self.list_tools_for(&CallerInfo::default()).await
    }

    async fn list_tools_for(&self, caller: &CallerInfo) -> Result<Vec<ToolSpec>, WorkbenchError> {
        let tables = self.tables().await;
        let tools = self.permitted(caller, tables.tools.iter(), |t| {
            Request::tool(&t.name, &t.server)
        });
        Ok(tools.into_iter().map(|t| t.spec.clone()).collect())
    }

    async fn call_tool(
        &self,
        name: &str,
        arguments: Option<JsonObject>,
        ctx: CallContext,
    ) -> Result<CallToolResult, WorkbenchError> {
        let (tables, index) = self.resolve_tool(name, &ctx.cancel).await?;
        let tool = &tables.tools[index];
        let caller = guarded::who(&ctx.caller);
        let request = Request::tool(&tool.name, &tool.server);
        let shown = self.audits_arguments().then(|| arguments.clone()).flatten();
        let call = async {
            let arguments = Self::checked_arguments(tool, arguments)?;
            self.members[tool.member]
                .workbench
                .call_tool(&tool.upstream, arguments, ctx)
                .await
        };
        self.guarded(
            &caller,
            request,
            shown.as_ref(),
            call,
            guarded::tool_outcome,
        )
        .await
    }

    async fn start_task(
        &self,
        name: &str,
        arguments: Option<JsonObject>,
        ctx: CallContext,
        task: TaskRequest,
    ) -> Result<TaskStart, WorkbenchError> {
        let (tables, index) = self.resolve_tool(name, &ctx.cancel).await?;
        let tool = &tables.tools[index];
        let caller = guarded::who(&ctx.caller);
        let request = Request::tool(&tool.name, &tool.server);
        let shown = self.audits_arguments().then(|| arguments.clone()).flatten();
        let call = async {
            let arguments = Self::checked_arguments(tool, arguments)?;
            self.members[tool.member]
                .workbench
                .start_task(&tool.upstream, arguments, ctx, task)
                .await
        };
        self.guarded(&caller, request, shown.as_ref(), call, |_| Outcome::Ok)
            .await
    }

    async fn list_resources(&self) -> Result<Vec<Resource>, WorkbenchError> {
        self.list_resources_for(&CallerInfo::default()).await
    }

    async fn list_resources_for(
        &self,
        caller: &CallerInfo,
    ) -> Result<Vec<Resource>, WorkbenchError> {
        let mut all = Vec::new();
        for m in &self.members {
            all.extend(m.workbench.list_resources().await.unwrap_or_default());
        }
        Ok(self.permitted(caller, all, |r| Request::resource(&r.uri)))
    }

    async fn list_resource_templates(&self) -> Result<Vec<ResourceTemplate>, WorkbenchError> {
        let mut all = Vec::new();
        for m in &self.members {
            all.extend(
                m.workbench
                    .list_resource_templates()
                    .await
                    .unwrap_or_default(),
            );
        }
        Ok(all)
    }

    async fn read_resource(
        &self,
        uri: &str,
        ctx: CallContext,
    ) -> Result<ReadResourceResult, WorkbenchError> {
        let caller = guarded::who(&ctx.caller);
        let read = async {
            self.resource_member(uri)
                .await?
                .read_resource(uri, ctx)
                .await
        };
        let request = Request::resource(uri);
        self.guarded(&caller, request, None, read, |_| Outcome::Ok)
            .await
    }

    async fn subscribe_resource(
        &self,
        uri: &str,
        caller: &CallerInfo,
    ) -> Result<(), WorkbenchError> {
        let subscribe = async {
            self.resource_member(uri)
                .await?
                .subscribe_resource(uri, caller)
                .await
        };
        let request = Request {
            method: "resources/subscribe",
            ..Request::resource(uri)
        };
        self.guarded(caller, request, None, subscribe, |_| Outcome::Ok)
            .await
    }

    async fn unsubscribe_resource(
        &self,
        uri: &str,
        caller: &CallerInfo,
    ) -> Result<(), WorkbenchError> {
        self.resource_member(uri)
            .await?
            .unsubscribe_resource(uri, caller)
            .await
    }

    async fn list_prompts(&self) -> Result<Vec<Prompt>, WorkbenchError> {
        self.list_prompts_for(&CallerInfo::default()).await
    }

    async fn list_prompts_for(&self, caller: &CallerInfo) -> Result<Vec<Prompt>, WorkbenchError> {
        let tables = self.tables().await;
        let prompts = self.permitted(caller, tables.prompts.iter(), |p| {
            Request::prompt(&p.prompt.name)
        });
        Ok(prompts.into_iter().map(|p| p.prompt.clone()).collect())
    }

    async fn get_prompt(
        &self,
        name: &str,
        arguments: Option<JsonObject>,
        ctx: CallContext,
    ) -> Result<GetPromptResult, WorkbenchError> {
        let tables = self.tables().await;
        let p = tables
            .prompt_index
            .get(name)
            .map(|&i| &tables.prompts[i])
            .ok_or_else(|| WorkbenchError::UnknownPrompt { name: name.into() })?;
        let caller = guarded::who(&ctx.caller);
        let shown = self.audits_arguments().then(|| arguments.clone()).flatten();
        let get = self.members[p.member]
            .workbench
            .get_prompt(&p.upstream, arguments, ctx);
        let request = Request::prompt(&p.prompt.name);
        self.guarded(&caller, request, shown.as_ref(), get, |_| Outcome::Ok)
            .await
    }

    async fn complete(
        &self,
        mut params: CompleteRequestParams,
    ) -> Result<CompleteResult, WorkbenchError> {
        let member = match &mut params.r#ref {
            Reference::Prompt(prompt) => {
                let tables = self.tables().await;
                let p = tables
                    .prompt_index
                    .get(&prompt.name)
                    .map(|&i| &tables.prompts[i])
                    .ok_or_else(|| WorkbenchError::UnknownPrompt {
                        name: prompt.name.clone(),
                    })?;
                prompt.name = p.upstream.clone();
                p.member
            }
            Reference::Resource(resource) => {
                self.resource_owner(&resource.uri).await.ok_or_else(|| {
                    WorkbenchError::UnknownResource {
                        uri: resource.uri.clone(),
                    }
                })?
            }
            _ => {
                return Err(WorkbenchError::Unsupported(
                    "completion reference kind not supported".into(),
                ));
            }
        };
        self.members[member].workbench.complete(params).await
    }

    fn cached_tool(&self, name: &str) -> Option<ToolSpec> {
        let tables = self.tables.read().ok()?.clone()?;
        let index = *tables.tool_index.get(name)?;
        Some(tables.tools[index].spec.clone())
    }

    fn cached_task_support(&self, name: &str) -> Option<TaskSupport> {
        let tables = self.tables.read().ok()?;
        let tables = tables.as_ref()?;
        let index = *tables.tool_index.get(name)?;
        Some(tables.tools[index].task_support)
    }

    fn changes(&self) -> Option<broadcast::Receiver<WorkbenchChange>> {
        Some(self.changes.subscribe())
    }
}
