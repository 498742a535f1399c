//! The fixture's tools for content, notifications and 2025-era server→client requests, and the
//! 2026-era stateless diagnostics (capability check, logging, list-change triggers).

use std::sync::Arc;
use std::time::Duration;

use rmcp::handler::server::tool::InputResponses;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::*;
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, schemars, tool, tool_router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Fixture, ListChange, PNG_1X1, WAV_EMPTY};

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

/// A text-only tool result.
pub(super) fn text_result(text: impl Into<String>) -> CallToolResult {
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
pub(super) fn elicitation_schema(schema: Value) -> Result<ElicitationSchema, ErrorData> {
    serde_json::from_value(schema)
        .map_err(|e| ErrorData::internal_error(format!("bad elicitation schema: {e}"), None))
}

/// Whether the caller speaks 2026-07-28 (no server→client requests: ask with input_required).
fn is_2026(context: &RequestContext<RoleServer>) -> bool {
    context
        .protocol_version()
        .is_some_and(|v| v.as_str() >= ProtocolVersion::V_2026_07_28.as_str())
}

/// The answer a 2026-era caller sent for `key`, decoded.
fn given_answer<T: serde::de::DeserializeOwned>(
    given: &Option<rmcp::model::InputResponses>,
    key: &str,
) -> Result<Option<T>, ErrorData> {
    given
        .as_ref()
        .and_then(|g| g.get(key))
        .map(|v| serde_json::from_value(v.clone()))
        .transpose()
        .map_err(|e| ErrorData::invalid_params(format!("inputResponses.{key}: {e}"), None))
}

/// Asks the client to fill a form: an `elicitation/create` request for 2025-era callers, an
/// `input_required` round for 2026-era callers; renders the answer.
async fn elicit(
    context: &RequestContext<RoleServer>,
    given: &Option<rmcp::model::InputResponses>,
    message: &str,
    schema: Value,
    render: impl FnOnce(&ElicitResult) -> String,
) -> Result<CallToolResponse, ErrorData> {
    if is_2026(context) {
        return match given_answer::<ElicitResult>(given, "form")? {
            Some(answer) => Ok(super::mrtr::done(render(&answer))),
            None => Ok(super::mrtr::ask(
                vec![("form", super::mrtr::elicitation(message, schema)?)],
                None,
            )),
        };
    }
    let params = ElicitRequestParams::FormElicitationParams {
        meta: None,
        message: message.into(),
        requested_schema: elicitation_schema(schema)?,
    };
    Ok(match context.peer.create_elicitation(params).await {
        Ok(answer) => text_result(render(&answer)),
        Err(error) => peer_error("elicitation", error),
    }
    .into())
}

/// The content of an elicitation answer as compact JSON (`{}` when absent).
fn answer_content(answer: &ElicitResult) -> String {
    answer
        .content
        .as_ref()
        .map_or_else(|| "{}".to_string(), Value::to_string)
}

#[tool_router(vis = "pub(super)")]
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
        InputResponses(given): InputResponses,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let render = |answer: &CreateMessageResult| {
            let text = answer
                .message
                .content
                .first()
                .and_then(|c| c.as_text())
                .map_or_else(|| "(no text)".to_string(), |t| t.text.clone());
            format!("LLM response: {text}")
        };
        if is_2026(&context) {
            return match given_answer::<CreateMessageResult>(&given, "sampling")? {
                Some(answer) => Ok(super::mrtr::done(render(&answer))),
                None => Ok(super::mrtr::ask(
                    vec![("sampling", super::mrtr::sampling(&prompt, 100))],
                    None,
                )),
            };
        }
        let request =
            CreateMessageRequestParams::new(vec![SamplingMessage::user_text(prompt)], 100);
        Ok(match context.peer.create_message(request).await {
            Ok(answer) => text_result(render(&answer)),
            Err(error) => peer_error("sampling", error),
        }
        .into())
    }

    #[tool(description = "Asks the user for a username and email (elicitation/create)")]
    async fn test_elicitation(
        &self,
        Parameters(ElicitationArgs { message }): Parameters<ElicitationArgs>,
        InputResponses(given): InputResponses,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let schema = json!({
            "type": "object",
            "properties": {
                "username": {"type": "string", "description": "User's response"},
                "email": {"type": "string", "description": "User's email address"}
            },
            "required": ["username", "email"]
        });
        elicit(&context, &given, &message, schema, |answer| {
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
        InputResponses(given): InputResponses,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
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
            &given,
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
        InputResponses(given): InputResponses,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
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
            &given,
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
