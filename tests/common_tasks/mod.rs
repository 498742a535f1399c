//! Shared pieces of the MCP tasks tests: a Gateway over in-process workbenches served on
//! streamable HTTP at 127.0.0.1:0, tool specs that declare task support, and reading the
//! JSON-RPC response to a request from a JSON or SSE body.
//!
//! Use from a test file with `mod common_tasks;`.
#![allow(dead_code)] // each test binary uses a different subset of these helpers

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use rmcp::model::{ElicitRequestParams, ElicitationSchema, Tool};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use toolyard::config::{GatewaySettings, PrefixMode};
use toolyard::gateway::{Gateway, Member};
use toolyard::server::WorkbenchServer;
use toolyard::server::http::{HttpConfig, router};
use toolyard::server::rewrite::tool_extras;
use toolyard::server::tasks::{TaskStore, TaskSupport};
use toolyard::workbench::{CallContext, ToolSpec, Workbench, WorkbenchError};

/// How long a test waits for something that must happen (a bound on hangs, not a timing check).
pub const PATIENCE: Duration = Duration::from_secs(20);

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
    let server = WorkbenchServer::new(Arc::clone(&gateway) as Arc<dyn Workbench>, "toolyard");
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

/// A client that gives up after [`PATIENCE`].
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(PATIENCE)
        .build()
        .unwrap()
}

/// A 2025-11-25 session.
pub struct Legacy {
    /// The MCP endpoint.
    pub base: String,
    /// Its `Mcp-Session-Id`.
    pub session: String,
    next: AtomicI64,
    /// The `initialize` response.
    pub initialize: Value,
}

impl Legacy {
    /// Initialize a session that declares no client capabilities.
    pub async fn open(base: &str) -> Self {
        Self::open_with(base, json!({})).await
    }

    /// Initialize a session that declares `capabilities`.
    pub async fn open_with(base: &str, capabilities: Value) -> Self {
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": capabilities,
            "clientInfo": {"name": "tasks-test", "version": "1"}}});
        let response = http()
            .post(base)
            .header("accept", "application/json, text/event-stream")
            .json(&init)
            .send()
            .await
            .unwrap();
        let session = response.headers()["mcp-session-id"]
            .to_str()
            .unwrap()
            .to_string();
        let initialize = response_for(&response.text().await.unwrap(), 0);
        let this = Self {
            base: base.to_string(),
            session,
            next: AtomicI64::new(1),
            initialize,
        };
        let status = this
            .post(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .send()
            .await
            .unwrap()
            .status();
        assert!(status.is_success(), "{status}");
        this
    }

    /// A POST on the session.
    pub fn post(&self, body: &Value) -> reqwest::RequestBuilder {
        http()
            .post(&self.base)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-session-id", &self.session)
            .header("mcp-protocol-version", "2025-11-25")
            .json(body)
    }

    /// Send a request; the whole JSON-RPC response (`result` or `error`).
    pub async fn request(&self, method: &str, params: Value) -> Value {
        self.request_with_body(method, params).await.0
    }

    /// Send a request; its response and the raw response body (which may carry notifications).
    pub async fn request_with_body(&self, method: &str, params: Value) -> (Value, String) {
        let id = self.next.fetch_add(1, Ordering::SeqCst);
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let text = self.post(&body).send().await.unwrap().text().await.unwrap();
        (response_for(&text, id), text)
    }

    /// Start `tool` with `{"id": id}` as a task; its id.
    pub async fn start(&self, tool: &str, id: &str) -> String {
        let r = self
            .request(
                "tools/call",
                json!({"name": tool, "arguments": {"id": id}, "task": {"ttl": 60000}}),
            )
            .await;
        assert_eq!(r["result"]["task"]["status"], "working", "{r}");
        assert_eq!(r["result"]["task"]["ttl"], 60000, "{r}");
        r["result"]["task"]["taskId"].as_str().unwrap().to_string()
    }

    /// A task's status.
    pub async fn status(&self, task: &str) -> Value {
        let r = self.request("tasks/get", json!({"taskId": task})).await;
        r["result"]["status"].clone()
    }
}

/// Messages from a session's standalone GET stream.
pub async fn standalone_stream(s: &Legacy) -> tokio::sync::mpsc::UnboundedReceiver<Value> {
    let mut response = reqwest::Client::new()
        .get(&s.base)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &s.session)
        .header("mcp-protocol-version", "2025-11-25")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut buffer = String::new();
        while let Ok(Some(chunk)) = response.chunk().await {
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find('\n') {
                let line: String = buffer.drain(..=end).collect();
                if let Some(data) = line.trim_end().strip_prefix("data:")
                    && let Ok(message) = serde_json::from_str::<Value>(data.trim())
                    && tx.send(message).is_err()
                {
                    return;
                }
            }
        }
    });
    rx
}

/// The next message with `method` on `rx`.
pub async fn next_with_method(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<Value>,
    method: &str,
) -> Value {
    let wait = async {
        loop {
            let message = rx.recv().await.expect("stream ended");
            if message["method"] == method {
                return message;
            }
        }
    };
    tokio::time::timeout(PATIENCE, wait)
        .await
        .unwrap_or_else(|_| panic!("no {method} on the session stream"))
}
