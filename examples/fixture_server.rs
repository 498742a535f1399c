//! fixture_server: the MCP conformance fixture, and toolyard's example of a full-featured rmcp server.
//!
//! The official conformance suite (`@modelcontextprotocol/conformance`, server mode) calls tools,
//! resources and prompts with fixed names and fixed answers; this server provides all of them:
//!
//! - content tools (`test_simple_text`, `test_image_content`, `test_audio_content`,
//!   `test_embedded_resource`, `test_multiple_content_types`, `test_error_handling`);
//! - notification tools (`test_tool_with_logging`, `test_tool_with_progress`);
//! - server→client requests, 2025-11-25 era (`test_sampling`, `test_elicitation`,
//!   `test_elicitation_sep1034_defaults`, `test_elicitation_sep1330_enums`);
//! - 2026-07-28 era: multi-round-trip `input_required` results (`test_input_required_result_*`),
//!   stateless diagnostics (`test_missing_capability`, `test_streaming_elicitation`,
//!   `test_logging_tool`) and list-change triggers for `subscriptions/listen`
//!   (`test_trigger_tool_change`, `test_trigger_prompt_change`);
//! - resources `test://static-text`, `test://static-binary`, template `test://template/{id}/data`,
//!   subscribe/unsubscribe; prompts `test_simple_prompt`, `test_prompt_with_arguments`,
//!   `test_prompt_with_embedded_resource`, `test_prompt_with_image`,
//!   `test_input_required_result_prompt`; completion for `test_prompt_with_arguments`.
//!
//! Transports: `--http 127.0.0.1:PORT` serves streamable HTTP at `/mcp` (rmcp's
//! `StreamableHttpService` in axum, Host and Origin checked against loopback: DNS-rebinding
//! protection), `--stdio` serves stdin/stdout. Logs go to stderr.
// Sampling, roots and logging are marked deprecated in rmcp (SEP-2577), but the 2025-11-25
// scenarios exercise exactly them.
#![allow(deprecated)]

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use clap::Parser;
use rmcp::handler::server::router::prompt::PromptRouter;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::*;
use rmcp::service::{RequestContext, SubscriptionContext};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{
    ErrorData, RoleServer, ServerHandler, ServiceExt, prompt, prompt_router, schemars, tool,
    tool_router,
};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// A 1x1 red PNG, base64.
const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
/// A minimal WAV file (header only, no samples), base64.
const WAV_EMPTY: &str = "UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQAAAAA=";
/// Template of the one dynamic resource.
const TEMPLATE_URI: &str = "test://template/{id}/data";

#[derive(Parser, Debug)]
#[command(about = "MCP conformance fixture server (rmcp)")]
struct Args {
    /// Serve streamable HTTP at /mcp on this address.
    #[arg(long, value_name = "ADDR", conflicts_with = "stdio")]
    http: Option<SocketAddr>,
    /// Serve MCP over stdin/stdout.
    #[arg(long)]
    stdio: bool,
}

/// A change that open `subscriptions/listen` streams are told about.
#[derive(Debug, Clone, Copy)]
enum ListChange {
    Tools,
    Prompts,
}

/// State shared by every session of one server process.
#[derive(Debug)]
struct Shared {
    /// Broadcasts list changes to all `subscriptions/listen` streams (2026-07-28 era).
    changes: broadcast::Sender<ListChange>,
    /// URIs subscribed with `resources/subscribe` (2025-11-25 era).
    subscriptions: Mutex<HashSet<String>>,
}

/// The fixture server; the HTTP service makes one per session (or per stateless request).
#[derive(Clone)]
struct Fixture {
    tool_router: ToolRouter<Self>,
    prompt_router: PromptRouter<Self>,
    shared: Arc<Shared>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct SamplingArgs {
    /// The prompt to send to the client's LLM.
    prompt: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct ElicitationArgs {
    /// The message to show the user.
    message: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct PromptArgs {
    /// First test argument.
    arg1: String,
    /// Second test argument.
    arg2: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
struct EmbeddedResourcePromptArgs {
    /// URI of the resource to embed.
    resource_uri: String,
}

impl Fixture {
    fn new(shared: Arc<Shared>) -> Self {
        Self {
            tool_router: Self::tool_router() + Self::mrtr_tool_router(),
            prompt_router: Self::prompt_router(),
            shared,
        }
    }
}

/// A text-only tool result.
fn text_result(text: impl Into<String>) -> CallToolResult {
    CallToolResult::success(vec![ContentBlock::text(text)])
}

/// An error result the caller sees (`isError: true`), for a failed client round trip.
fn peer_error(what: &str, error: impl std::fmt::Display) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(format!("{what} failed: {error}"))])
}

/// The word MCP uses for an elicitation action.
fn action_name(action: &ElicitationAction) -> &'static str {
    match action {
        ElicitationAction::Accept => "accept",
        ElicitationAction::Decline => "decline",
        ElicitationAction::Cancel => "cancel",
        _ => "unknown",
    }
}

