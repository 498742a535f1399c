//! `Metered`: the handler every face serves, a [`WorkbenchServer`] whose every request is
//! observed in this one place, whatever the face: its SERVER span (traces, see
//! server/traced.rs) around the whole handling, and its duration
//! (`mcp.server.operation.duration`). Each `ServerHandler` method delegates (the list is rmcp's
//! own wrapper delegation, so none falls back to a default); the request methods go through
//! [`Observed`].

use std::borrow::Cow;

use rmcp::model::*;
use rmcp::service::{MaybeSendFuture, NotificationContext, RequestContext, SubscriptionContext};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use tracing::{Instrument, Span};

use super::handler::WorkbenchServer;
use super::traced;
use crate::telemetry::metrics::{ServedRequest, served_request};

/// A [`WorkbenchServer`] with its requests observed.
#[derive(Clone)]
pub struct Metered(pub WorkbenchServer);

/// One served request's span and timer.
struct Observed {
    timer: ServedRequest,
    span: Span,
}

impl Observed {
    /// `method` (on `target`: a tool, prompt or resource) served for the request of `context`.
    fn start(method: &str, target: Option<&str>, context: &RequestContext<RoleServer>) -> Self {
        let tool = target.filter(|_| method == "tools/call");
        Self {
            timer: served_request(method, tool),
            span: traced::served_span(method, target, context),
        }
    }

    /// A request without a request context (a subscription stream): timed, not traced.
    fn untraced(method: &str) -> Self {
        Self {
            timer: served_request(method, None),
            span: Span::none(),
        }
    }

    /// Awaits the handling inside the span and records how it ended (`error.type`: the
    /// JSON-RPC code of an error).
    async fn run<T>(
        mut self,
        handling: impl Future<Output = Result<T, McpError>>,
    ) -> Result<T, McpError> {
        let result = handling.instrument(self.span.clone()).await;
        if let Err(error) = &result {
            self.timer.failed(error_type(error.code.0));
        }
        traced::record_outcome(&self.span, &result);
        result
    }

    /// Like [`Observed::run`] for `tools/call`: a result with `isError` is a `tool_error`.
    async fn run_tool(
        mut self,
        handling: impl Future<Output = Result<CallToolResponse, McpError>>,
    ) -> Result<CallToolResponse, McpError> {
        let result = handling.instrument(self.span.clone()).await;
        match &result {
            Err(error) => self.timer.failed(error_type(error.code.0)),
            Ok(CallToolResponse::Complete(r)) if r.is_error == Some(true) => {
                self.timer.failed("tool_error")
            }
            Ok(_) => {}
        }
        traced::record_tool(&self.span, &result);
        result
    }
}

/// `error.type` of a JSON-RPC error: its code (the MCP conventions), `_OTHER` past the known.
fn error_type(code: i32) -> &'static str {
    match code {
        -32700 => "-32700",
        -32600 => "-32600",
        -32601 => "-32601",
        -32602 => "-32602",
        -32603 => "-32603",
        -32002 => "-32002",
        -32020 => "-32020",
        -32021 => "-32021",
        -32022 => "-32022",
        -32042 => "-32042",
        -32800 => "-32800",
        _ => "_OTHER",
    }
}

impl ServerHandler for Metered {
    fn ping(
        &self,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<(), McpError>> + MaybeSendFuture + '_ {
        Observed::start("ping", None, &context).run(self.0.ping(context))
    }

    fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<InitializeResult, McpError>> + MaybeSendFuture + '_ {
        Observed::start("initialize", None, &context).run(self.0.initialize(request, context))
    }

    fn negotiate_initialize(
        &self,
        request: &InitializeRequestParams,
    ) -> Result<InitializeResult, McpError> {
        self.0.negotiate_initialize(request)
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        self.0.supported_protocol_versions()
    }

    fn discover(
        &self,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<DiscoverResult, McpError>> + MaybeSendFuture + '_ {
        Observed::start("server/discover", None, &context).run(self.0.discover(context))
    }

    fn complete(
        &self,
        request: CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<CompleteResult, McpError>> + MaybeSendFuture + '_ {
        Observed::start("completion/complete", None, &context)
            .run(self.0.complete(request, context))
    }

    fn set_level(
        &self,
        request: SetLevelRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<(), McpError>> + MaybeSendFuture + '_ {
        Observed::start("logging/setLevel", None, &context).run(self.0.set_level(request, context))
    }

    fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<GetPromptResponse, McpError>> + MaybeSendFuture + '_ {
        let observed = Observed::start("prompts/get", Some(&request.name), &context);
        observed.run(self.0.get_prompt(request, context))
    }

    fn list_prompts(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<ListPromptsResult, McpError>> + MaybeSendFuture + '_ {
        Observed::start("prompts/list", None, &context).run(self.0.list_prompts(request, context))
    }

    fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<ListResourcesResult, McpError>> + MaybeSendFuture + '_ {
        Observed::start("resources/list", None, &context)
            .run(self.0.list_resources(request, context))
    }

    fn list_resource_templates(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<ListResourceTemplatesResult, McpError>> + MaybeSendFuture + '_
    {
        Observed::start("resources/templates/list", None, &context)
            .run(self.0.list_resource_templates(request, context))
    }

    fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<ReadResourceResponse, McpError>> + MaybeSendFuture + '_ {
        let observed = Observed::start("resources/read", Some(&request.uri), &context);
        observed.run(self.0.read_resource(request, context))
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        self.0.accepted_subscription_filter(requested)
    }

    fn listen(
        &self,
        context: SubscriptionContext,
    ) -> impl Future<Output = Result<(), McpError>> + MaybeSendFuture + '_ {
        Observed::untraced("subscriptions/listen").run(self.0.listen(context))
    }

    fn subscribe(
        &self,
        request: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<(), McpError>> + MaybeSendFuture + '_ {
        Observed::start("resources/subscribe", None, &context)
            .run(self.0.subscribe(request, context))
    }

    fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<(), McpError>> + MaybeSendFuture + '_ {
        Observed::start("resources/unsubscribe", None, &context)
            .run(self.0.unsubscribe(request, context))
    }

    fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<CallToolResponse, McpError>> + MaybeSendFuture + '_ {
        let observed = Observed::start("tools/call", Some(&request.name), &context);
        observed.run_tool(self.0.call_tool(request, context))
    }

    fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<ListToolsResult, McpError>> + MaybeSendFuture + '_ {
        Observed::start("tools/list", None, &context).run(self.0.list_tools(request, context))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.0.get_tool(name)
    }

    fn on_custom_request(
        &self,
        request: CustomRequest,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<CustomResult, McpError>> + MaybeSendFuture + '_ {
        let observed = Observed::start(&request.method, None, &context);
        observed.run(self.0.on_custom_request(request, context))
    }

    fn on_cancelled(
        &self,
        notification: CancelledNotificationParam,
        context: NotificationContext<RoleServer>,
    ) -> impl Future<Output = ()> + MaybeSendFuture + '_ {
        self.0.on_cancelled(notification, context)
    }

    fn on_progress(
        &self,
        notification: ProgressNotificationParam,
        context: NotificationContext<RoleServer>,
    ) -> impl Future<Output = ()> + MaybeSendFuture + '_ {
        self.0.on_progress(notification, context)
    }

    fn on_initialized(
        &self,
        context: NotificationContext<RoleServer>,
    ) -> impl Future<Output = ()> + MaybeSendFuture + '_ {
        self.0.on_initialized(context)
    }

    fn on_roots_list_changed(
        &self,
        context: NotificationContext<RoleServer>,
    ) -> impl Future<Output = ()> + MaybeSendFuture + '_ {
        self.0.on_roots_list_changed(context)
    }

    fn on_custom_notification(
        &self,
        notification: CustomNotification,
        context: NotificationContext<RoleServer>,
    ) -> impl Future<Output = ()> + MaybeSendFuture + '_ {
        self.0.on_custom_notification(notification, context)
    }

    fn get_info(&self) -> ServerConfig {
        self.0.get_info()
    }

    fn get_task(
        &self,
        request: GetTaskParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<GetTaskResult, McpError>> + MaybeSendFuture + '_ {
        Observed::start("tasks/get", None, &context).run(self.0.get_task(request, context))
    }

    fn update_task(
        &self,
        request: UpdateTaskParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<(), McpError>> + MaybeSendFuture + '_ {
        Observed::start("tasks/update", None, &context).run(self.0.update_task(request, context))
    }

    fn cancel_task(
        &self,
        request: CancelTaskParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<(), McpError>> + MaybeSendFuture + '_ {
        Observed::start("tasks/cancel", None, &context).run(self.0.cancel_task(request, context))
    }

    fn list_skills(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<ListSkillsResult, McpError>> + MaybeSendFuture + '_ {
        Observed::start("skills/list", None, &context).run(self.0.list_skills(request, context))
    }

    fn get_skill(
        &self,
        request: GetSkillRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<GetSkillResult, McpError>> + MaybeSendFuture + '_ {
        Observed::start("skills/get", None, &context).run(self.0.get_skill(request, context))
    }

    fn read_resource_directory(
        &self,
        request: ReadResourceDirectoryRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<ReadResourceDirectoryResult, McpError>> + MaybeSendFuture + '_
    {
        Observed::start("resources/directory/read", None, &context)
            .run(self.0.read_resource_directory(request, context))
    }
}
