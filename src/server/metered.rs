//! `Metered`: the handler every face serves, a [`WorkbenchServer`] whose every request is
//! timed (`mcp.server.operation.duration`) in this one place, whatever the face. Each
//! `ServerHandler` method delegates (the list is rmcp's own wrapper delegation, so none falls
//! back to a default); the request methods go through [`timed`].

use std::borrow::Cow;

use rmcp::model::*;
use rmcp::service::{MaybeSendFuture, NotificationContext, RequestContext, SubscriptionContext};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};

use super::handler::WorkbenchServer;
use crate::telemetry::metrics::{ServedRequest, served_request};

/// A [`WorkbenchServer`] with its requests timed.
#[derive(Clone)]
pub struct Metered(pub WorkbenchServer);

/// Awaits one request's handling and records it (`error.type`: the JSON-RPC code of an
/// error, `tool_error` when `is_tool_error` says so).
async fn timed<T>(
    mut timer: ServedRequest,
    handling: impl Future<Output = Result<T, McpError>>,
    is_tool_error: fn(&T) -> bool,
) -> Result<T, McpError> {
    let result = handling.await;
    match &result {
        Err(error) => timer.failed(error_type(error.code.0)),
        Ok(answer) if is_tool_error(answer) => timer.failed("tool_error"),
        Ok(_) => {}
    }
    result
}

fn no_tool_error<T>(_: &T) -> bool {
    false
}

fn tool_error(response: &CallToolResponse) -> bool {
    matches!(response, CallToolResponse::Complete(r) if r.is_error == Some(true))
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
        timed(
            served_request("ping", None),
            self.0.ping(context),
            no_tool_error,
        )
    }

    fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<InitializeResult, McpError>> + MaybeSendFuture + '_ {
        timed(
            served_request("initialize", None),
            self.0.initialize(request, context),
            no_tool_error,
        )
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
        timed(
            served_request("server/discover", None),
            self.0.discover(context),
            no_tool_error,
        )
    }

    fn complete(
        &self,
        request: CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<CompleteResult, McpError>> + MaybeSendFuture + '_ {
        timed(
            served_request("completion/complete", None),
            self.0.complete(request, context),
            no_tool_error,
        )
    }

    fn set_level(
        &self,
        request: SetLevelRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<(), McpError>> + MaybeSendFuture + '_ {
        timed(
            served_request("logging/setLevel", None),
            self.0.set_level(request, context),
            no_tool_error,
        )
    }

    fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<GetPromptResponse, McpError>> + MaybeSendFuture + '_ {
        timed(
            served_request("prompts/get", None),
            self.0.get_prompt(request, context),
            no_tool_error,
        )
    }

    fn list_prompts(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<ListPromptsResult, McpError>> + MaybeSendFuture + '_ {
        timed(
            served_request("prompts/list", None),
            self.0.list_prompts(request, context),
            no_tool_error,
        )
    }

    fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<ListResourcesResult, McpError>> + MaybeSendFuture + '_ {
        timed(
            served_request("resources/list", None),
            self.0.list_resources(request, context),
            no_tool_error,
        )
    }

    fn list_resource_templates(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<ListResourceTemplatesResult, McpError>> + MaybeSendFuture + '_
    {
        timed(
            served_request("resources/templates/list", None),
            self.0.list_resource_templates(request, context),
            no_tool_error,
        )
    }

    fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<ReadResourceResponse, McpError>> + MaybeSendFuture + '_ {
        timed(
            served_request("resources/read", None),
            self.0.read_resource(request, context),
            no_tool_error,
        )
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
        timed(
            served_request("subscriptions/listen", None),
            self.0.listen(context),
            no_tool_error,
        )
    }

    fn subscribe(
        &self,
        request: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<(), McpError>> + MaybeSendFuture + '_ {
        timed(
            served_request("resources/subscribe", None),
            self.0.subscribe(request, context),
            no_tool_error,
        )
    }

    fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<(), McpError>> + MaybeSendFuture + '_ {
        timed(
            served_request("resources/unsubscribe", None),
            self.0.unsubscribe(request, context),
            no_tool_error,
        )
    }

    fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<CallToolResponse, McpError>> + MaybeSendFuture + '_ {
        let timer = served_request("tools/call", Some(&request.name));
        timed(timer, self.0.call_tool(request, context), tool_error)
    }

    fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<ListToolsResult, McpError>> + MaybeSendFuture + '_ {
        timed(
            served_request("tools/list", None),
            self.0.list_tools(request, context),
            no_tool_error,
        )
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.0.get_tool(name)
    }

    fn on_custom_request(
        &self,
        request: CustomRequest,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<CustomResult, McpError>> + MaybeSendFuture + '_ {
        let timer = served_request(&request.method, None);
        timed(
            timer,
            self.0.on_custom_request(request, context),
            no_tool_error,
        )
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
        timed(
            served_request("tasks/get", None),
            self.0.get_task(request, context),
            no_tool_error,
        )
    }

    fn update_task(
        &self,
        request: UpdateTaskParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<(), McpError>> + MaybeSendFuture + '_ {
        timed(
            served_request("tasks/update", None),
            self.0.update_task(request, context),
            no_tool_error,
        )
    }

    fn cancel_task(
        &self,
        request: CancelTaskParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<(), McpError>> + MaybeSendFuture + '_ {
        timed(
            served_request("tasks/cancel", None),
            self.0.cancel_task(request, context),
            no_tool_error,
        )
    }

    fn list_skills(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<ListSkillsResult, McpError>> + MaybeSendFuture + '_ {
        timed(
            served_request("skills/list", None),
            self.0.list_skills(request, context),
            no_tool_error,
        )
    }

    fn get_skill(
        &self,
        request: GetSkillRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<GetSkillResult, McpError>> + MaybeSendFuture + '_ {
        timed(
            served_request("skills/get", None),
            self.0.get_skill(request, context),
            no_tool_error,
        )
    }

    fn read_resource_directory(
        &self,
        request: ReadResourceDirectoryRequestParams,
        context: RequestContext<RoleServer>,
    ) -> impl Future<Output = Result<ReadResourceDirectoryResult, McpError>> + MaybeSendFuture + '_
    {
        timed(
            served_request("resources/directory/read", None),
            self.0.read_resource_directory(request, context),
            no_tool_error,
        )
    }
}