/// A JSON schema literal as an elicitation schema (the literals here are known-good).
fn elicitation_schema(schema: Value) -> Result<ElicitationSchema, ErrorData> {
    serde_json::from_value(schema)
        .map_err(|e| ErrorData::internal_error(format!("bad elicitation schema: {e}"), None))
}

/// Sends an `elicitation/create` form request to the client and renders the answer.
async fn elicit(
    context: &RequestContext<RoleServer>,
    message: impl Into<String>,
    schema: Value,
    render: impl FnOnce(&ElicitResult) -> String,
) -> Result<CallToolResult, ErrorData> {
    let params = ElicitRequestParams::FormElicitationParams {
        meta: None,
        message: message.into(),
        requested_schema: elicitation_schema(schema)?,
    };
    Ok(match context.peer.create_elicitation(params).await {
        Ok(answer) => text_result(render(&answer)),
        Err(error) => peer_error("elicitation", error),
    })
}

/// The content of an elicitation answer as compact JSON (`{}` when absent).
fn answer_content(answer: &ElicitResult) -> String {
    answer
        .content
        .as_ref()
        .map_or_else(|| "{}".to_string(), Value::to_string)
}

#[tool_router]
impl Fixture {
    #[tool(description = "Returns simple text content")]
    fn test_simple_text(&self) -> CallToolResult {
        text_result("This is a simple text response for testing.")
    }

    #[tool(description = "Returns image content")]
    fn test_image_content(&self) -> CallToolResult {
        CallToolResult::success(vec![ContentBlock::image(PNG_1X1, "image/png")])
    }

    #[tool(description = "Returns audio content")]
    fn test_audio_content(&self) -> CallToolResult {
        CallToolResult::success(vec![ContentBlock::audio(WAV_EMPTY, "audio/wav")])
    }

    #[tool(description = "Returns an embedded resource")]
    fn test_embedded_resource(&self) -> CallToolResult {
        let resource = ResourceContents::text(
            "This is an embedded resource content.",
            "test://embedded-resource",
        )
        .with_mime_type("text/plain");
        CallToolResult::success(vec![ContentBlock::resource(resource)])
    }

    #[tool(description = "Returns text, image and resource content together")]
    fn test_multiple_content_types(&self) -> CallToolResult {
        let resource = ResourceContents::text(
            r#"{"test":"data","value":123}"#,
            "test://mixed-content-resource",
        )
        .with_mime_type("application/json");
        CallToolResult::success(vec![
            ContentBlock::text("Multiple content types test:"),
            ContentBlock::image(PNG_1X1, "image/png"),
            ContentBlock::resource(resource),
        ])
    }

    #[tool(description = "Always fails with a tool error (isError: true)")]
    fn test_error_handling(&self) -> CallToolResult {
        CallToolResult::error(vec![ContentBlock::text(
            "This tool intentionally returns an error for testing",
        )])
    }

    #[tool(description = "Sends three info log messages while it runs")]
    async fn test_tool_with_logging(&self, context: RequestContext<RoleServer>) -> CallToolResult {
        let steps = [
            "Tool execution started",
            "Tool processing data",
            "Tool execution completed",
        ];
        for (i, step) in steps.into_iter().enumerate() {
            if i > 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            if !may_log(&context) {
                continue;
            }
            let message = LoggingMessageNotificationParam::new(LoggingLevel::Info, json!(step))
                .with_logger("fixture");
            if let Err(error) = context.peer.notify_logging_message(message).await {
                tracing::warn!(%error, "could not send a log message");
            }
        }
        text_result("Logging test completed")
    }

    #[tool(description = "Reports progress 0, 50, 100 of 100 when given a progress token")]
    async fn test_tool_with_progress(&self, context: RequestContext<RoleServer>) -> CallToolResult {
        let token = context.meta.get_progress_token();
        for (i, progress) in [0.0, 50.0, 100.0].into_iter().enumerate() {
            if i > 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            if let Some(token) = &token {
                let update =
                    ProgressNotificationParam::new(token.clone(), progress).with_total(100.0);
                if let Err(error) = context.peer.notify_progress(update).await {
                    tracing::warn!(%error, "could not send progress");
                }
            }
        }
        text_result("Progress test completed")
    }

    #[tool(description = "Asks the client's LLM (sampling/createMessage) and returns its answer")]
    async fn test_sampling(
        &self,
        Parameters(SamplingArgs { prompt }): Parameters<SamplingArgs>,
        context: RequestContext<RoleServer>,
    ) -> CallToolResult {
        let request =
            CreateMessageRequestParams::new(vec![SamplingMessage::user_text(prompt)], 100);
        match context.peer.create_message(request).await {
            Ok(answer) => {
                let text = answer
                    .message
                    .content
                    .first()
                    .and_then(|c| c.as_text())
                    .map_or_else(|| "(no text)".to_string(), |t| t.text.clone());
                text_result(format!("LLM response: {text}"))
            }
            Err(error) => peer_error("sampling", error),
        }
    }

