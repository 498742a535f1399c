//! Shared pieces of the MCP tasks tests: a Gateway over in-process workbenches served on
//! streamable HTTP at 127.0.0.1:0, tool specs that declare task support, and reading the
//! JSON-RPC response to a request from a JSON or SSE body.
//!
//! Use from a test file with `mod common_tasks;`.
#![allow(dead_code)] // each test binary uses a different subset of these helpers

use std::sync::Arc;

use rmcp::model::{ElicitRequestParams, ElicitationSchema, Tool};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use toolyard::config::{GatewaySettings, PrefixMode};
use toolyard::gateway::{Gateway, Member};
use toolyard::server::GatewayServer;
use toolyard::server::http::{HttpConfig, router};
use toolyard::server::rewrite::tool_extras;
use toolyard::server::tasks::{TaskStore, TaskSupport};
use toolyard::workbench::{CallContext, ToolSpec, Workbench, WorkbenchError};

/// A gateway served over streamable HTTP.
pub struct Served {
    /// The MCP endpoint, `http://127.0.0.1:<port>/mcp`.
    pub url: String,
    /// The served handler's task store.
    pub tasks: TaskStore,
}

/// A gateway member named `name` serving every tool of `workbench`.
pub fn member(name: &str, workbench: Arc<dyn Workbench>) -> Member {
    Member {
        name: name.into(),
        workbench,
        filter: Default::default(),
    }
}

/// Serves a Gateway over `members` (tool names unprefixed, task support passed through to
/// the tool list) until `shutdown` is cancelled.
pub async fn serve_gateway(members: Vec<Member>, shutdown: CancellationToken) -> Served {
    let settings = GatewaySettings {
        prefix: PrefixMode::Never,
        ..GatewaySettings::default()
    };
    let gateway = Gateway::new(settings, members, shutdown.clone());
    let server = GatewayServer::new(Arc::clone(&gateway) as Arc<dyn Workbench>, "toolyard");
    let tasks = server.task_store();
    let app = router(
        server,
        Arc::new(Vec::new),
        HttpConfig {
            shutdown: shutdown.clone(),
            rewrite: Some(tool_extras(gateway.tool_extras_table())),
            ..HttpConfig::default()
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/mcp", listener.local_addr().expect("local addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled_owned().await })
            .await;
    });
    Served { url, tasks }
}

/// A tool spec with the JSON `schema`, declaring `support` for tasks when given.
pub fn task_spec(
    name: &str,
    description: &str,
    schema: Value,
    support: Option<TaskSupport>,
) -> ToolSpec {
    let mut spec = ToolSpec::new(Tool::new(
        name.to_string(),
        description.to_string(),
        schema.as_object().cloned().expect("an object schema"),
    ));
    if let Some(support) = support {
        spec.extra = support.extra();
    }
    spec
}

/// Asks the caller `message` with a form of one required string `field` (elicitation, or an
/// `input_required` round) and returns the answer's `field` (null when declined).
pub async fn ask_string(
    ctx: &CallContext,
    message: &str,
    field: &str,
) -> Result<Value, WorkbenchError> {
    let params = ElicitRequestParams::FormElicitationParams {
        meta: None,
        message: message.into(),
        requested_schema: ElicitationSchema::builder()
            .required_string(field)
            .build()
            .expect("a valid schema"),
    };
    let answer = ctx
        .observer
        .elicit(params)
        .await
        .map_err(|e| WorkbenchError::Unsupported(e.message.to_string()))?;
    Ok(answer
        .content
        .and_then(|c| c.get(field).cloned())
        .unwrap_or(Value::Null))
}

/// The JSON-RPC message answering request `id` in a JSON or SSE body.
pub fn response_for(text: &str, id: i64) -> Value {
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        return v;
    }
    text.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .find(|m| m["id"] == id)
        .unwrap_or_else(|| panic!("no response to {id} in {text}"))
}