    #[tool(description = "Asks the user for a username and email (elicitation/create)")]
    async fn test_elicitation(
        &self,
        Parameters(ElicitationArgs { message }): Parameters<ElicitationArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let schema = json!({
            "type": "object",
            "properties": {
                "username": {"type": "string", "description": "User's response"},
                "email": {"type": "string", "description": "User's email address"}
            },
            "required": ["username", "email"]
        });
        elicit(&context, message, schema, |answer| {
            format!(
                "User response: action={}, content={}",
                action_name(&answer.action),
                answer_content(answer)
            )
        })
        .await
    }

    #[tool(
        description = "Elicitation whose schema has a default for every primitive type (SEP-1034)"
    )]
    async fn test_elicitation_sep1034_defaults(
        &self,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let schema = json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "description": "User's name", "default": "John Doe"},
                "age": {"type": "integer", "description": "User's age", "default": 30},
                "score": {"type": "number", "description": "User's score", "default": 95.5},
                "status": {
                    "type": "string",
                    "description": "User's status",
                    "enum": ["active", "inactive", "pending"],
                    "default": "active"
                },
                "verified": {"type": "boolean", "description": "Whether user is verified", "default": true}
            }
        });
        elicit(
            &context,
            "Please provide values (all have defaults)",
            schema,
            |answer| {
                format!(
                    "Elicitation completed: action={}, content={}",
                    action_name(&answer.action),
                    answer_content(answer)
                )
            },
        )
        .await
    }

    #[tool(description = "Elicitation with all five enum schema variants (SEP-1330)")]
    async fn test_elicitation_sep1330_enums(
        &self,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let schema = json!({
            "type": "object",
            "properties": {
                "untitledSingle": {"type": "string", "enum": ["option1", "option2", "option3"]},
                "titledSingle": {"type": "string", "oneOf": [
                    {"const": "value1", "title": "First Option"},
                    {"const": "value2", "title": "Second Option"},
                    {"const": "value3", "title": "Third Option"}
                ]},
                "legacyEnum": {
                    "type": "string",
                    "enum": ["opt1", "opt2", "opt3"],
                    "enumNames": ["Option One", "Option Two", "Option Three"]
                },
                "untitledMulti": {"type": "array", "items": {"type": "string", "enum": ["option1", "option2", "option3"]}},
                "titledMulti": {"type": "array", "items": {"anyOf": [
                    {"const": "value1", "title": "First Choice"},
                    {"const": "value2", "title": "Second Choice"},
                    {"const": "value3", "title": "Third Choice"}
                ]}}
            }
        });
        elicit(
            &context,
            "Test enum schema improvements",
            schema,
            |answer| {
                format!(
                    "Elicitation completed: action={}, content={}",
                    action_name(&answer.action),
                    answer_content(answer)
                )
            },
        )
        .await
    }

    #[tool(
        description = "Tool with JSON Schema 2020-12 features",
        input_schema = json_schema_2020_12()
    )]
    fn json_schema_2020_12_tool(&self) -> CallToolResult {
        text_result("JSON Schema 2020-12 tool called")
    }

    #[tool(
        description = "Echoes `region`, which clients also send as the Mcp-Param-Region header",
        input_schema = custom_headers_schema()
    )]
    fn test_custom_headers(&self, arguments: JsonObject) -> CallToolResult {
        let region = arguments
            .get("region")
            .and_then(Value::as_str)
            .unwrap_or("");
        text_result(format!("region={region}"))
    }

    #[tool(description = "Answers after a short pause (SSE polling tests, SEP-1699)")]
    async fn test_reconnection(&self) -> CallToolResult {
        tokio::time::sleep(Duration::from_millis(100)).await;
        text_result("Reconnection test completed")
    }

    #[tool(description = "Needs the client's sampling capability: fails with -32021 without it")]
    fn test_missing_capability(
        &self,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResult, ErrorData> {
        let declared = context
            .client_capabilities()
            .is_some_and(|caps| caps.sampling.is_some());
        if !declared {
            return Err(ErrorData::missing_required_client_capability(
                ClientCapabilities::builder().enable_sampling().build(),
            ));
        }
        Ok(text_result("client declared sampling"))
    }

    #[tool(
        description = "Sends log messages; a stateless request gets them only if it set a log level"
    )]
    async fn test_logging_tool(&self, context: RequestContext<RoleServer>) -> CallToolResult {
        for step in ["logging tool started", "logging tool finished"] {
            if !may_log(&context) {
                continue;
            }
            let message = LoggingMessageNotificationParam::new(LoggingLevel::Info, json!(step))
                .with_logger("fixture");
            if let Err(error) = context.peer.notify_logging_message(message).await {
                tracing::debug!(%error, "log message not sent");
            }
        }
        text_result("logging tool done")
    }

    #[tool(description = "Tells open subscriptions/listen streams that the tool list changed")]
    async fn test_trigger_tool_change(
        &self,
        context: RequestContext<RoleServer>,
    ) -> CallToolResult {
        let _ = self.shared.changes.send(ListChange::Tools);
        if let Err(error) = context.peer.notify_tool_list_changed().await {
            tracing::debug!(%error, "session list_changed not sent");
        }
        text_result("tool list change triggered")
    }

    #[tool(description = "Tells open subscriptions/listen streams that the prompt list changed")]
    async fn test_trigger_prompt_change(
        &self,
        context: RequestContext<RoleServer>,
    ) -> CallToolResult {
        let _ = self.shared.changes.send(ListChange::Prompts);
        if let Err(error) = context.peer.notify_prompt_list_changed().await {
            tracing::debug!(%error, "session list_changed not sent");
        }
        text_result("prompt list change triggered")
    }
}

/// A JSON literal that is an object, as a tool input schema.
fn schema_object(schema: Value) -> Arc<JsonObject> {
    match schema {
        Value::Object(map) => Arc::new(map),
        _ => Arc::new(JsonObject::new()),
    }
}

/// Input schema of `json_schema_2020_12_tool`: the 2020-12 vocabulary a server must publish
/// unchanged (`$schema`, `$defs` with `$anchor`, `$ref`, `allOf`/`anyOf`, `if`/`then`/`else`,
/// `additionalProperties`; SEP-1613, SEP-2106).
fn json_schema_2020_12() -> Arc<JsonObject> {
    schema_object(json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "$defs": {
            "address": {
                "$anchor": "addressDef",
                "type": "object",
                "properties": {"street": {"type": "string"}, "city": {"type": "string"}}
            }
        },
        "properties": {
            "name": {"type": "string"},
            "address": {"$ref": "#/$defs/address"},
            "contactMethod": {"type": "string", "enum": ["phone", "email"]},
            "phone": {"type": "string"},
            "email": {"type": "string"}
        },
        "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
        "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
        "then": {"required": ["phone"]},
        "else": {"required": ["email"]},
        "additionalProperties": false
    }))
}

/// Input schema of `test_custom_headers`: `region` is mirrored in the `Mcp-Param-Region` HTTP
/// header (SEP-2243), which rmcp's HTTP service checks against the body.
fn custom_headers_schema() -> Arc<JsonObject> {
    schema_object(json!({
        "type": "object",
        "properties": {
            "region": {"type": "string", "description": "Deployment region", "x-mcp-header": "Region"}
        },
        "required": ["region"]
    }))
}

/// Whether a log message may go to this request's client: a 2026-07-28 request gets logs only
/// when its `_meta` names a log level (SEP-2575); a session client set its level with
/// `logging/setLevel`.
fn may_log(context: &RequestContext<RoleServer>) -> bool {
    let stateless = context
        .meta
        .protocol_version()
        .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28);
    !stateless || context.meta.log_level().is_some()
}

#[prompt_router]
impl Fixture {
    #[prompt(
        name = "test_simple_prompt",
        description = "A simple prompt without arguments"
    )]
    async fn test_simple_prompt(&self) -> Vec<PromptMessage> {
        vec![PromptMessage::new_text(
            Role::User,
            "This is a simple prompt for testing.",
        )]
    }

    #[prompt(
        name = "test_prompt_with_arguments",
        description = "A prompt with two required arguments"
    )]
    async fn test_prompt_with_arguments(
        &self,
        Parameters(PromptArgs { arg1, arg2 }): Parameters<PromptArgs>,
    ) -> Vec<PromptMessage> {
        vec![PromptMessage::new_text(
            Role::User,
            format!("Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"),
        )]
    }

    #[prompt(
        name = "test_prompt_with_embedded_resource",
        description = "A prompt that embeds a resource"
    )]
    async fn test_prompt_with_embedded_resource(
        &self,
        Parameters(EmbeddedResourcePromptArgs { resource_uri }): Parameters<
            EmbeddedResourcePromptArgs,
        >,
    ) -> Vec<PromptMessage> {
        let resource =
            ResourceContents::text("Embedded resource content for testing.", resource_uri)
                .with_mime_type("text/plain");
        vec![
            PromptMessage::new(Role::User, ContentBlock::resource(resource)),
            PromptMessage::new_text(Role::User, "Please process the embedded resource above."),
        ]
    }

    #[prompt(
        name = "test_prompt_with_image",
        description = "A prompt with an image"
    )]
    async fn test_prompt_with_image(&self) -> Vec<PromptMessage> {
        vec![
            PromptMessage::new(Role::User, ContentBlock::image(PNG_1X1, "image/png")),
            PromptMessage::new_text(Role::User, "Please analyze the image above."),
        ]
    }
}

/// The contents of a fixture resource, or None when `uri` names none.
fn resource_contents(uri: &str) -> Option<ResourceContents> {
    match uri {
        "test://static-text" => Some(
            ResourceContents::text("This is the content of the static text resource.", uri)
                .with_mime_type("text/plain"),
        ),
        "test://static-binary" => {
            Some(ResourceContents::blob(PNG_1X1, uri).with_mime_type("image/png"))
        }
        "test://watched-resource" => Some(
            ResourceContents::text("A resource clients can subscribe to.", uri)
                .with_mime_type("text/plain"),
        ),
        _ => {
            let id = uri
                .strip_prefix("test://template/")
                .and_then(|rest| rest.strip_suffix("/data"))
                .filter(|id| !id.is_empty() && !id.contains('/'))?;
            let body =
                json!({"id": id, "templateTest": true, "data": format!("Data for ID: {id}")});
            Some(ResourceContents::text(body.to_string(), uri).with_mime_type("application/json"))
        }
    }
}

/// Completion values for `test_prompt_with_arguments`'s arguments, filtered by prefix.
fn completions(argument: &str, prefix: &str) -> Vec<String> {
    let candidates: &[&str] = match argument {
        "arg1" => &["paris", "park", "party", "test", "testing"],
        "arg2" => &["world", "word", "work"],
        _ => &[],
    };
    candidates
        .iter()
        .filter(|c| c.starts_with(prefix))
        .map(|c| (*c).to_string())
        .collect()
}

impl ServerHandler for Fixture {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .enable_prompts()
                .enable_prompts_list_changed()
                .enable_resources()
                .enable_resources_subscribe()
                .enable_logging()
                .enable_completions()
                .build(),
        )
        .with_server_info(Implementation::new(
            "toolyard-fixture",
            env!("CARGO_PKG_VERSION"),
        ))
        .with_instructions("MCP conformance fixture server (toolyard examples/fixture_server.rs)")
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let call = ToolCallContext::new(self, request, context);
        self.tool_router.call(call).await
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tool_router.list_all()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tool_router.get(name).cloned()
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        if request.name == mrtr::PROMPT_NAME {
            return mrtr::prompt(&request);
        }
        let prompt = rmcp::handler::server::prompt::PromptContext::new(
            self,
            request.name,
            request.arguments,
            context,
        );
        self.prompt_router.get_prompt(prompt).await
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let mut prompts = self.prompt_router.list_all();
        prompts.push(mrtr::prompt_definition());
        Ok(ListPromptsResult::with_all_items(prompts))
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let resources = vec![
            Resource::new("test://static-text", "static-text")
                .with_description("A static text resource")
                .with_mime_type("text/plain"),
            Resource::new("test://static-binary", "static-binary")
                .with_description("A static binary resource (a PNG)")
                .with_mime_type("image/png"),
            Resource::new("test://watched-resource", "watched-resource")
                .with_description("A resource to subscribe to")
                .with_mime_type("text/plain"),
        ];
        Ok(ListResourcesResult::with_all_items(resources))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        let template = ResourceTemplate::new(TEMPLATE_URI, "template-data")
            .with_description("A JSON document per id")
            .with_mime_type("application/json");
        Ok(ListResourceTemplatesResult::with_all_items(vec![template]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        match resource_contents(&request.uri) {
            Some(contents) => Ok(ReadResourceResult::new(vec![contents]).into()),
            None => Err(ErrorData::resource_not_found(
                format!("Resource not found: {}", request.uri),
                Some(json!({"uri": request.uri})),
            )),
        }
    }

    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.shared
            .subscriptions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(request.uri);
        Ok(())
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.shared
            .subscriptions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&request.uri);
        Ok(())
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        let values = completions(&request.argument.name, &request.argument.value);
        let info = CompletionInfo::with_all_values(values)
            .map_err(|e| ErrorData::internal_error(e, None))?;
        Ok(CompleteResult::new(info))
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        tracing::debug!(level = ?request.level, "client set the log level");
        Ok(())
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        Some(requested.clone())
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), ErrorData> {
        let mut changes = self.shared.changes.subscribe();
        loop {
            let change = tokio::select! {
                () = context.cancelled() => return Ok(()),
                change = changes.recv() => change,
            };
            let sent = match change {
                Ok(ListChange::Tools) => context.sink().notify_tool_list_changed().await,
                Ok(ListChange::Prompts) => context.sink().notify_prompt_list_changed().await,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            };
            if let Err(error) = sent {
                // A category the client did not ask for is filtered out; anything else ends it.
                tracing::debug!(%error, "subscription notification not sent");
            }
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let (changes, _) = broadcast::channel(64);
    let shared = Arc::new(Shared {
        changes,
        subscriptions: Mutex::new(HashSet::new()),
    });
    match (args.http, args.stdio) {
        (Some(addr), _) => serve_http(addr, shared).await,
        (None, true) => serve_stdio(shared).await,
        (None, false) => anyhow::bail!("pass --http ADDR or --stdio"),
    }
}

async fn serve_stdio(shared: Arc<Shared>) -> anyhow::Result<()> {
    let service = Fixture::new(shared).serve(rmcp::transport::stdio()).await?;
    service.waiting().await?;
    Ok(())
}

async fn serve_http(addr: SocketAddr, shared: Arc<Shared>) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    // DNS-rebinding protection: only loopback Host headers (rmcp's default) and loopback Origins.
    let config = StreamableHttpServerConfig::default()
        .with_allowed_origins(["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"])
        .with_cancellation_token(shutdown.child_token());
    let service = StreamableHttpService::new(
        move || Ok(Fixture::new(shared.clone())),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let app = axum::Router::new().nest_service("/mcp", service);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!("listening on http://{}/mcp", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = tokio::signal::ctrl_c().await;
            shutdown.cancel();
        })
        .await?;
    Ok(())
}

/// The 2026-07-28 multi-round-trip tools and prompt (SEP-2322): instead of sending requests to
/// the client mid-call, they answer `input_required` with `inputRequests` (and a sealed
/// `requestState`), and finish when the client retries with `inputResponses`.
mod mrtr {
    use std::collections::BTreeMap;

    use rmcp::handler::server::tool::{InputResponses, RequestState};
    use rmcp::model::{
        CallToolResponse, ClientCapabilities, CreateMessageRequest, CreateMessageRequestParams,
        ElicitRequest, ElicitRequestParams, GetPromptRequestParams, GetPromptResponse,
        GetPromptResult, InputRequest, InputRequiredResult, ListRootsRequest, Prompt,
        PromptMessage, Role, SamplingMessage,
    };
    use rmcp::service::RequestContext;
    use rmcp::{ErrorData, RoleServer, tool, tool_router};
    use serde_json::{Value, json};
    use sha2::{Digest, Sha256};

    use super::{Fixture, elicitation_schema, text_result};

    /// Name of the prompt that needs client input before it can be rendered.
    pub const PROMPT_NAME: &str = "test_input_required_result_prompt";

    /// Key for sealing `requestState`. A fixed key is fine for a test fixture; a real server
    /// uses a secret (rmcp's `request-state` feature offers a full codec).
    const STATE_KEY: &[u8] = b"toolyard-fixture-request-state";

    /// Seals `payload` as `payload.tag` with a keyed SHA-256 tag, so tampering is detected.
    fn seal(payload: &str) -> String {
        format!("{payload}.{}", tag(payload))
    }

    fn tag(payload: &str) -> String {
        let mut hasher = Sha256::new();
        hasher.update(STATE_KEY);
        hasher.update(payload.as_bytes());
        hasher.update(STATE_KEY);
        hex::encode(hasher.finalize())
    }

    /// Opens a state sealed by [`seal`]; a missing or altered state is an invalid-params error.
    fn open(state: Option<&str>) -> Result<&str, ErrorData> {
        let sealed =
            state.ok_or_else(|| ErrorData::invalid_params("requestState is missing", None))?;
        match sealed.rsplit_once('.') {
            Some((payload, mac)) if tag(payload) == mac => Ok(payload),
            _ => Err(ErrorData::invalid_params(
                "requestState failed its integrity check",
                Some(json!({"reason": "tampered requestState"})),
            )),
        }
    }

    fn elicitation(message: &str, schema: Value) -> Result<InputRequest, ErrorData> {
        let params = ElicitRequestParams::FormElicitationParams {
            meta: None,
            message: message.to_string(),
            requested_schema: elicitation_schema(schema)?,
        };
        Ok(InputRequest::Elicitation(ElicitRequest::new(params)))
    }

    fn name_elicitation(message: &str) -> Result<InputRequest, ErrorData> {
        elicitation(
            message,
            json!({"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}),
        )
    }

    fn sampling(text: &str, max_tokens: u32) -> InputRequest {
        let params =
            CreateMessageRequestParams::new(vec![SamplingMessage::user_text(text)], max_tokens);
        InputRequest::CreateMessage(CreateMessageRequest::new(params))
    }

    fn roots() -> InputRequest {
        InputRequest::ListRoots(ListRootsRequest::default())
    }

    /// An `input_required` answer asking for `requests`, with an optional sealed state.
    fn ask(requests: Vec<(&str, InputRequest)>, state: Option<&str>) -> CallToolResponse {
        let requests: BTreeMap<String, InputRequest> = requests
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        CallToolResponse::InputRequired(InputRequiredResult::new(Some(requests), state.map(seal)))
    }

    /// The responses present for every one of `keys`, or None when any is missing.
    fn responses<'a>(
        given: &'a Option<rmcp::model::InputResponses>,
        keys: &[&str],
    ) -> Option<Vec<&'a Value>> {
        let given = given.as_ref()?;
        keys.iter().map(|k| given.get(*k)).collect()
    }

    /// A response's accepted elicitation field (`content.<field>`), if any.
    fn elicited<'a>(response: &'a Value, field: &str) -> Option<&'a str> {
        response.get("content")?.get(field)?.as_str()
    }

    /// A sampling response's text.
    fn sampled(response: &Value) -> String {
        let content = &response["content"];
        let block = if content.is_array() {
            &content[0]
        } else {
            content
        };
        block["text"].as_str().unwrap_or("(no text)").to_string()
    }

    fn done(text: String) -> CallToolResponse {
        CallToolResponse::Complete(text_result(text))
    }

    /// Rejects `inputResponses` that are not an object of objects (a malformed retry).
    fn validate(given: &Option<rmcp::model::InputResponses>) -> Result<(), ErrorData> {
        let malformed = given
            .as_ref()
            .is_some_and(|g| g.values().any(|v| !v.is_object()));
        if malformed {
            return Err(ErrorData::invalid_params(
                "inputResponses entries must be objects",
                None,
            ));
        }
        Ok(())
    }

    #[tool_router(router = mrtr_tool_router, vis = "pub(super)")]
    impl Fixture {
        #[tool(description = "input_required: asks the user's name by elicitation, then greets")]
        fn test_input_required_result_elicitation(
            &self,
            InputResponses(given): InputResponses,
        ) -> Result<CallToolResponse, ErrorData> {
            validate(&given)?;
            match responses(&given, &["user_name"]).and_then(|r| elicited(r[0], "name")) {
                Some(name) => Ok(done(format!("Hello, {name}!"))),
                None => Ok(ask(
                    vec![("user_name", name_elicitation("What is your name?")?)],
                    None,
                )),
            }
        }

        #[tool(
            description = "input_required: asks the client's LLM a question, then returns the answer"
        )]
        fn test_input_required_result_sampling(
            &self,
            InputResponses(given): InputResponses,
        ) -> CallToolResponse {
            match responses(&given, &["capital_question"]) {
                Some(r) => done(format!("LLM response: {}", sampled(r[0]))),
                None => ask(
                    vec![(
                        "capital_question",
                        sampling("What is the capital of France?", 100),
                    )],
                    None,
                ),
            }
        }

        #[tool(description = "input_required: asks for the client's roots, then lists them")]
        fn test_input_required_result_list_roots(
            &self,
            InputResponses(given): InputResponses,
        ) -> CallToolResponse {
            match responses(&given, &["client_roots"]) {
                Some(r) => {
                    let uris: Vec<&str> = r[0]["roots"]
                        .as_array()
                        .map(|roots| {
                            roots
                                .iter()
                                .filter_map(|root| root["uri"].as_str())
                                .collect()
                        })
                        .unwrap_or_default();
                    done(format!("Client roots: {}", uris.join(", ")))
                }
                None => ask(vec![("client_roots", roots())], None),
            }
        }

        #[tool(
            description = "input_required with a sealed requestState that must come back intact"
        )]
        fn test_input_required_result_request_state(
            &self,
            InputResponses(given): InputResponses,
            RequestState(state): RequestState,
        ) -> Result<CallToolResponse, ErrorData> {
            if let Some(r) = responses(&given, &["confirm"]) {
                let payload = open(state.as_deref())?;
                if payload == "confirm-round-1" {
                    let ok = r[0]["content"]["ok"].as_bool().unwrap_or(false);
                    return Ok(done(format!("state-ok: confirmed={ok}")));
                }
            }
            let schema = json!({"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]});
            Ok(ask(
                vec![("confirm", elicitation("Please confirm", schema)?)],
                Some("confirm-round-1"),
            ))
        }

        #[tool(description = "input_required with elicitation, sampling and roots at once")]
        fn test_input_required_result_multiple_inputs(
            &self,
            InputResponses(given): InputResponses,
            RequestState(state): RequestState,
        ) -> Result<CallToolResponse, ErrorData> {
            if let Some(r) = responses(&given, &["user_name", "greeting", "client_roots"]) {
                open(state.as_deref())?;
                let name = elicited(r[0], "name").unwrap_or("(no name)");
                return Ok(done(format!(
                    "name={name}, greeting={}, roots received",
                    sampled(r[1])
                )));
            }
            let requests = vec![
                ("user_name", name_elicitation("What is your name?")?),
                ("greeting", sampling("Generate a greeting", 50)),
                ("client_roots", roots()),
            ];
            Ok(ask(requests, Some("multiple-round-1")))
        }

        #[tool(description = "input_required over two rounds with an evolving requestState")]
        fn test_input_required_result_multi_round(
            &self,
            InputResponses(given): InputResponses,
            RequestState(state): RequestState,
        ) -> Result<CallToolResponse, ErrorData> {
            let color_schema = json!({"type": "object", "properties": {"color": {"type": "string"}}, "required": ["color"]});
            if let Some(r) = responses(&given, &["step2"]) {
                let payload = open(state.as_deref())?;
                if let Some(name) = payload.strip_prefix("round-2:") {
                    let color = elicited(r[0], "color").unwrap_or("(no color)");
                    return Ok(done(format!("{name} likes {color}")));
                }
            }
            if let Some(r) = responses(&given, &["step1"]) {
                if open(state.as_deref())? == "round-1" {
                    let name = elicited(r[0], "name").unwrap_or("(no name)");
                    let step2 = elicitation("Step 2: What is your favorite color?", color_schema)?;
                    return Ok(ask(
                        vec![("step2", step2)],
                        Some(&format!("round-2:{name}")),
                    ));
                }
            }
            Ok(ask(
                vec![("step1", name_elicitation("Step 1: What is your name?")?)],
                Some("round-1"),
            ))
        }

        #[tool(
            description = "input_required whose sealed requestState is checked: tampering is an error"
        )]
        fn test_input_required_result_tampered_state(
            &self,
            InputResponses(given): InputResponses,
            RequestState(state): RequestState,
        ) -> Result<CallToolResponse, ErrorData> {
            if given.is_some() || state.is_some() {
                open(state.as_deref())?;
                return Ok(done("state verified".to_string()));
            }
            let schema = json!({"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]});
            Ok(ask(
                vec![("confirm", elicitation("Please confirm", schema)?)],
                Some("tamper-check"),
            ))
        }

        #[tool(description = "input_required only for the capabilities the client declared")]
        fn test_input_required_result_capabilities(
            &self,
            InputResponses(given): InputResponses,
            context: RequestContext<RoleServer>,
        ) -> Result<CallToolResponse, ErrorData> {
            if given.is_some() {
                return Ok(done("inputs received".to_string()));
            }
            let caps = context
                .client_capabilities()
                .unwrap_or_else(ClientCapabilities::default);
            let mut requests = Vec::new();
            if caps.elicitation.is_some() {
                requests.push(("user_name", name_elicitation("What is your name?")?));
            }
            if caps.sampling.is_some() {
                requests.push(("greeting", sampling("Generate a greeting", 50)));
            }
            if caps.roots.is_some() {
                requests.push(("client_roots", roots()));
            }
            if requests.is_empty() {
                return Ok(done(
                    "the client declared no capability to ask through".to_string(),
                ));
            }
            Ok(ask(requests, None))
        }

        #[tool(
            description = "Needs elicitation: answers input_required, never a request on the stream"
        )]
        fn test_streaming_elicitation(
            &self,
            InputResponses(given): InputResponses,
        ) -> Result<CallToolResponse, ErrorData> {
            match responses(&given, &["user_name"]).and_then(|r| elicited(r[0], "name")) {
                Some(name) => Ok(done(format!("Hello, {name}!"))),
                None => Ok(ask(
                    vec![("user_name", name_elicitation("What is your name?")?)],
                    None,
                )),
            }
        }
    }

    /// The definition of [`PROMPT_NAME`] for `prompts/list`.
    pub fn prompt_definition() -> Prompt {
        Prompt::new(
            PROMPT_NAME,
            Some("A prompt that needs client input first (input_required)"),
            None,
        )
    }

    /// `prompts/get` for [`PROMPT_NAME`]: input_required first, the prompt once answered.
    pub fn prompt(request: &GetPromptRequestParams) -> Result<GetPromptResponse, ErrorData> {
        let context = request
            .input_responses
            .as_ref()
            .and_then(|given| given.get("user_context"))
            .and_then(|r| elicited(r, "context"));
        if let Some(context) = context {
            let message =
                PromptMessage::new_text(Role::User, format!("Use this context: {context}"));
            return Ok(GetPromptResponse::Complete(GetPromptResult::new(vec![
                message,
            ])));
        }
        let schema = json!({"type": "object", "properties": {"context": {"type": "string"}}, "required": ["context"]});
        let request = elicitation("What context should the prompt use?", schema)?;
        let requests = BTreeMap::from([("user_context".to_string(), request)]);
        Ok(GetPromptResponse::InputRequired(InputRequiredResult::new(
            Some(requests),
            None,
        )))
    }
}
