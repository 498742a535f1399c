//! MCP tasks for tool calls over toolyard's streamable HTTP face, in both protocol eras, with
//! a raw JSON-RPC client (reqwest): the 2025-11-25 experimental tasks (`params.task`,
//! `tasks/get|result|list|cancel`) and the 2026-07-28 tasks extension (SEP-2663:
//! `CreateTaskResult`, `tasks/get|update|cancel`). The served workbench is a Gateway over
//! in-process tools that wait on a gate the test opens, or on cancellation.
#![allow(clippy::unwrap_used)]

mod common_tasks;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use common_tasks::{
    Legacy, PATIENCE, Served, ask_string, http, member, next_with_method, response_for,
    serve_gateway, standalone_stream, task_spec,
};
use rmcp::model::{CallToolResult, ContentBlock, JsonObject};
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use toolyard::server::tasks::{TaskStore, TaskSupport};
use toolyard::tools::{FunctionTool, StaticWorkbench, Tool};
use toolyard::workbench::{CallContext, ToolSpec, Workbench, WorkbenchError};

/// Gates the slow tools wait on, and what they saw.
#[derive(Default)]
struct Gates {
    gates: Mutex<HashMap<String, Arc<Notify>>>,
    started: Mutex<HashSet<String>>,
    cancelled: Mutex<HashSet<String>>,
}

impl Gates {
    fn gate(&self, id: &str) -> Arc<Notify> {
        let mut gates = self.gates.lock().unwrap();
        Arc::clone(gates.entry(id.to_string()).or_default())
    }

    fn open(&self, id: &str) {
        self.gate(id).notify_one();
    }

    fn started(&self, id: &str) -> bool {
        self.started.lock().unwrap().contains(id)
    }

    fn saw_cancel(&self, id: &str) -> bool {
        self.cancelled.lock().unwrap().contains(id)
    }
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !check() {
        assert!(Instant::now() < deadline, "gave up waiting: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Records that a run was stopped before its gate opened.
struct Stopped(Option<(Arc<Gates>, String)>);

impl Drop for Stopped {
    fn drop(&mut self) {
        if let Some((gates, id)) = self.0.take() {
            gates.cancelled.lock().unwrap().insert(id);
        }
    }
}

fn slow_tool(name: &str, gates: Arc<Gates>) -> Arc<dyn Tool> {
    let schema =
        json!({"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]});
    let tool = FunctionTool::new(name, "waits for its gate", schema, move |args, cancel| {
        let gates = Arc::clone(&gates);
        async move {
            let id = args["id"].as_str().unwrap_or_default().to_string();
            let gate = gates.gate(&id);
            gates.started.lock().unwrap().insert(id.clone());
            // Stopped either way: the token fires, or a layer above drops this future.
            let mut stopped = Stopped(Some((Arc::clone(&gates), id.clone())));
            tokio::select! {
                _ = gate.notified() => {
                    stopped.0 = None;
                    Ok(json!(format!("done {id}")))
                }
                _ = cancel.cancelled() => Err(format!("{id} cancelled")),
            }
        }
    })
    .unwrap();
    Arc::new(tool)
}

/// How many progress notifications `burst` sends.
const BURST: u32 = 200;

/// A workbench whose tools need the caller: `ask` asks a question (elicitation) and returns
/// the answer; `report` reports progress, then waits for gate `report`; `burst` waits for gate
/// `burst`, then reports [`BURST`] steps of progress; `ask_and_report` asks a question and,
/// while the question waits for its answer, reports progress.
struct CallerBench(Arc<Gates>);

#[async_trait]
impl Workbench for CallerBench {
    async fn list_tools(&self) -> Result<Vec<ToolSpec>, WorkbenchError> {
        let spec = |name, description| {
            let support = Some(TaskSupport::Optional);
            task_spec(name, description, json!({"type": "object"}), support)
        };
        Ok(vec![
            spec("ask", "asks the user"),
            spec("report", "reports"),
            spec("burst", "reports many steps"),
            spec("ask_and_report", "asks, and reports while it waits"),
        ])
    }

    async fn call_tool(
        &self,
        name: &str,
        _arguments: Option<JsonObject>,
        ctx: CallContext,
    ) -> Result<CallToolResult, WorkbenchError> {
        if name == "burst" {
            self.0.gate("burst").notified().await;
            for step in 1..=BURST {
                let message = format!("step {step}");
                let (step, total) = (f64::from(step), Some(f64::from(BURST)));
                ctx.observer.progress(step, total, Some(message)).await;
            }
            return Ok(CallToolResult::success(vec![ContentBlock::text("burst")]));
        }
        if name == "ask_and_report" {
            let ask = ask_string(&ctx, "favourite colour?", "color");
            let report = ctx
                .observer
                .progress(1.0, None, Some("while asking".into()));
            let (color, ()) = tokio::join!(ask, report);
            return Ok(CallToolResult::success(vec![ContentBlock::text(format!(
                "color {}",
                color?
            ))]));
        }
        if name == "ask" {
            let color = ask_string(&ctx, "favourite colour?", "color").await?;
            return Ok(CallToolResult::success(vec![ContentBlock::text(format!(
                "color {color}"
            ))]));
        }
        ctx.observer
            .progress(1.0, Some(2.0), Some("halfway".into()))
            .await;
        let gate = self.0.gate("report");
        tokio::select! {
            _ = gate.notified() => {}
            _ = ctx.cancel.cancelled() => return Err(WorkbenchError::Cancelled),
        }
        Ok(CallToolResult::success(vec![ContentBlock::text(
            "reported",
        )]))
    }
}

struct App {
    base: String,
    gates: Arc<Gates>,
    tasks: TaskStore,
    shutdown: CancellationToken,
}

impl Drop for App {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn app() -> App {
    let gates = Arc::new(Gates::default());
    let bench = StaticWorkbench::new(vec![
        slow_tool("slow", Arc::clone(&gates)),
        slow_tool("must_task", Arc::clone(&gates)),
        slow_tool("no_task", Arc::clone(&gates)),
        slow_tool("plain", Arc::clone(&gates)),
    ])
    .with_extra("slow", TaskSupport::Optional.extra())
    .with_extra("must_task", TaskSupport::Required.extra())
    .with_extra("no_task", TaskSupport::Forbidden.extra());
    let shutdown = CancellationToken::new();
    let members = vec![
        member("bench", Arc::new(bench)),
        member("caller", Arc::new(CallerBench(Arc::clone(&gates)))),
    ];
    let Served { url: base, tasks } = serve_gateway(members, shutdown.clone()).await;
    App {
        base,
        gates,
        tasks,
        shutdown,
    }
}

fn text_of(result: &Value) -> String {
    result["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn legacy_task_is_created_polled_and_its_result_fetched() {
    let app = app().await;
    let s = Legacy::open(&app.base).await;
    let caps = &s.initialize["result"]["capabilities"];
    assert!(
        caps["tasks"]["requests"]["tools"]["call"].is_object(),
        "{caps}"
    );
    assert!(caps["tasks"]["list"].is_object() && caps["tasks"]["cancel"].is_object());

    let tools = s.request("tools/list", json!({})).await;
    let support = |name: &str| {
        tools["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .map(|t| t["execution"]["taskSupport"].clone())
            .unwrap()
    };
    assert_eq!(support("slow"), "optional");
    assert_eq!(support("must_task"), "required");

    let task = s.start("slow", "a").await;
    assert_eq!(s.status(&task).await, "working");
    let got = s.request("tasks/get", json!({"taskId": task})).await;
    assert_eq!(got["result"]["taskId"], task.as_str());
    assert!(got["result"]["createdAt"].is_string() && got["result"]["pollInterval"].is_u64());
    eventually("the tool starts", || app.gates.started("a")).await;
    app.gates.open("a");

    // tasks/result waits for the end and returns the call's own result.
    let result = s.request("tasks/result", json!({"taskId": task})).await;
    assert_eq!(text_of(&result["result"]), "done a", "{result}");
    assert_eq!(
        result["result"]["_meta"]["io.modelcontextprotocol/related-task"]["taskId"],
        task.as_str()
    );
    assert_eq!(s.status(&task).await, "completed");

    let list = s.request("tasks/list", json!({})).await;
    let listed: Vec<&Value> = list["result"]["tasks"].as_array().unwrap().iter().collect();
    assert_eq!(listed.len(), 1, "{list}");
    assert_eq!(listed[0]["taskId"], task.as_str());
    assert_eq!(listed[0]["status"], "completed");

    // A plain call of an optional tool still runs inline.
    app.gates.open("inline");
    let inline = s
        .request(
            "tools/call",
            json!({"name": "slow", "arguments": {"id": "inline"}}),
        )
        .await;
    assert_eq!(text_of(&inline["result"]), "done inline", "{inline}");
}

#[tokio::test]
async fn legacy_cancel_stops_the_run() {
    let app = app().await;
    let s = Legacy::open(&app.base).await;
    let task = s.start("slow", "b").await;
    eventually("the tool starts", || app.gates.started("b")).await;

    let cancelled = s.request("tasks/cancel", json!({"taskId": task})).await;
    assert_eq!(cancelled["result"]["status"], "cancelled", "{cancelled}");
    eventually("the tool sees the cancellation", || {
        app.gates.saw_cancel("b")
    })
    .await;
    assert_eq!(s.status(&task).await, "cancelled");

    let again = s.request("tasks/cancel", json!({"taskId": task})).await;
    assert_eq!(again["error"]["code"], -32602, "{again}");
    let result = s.request("tasks/result", json!({"taskId": task})).await;
    assert!(
        result["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cancelled"),
        "{result}"
    );
    assert_eq!(app.tasks.running(), 0);
}

#[tokio::test]
async fn legacy_errors_unknown_ids_forbidden_tools_and_other_sessions() {
    let app = app().await;
    let s = Legacy::open(&app.base).await;
    let other = Legacy::open(&app.base).await;

    let unknown = s.request("tasks/get", json!({"taskId": "nope"})).await;
    assert_eq!(unknown["error"]["code"], -32602, "{unknown}");
    assert!(
        unknown["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nope")
    );

    for tool in ["no_task", "plain"] {
        let refused = s
            .request(
                "tools/call",
                json!({"name": tool, "arguments": {"id": "x"}, "task": {}}),
            )
            .await;
        assert_eq!(refused["error"]["code"], -32601, "{tool}: {refused}");
    }
    let required = s
        .request(
            "tools/call",
            json!({"name": "must_task", "arguments": {"id": "y"}}),
        )
        .await;
    assert_eq!(required["error"]["code"], -32601, "{required}");
    let missing = s
        .request(
            "tools/call",
            json!({"name": "no_such_tool", "arguments": {}, "task": {}}),
        )
        .await;
    let message = missing["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("no_such_tool"), "{missing}");
    assert_ne!(missing["error"]["code"], -32601, "{missing}");

    // A task belongs to the session that created it.
    let task = s.start("must_task", "mine").await;
    let foreign = other.request("tasks/get", json!({"taskId": task})).await;
    assert_eq!(foreign["error"]["code"], -32602, "{foreign}");
    let list = other.request("tasks/list", json!({})).await;
    assert_eq!(list["result"]["tasks"], json!([]), "{list}");
    app.gates.open("mine");
    let result = s.request("tasks/result", json!({"taskId": task})).await;
    assert_eq!(text_of(&result["result"]), "done mine", "{result}");
}

#[tokio::test]
async fn legacy_task_progress_and_status_reach_the_session() {
    let app = app().await;
    let s = Legacy::open(&app.base).await;
    let mut stream = standalone_stream(&s).await;
    let (r, body) = s
        .request_with_body(
            "tools/call",
            json!({"name": "report", "arguments": {}, "task": {},
                   "_meta": {"progressToken": "p-1"}}),
        )
        .await;
    let task = r["result"]["task"]["taskId"].as_str().unwrap().to_string();
    // Progress sent before the task handle went out rides the request's own stream.
    let early = body
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .find(|m| m["method"] == "notifications/progress");
    let progress = match early {
        Some(progress) => progress,
        None => next_with_method(&mut stream, "notifications/progress").await,
    };
    assert_eq!(progress["params"]["progressToken"], "p-1", "{progress}");
    assert_eq!(progress["params"]["message"], "halfway", "{progress}");
    app.gates.open("report");
    let status = next_with_method(&mut stream, "notifications/tasks/status").await;
    assert_eq!(status["params"]["taskId"], task.as_str(), "{status}");
    assert_eq!(status["params"]["status"], "completed", "{status}");
}

/// Regression: each progress notification of a 2025-era task was sent from a task of its own,
/// so a quick run's progress could reach the session out of order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_task_progress_reaches_the_session_in_order() {
    let app = app().await;
    let s = Legacy::open(&app.base).await;
    let mut stream = standalone_stream(&s).await;
    let r = s
        .request(
            "tools/call",
            json!({"name": "burst", "arguments": {}, "task": {},
                   "_meta": {"progressToken": "burst-1"}}),
        )
        .await;
    let task = r["result"]["task"]["taskId"].as_str().unwrap().to_string();
    app.gates.open("burst");
    let mut steps = Vec::new();
    loop {
        let message = tokio::time::timeout(PATIENCE, stream.recv())
            .await
            .expect("the task's notifications")
            .expect("the stream stays open");
        match message["method"].as_str() {
            Some("notifications/progress") => {
                assert_eq!(message["params"]["progressToken"], "burst-1", "{message}");
                steps.push(message["params"]["progress"].as_f64().unwrap());
            }
            Some("notifications/tasks/status") => {
                assert_eq!(message["params"]["taskId"], task.as_str(), "{message}");
                assert_eq!(message["params"]["status"], "completed", "{message}");
                break;
            }
            _ => {}
        }
    }
    let expected: Vec<f64> = (1..=BURST).map(f64::from).collect();
    assert_eq!(steps, expected, "every step, in order, before the status");
}

/// Regression: the 2025 path awaited a question to the caller inside the loop that relays the
/// call's events, so progress stopped while the question waited. The client here answers the
/// question only after the progress reported meanwhile has reached it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_waiting_for_its_answer_holds_no_progress_up() {
    let app = app().await;
    let s = Legacy::open_with(&app.base, json!({"elicitation": {}})).await;
    let body = json!({"jsonrpc": "2.0", "id": 77, "method": "tools/call", "params": {
        "name": "ask_and_report", "arguments": {}, "_meta": {"progressToken": "asking"}}});
    let mut response = s.post(&body).send().await.unwrap();
    let mut buffer = String::new();
    let mut question: Option<Value> = None;
    let mut progress = false;
    let result = loop {
        let chunk = tokio::time::timeout(PATIENCE, response.chunk())
            .await
            .expect("the call's stream goes on: progress must not wait for the answer")
            .unwrap()
            .expect("the call's stream ended early");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        let mut done = None;
        while let Some(end) = buffer.find('\n') {
            let line: String = buffer.drain(..=end).collect();
            let Some(data) = line.trim_end().strip_prefix("data:") else {
                continue;
            };
            let Ok(message) = serde_json::from_str::<Value>(data.trim()) else {
                continue;
            };
            match message["method"].as_str() {
                Some("elicitation/create") => question = Some(message),
                Some("notifications/progress") => {
                    assert_eq!(message["params"]["message"], "while asking", "{message}");
                    progress = true;
                }
                _ if message["id"] == 77 => done = Some(message),
                _ => {}
            }
        }
        if progress && let Some(asked) = question.take() {
            let answer = json!({"jsonrpc": "2.0", "id": asked["id"], "result": {
                "action": "accept", "content": {"color": "green"}}});
            let status = s.post(&answer).send().await.unwrap().status();
            assert!(status.is_success(), "{status}");
        }
        if let Some(done) = done {
            break done;
        }
    };
    assert!(progress, "progress came while the question waited");
    assert_eq!(text_of(&result["result"]), "color \"green\"", "{result}");
}

#[tokio::test]
async fn closing_the_session_cancels_its_tasks() {
    let app = app().await;
    let s = Legacy::open(&app.base).await;
    let other = Legacy::open(&app.base).await;
    s.start("slow", "m").await;
    other.start("slow", "n").await;
    eventually("both tools start", || {
        app.gates.started("m") && app.gates.started("n")
    })
    .await;
    let closed = http()
        .delete(&app.base)
        .header("mcp-session-id", &s.session)
        .header("mcp-protocol-version", "2025-11-25")
        .send()
        .await
        .unwrap();
    assert!(closed.status().is_success(), "{}", closed.status());
    eventually("the closed session's run stops", || {
        app.gates.saw_cancel("m")
    })
    .await;
    assert!(!app.gates.saw_cancel("n"));
    assert_eq!(app.tasks.running(), 1);
}

#[tokio::test]
async fn two_concurrent_tasks_are_isolated() {
    let app = app().await;
    let s = Legacy::open(&app.base).await;
    let c = s.start("slow", "c").await;
    let d = s.start("slow", "d").await;
    assert_ne!(c, d);
    eventually("both tools start", || {
        app.gates.started("c") && app.gates.started("d")
    })
    .await;

    app.gates.open("d");
    let result_d = s.request("tasks/result", json!({"taskId": d})).await;
    assert_eq!(text_of(&result_d["result"]), "done d");
    assert_eq!(s.status(&c).await, "working");

    app.gates.open("c");
    let result_c = s.request("tasks/result", json!({"taskId": c})).await;
    assert_eq!(text_of(&result_c["result"]), "done c");
    assert!(!app.gates.saw_cancel("c") && !app.gates.saw_cancel("d"));
}

#[tokio::test]
async fn shutdown_cancels_every_running_task() {
    let app = app().await;
    let s = Legacy::open(&app.base).await;
    let e = s.start("slow", "e").await;
    let f = s.start("slow", "f").await;
    eventually("both tools start", || {
        app.gates.started("e") && app.gates.started("f")
    })
    .await;
    assert_eq!(app.tasks.running(), 2);
    app.tasks.shutdown().await;
    assert!(app.gates.saw_cancel("e") && app.gates.saw_cancel("f"));
    assert_eq!(app.tasks.running(), 0);
    assert_eq!(s.status(&e).await, "cancelled");
    assert_eq!(s.status(&f).await, "cancelled");
}

// ---- 2026-07-28: the tasks extension (SEP-2663) ----

const TASKS_EXT: &str = "io.modelcontextprotocol/tasks";

/// A sessionless 2026-07-28 request; `tasks`: whether the client declares the extension.
async fn request_2026(base: &str, method: &str, mut params: Value, tasks: bool) -> Value {
    static NEXT: AtomicI64 = AtomicI64::new(1000);
    let id = NEXT.fetch_add(1, Ordering::SeqCst);
    let mut caps = json!({});
    if tasks {
        caps["extensions"] = json!({ TASKS_EXT: {} });
    }
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "tasks-test", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": caps,
    });
    let name = params
        .get("name")
        .or_else(|| params.get("taskId"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut post = http()
        .post(base)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", method);
    if let Some(name) = name {
        post = post.header("mcp-name", name);
    }
    let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
    let text = post.json(&body).send().await.unwrap().text().await.unwrap();
    response_for(&text, id)
}

async fn get_2026(base: &str, task: &str) -> Value {
    request_2026(base, "tasks/get", json!({"taskId": task}), true).await["result"].clone()
}

async fn wait_status_2026(base: &str, task: &str, status: &str) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let got = get_2026(base, task).await;
        if got["status"] == status {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "task never became {status}: {got}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn start_2026(base: &str, tool: &str, id: &str) -> String {
    let r = request_2026(
        base,
        "tools/call",
        json!({"name": tool, "arguments": {"id": id}}),
        true,
    )
    .await;
    assert_eq!(r["result"]["resultType"], "task", "{r}");
    assert_eq!(r["result"]["status"], "working", "{r}");
    assert!(r["result"]["ttlMs"].is_u64() && r["result"]["pollIntervalMs"].is_u64());
    r["result"]["taskId"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn tasks_extension_lifecycle_2026() {
    let app = app().await;
    let task = start_2026(&app.base, "slow", "g").await;
    let got = get_2026(&app.base, &task).await;
    assert_eq!(got["status"], "working", "{got}");
    assert_eq!(got["resultType"], "complete", "{got}");
    eventually("the tool starts", || app.gates.started("g")).await;
    app.gates.open("g");
    let done = wait_status_2026(&app.base, &task, "completed").await;
    assert_eq!(text_of(&done["result"]), "done g", "{done}");

    // Cancelling an ended task is acknowledged and changes nothing.
    let ack = request_2026(&app.base, "tasks/cancel", json!({"taskId": task}), true).await;
    assert_eq!(ack["result"]["resultType"], "complete", "{ack}");
    assert_eq!(get_2026(&app.base, &task).await["status"], "completed");
}

#[tokio::test]
async fn tasks_extension_cancel_2026() {
    let app = app().await;
    let task = start_2026(&app.base, "slow", "h").await;
    eventually("the tool starts", || app.gates.started("h")).await;
    let ack = request_2026(&app.base, "tasks/cancel", json!({"taskId": task}), true).await;
    assert!(ack.get("error").is_none(), "{ack}");
    eventually("the tool sees the cancellation", || {
        app.gates.saw_cancel("h")
    })
    .await;
    assert_eq!(get_2026(&app.base, &task).await["status"], "cancelled");
}

#[tokio::test]
async fn tasks_extension_negotiation_and_errors_2026() {
    let app = app().await;
    // Without the extension an optional tool runs inline.
    app.gates.open("i");
    let inline = request_2026(
        &app.base,
        "tools/call",
        json!({"name": "slow", "arguments": {"id": "i"}}),
        false,
    )
    .await;
    assert_eq!(inline["result"]["resultType"], "complete", "{inline}");
    assert_eq!(text_of(&inline["result"]), "done i");
    // A tool that requires tasks needs the extension.
    let required = request_2026(
        &app.base,
        "tools/call",
        json!({"name": "must_task", "arguments": {"id": "j"}}),
        false,
    )
    .await;
    assert_eq!(required["error"]["code"], -32021, "{required}");
    // A tool that forbids tasks runs inline even for a client with the extension.
    app.gates.open("k");
    let forbidden = request_2026(
        &app.base,
        "tools/call",
        json!({"name": "no_task", "arguments": {"id": "k"}}),
        true,
    )
    .await;
    assert_eq!(forbidden["result"]["resultType"], "complete", "{forbidden}");
    assert_eq!(text_of(&forbidden["result"]), "done k");
    // Unknown task ids are invalid params.
    let unknown = request_2026(&app.base, "tasks/get", json!({"taskId": "nope"}), true).await;
    assert_eq!(unknown["error"]["code"], -32602, "{unknown}");
}

#[tokio::test]
async fn tasks_extension_input_required_and_update_2026() {
    let app = app().await;
    let r = request_2026(
        &app.base,
        "tools/call",
        json!({"name": "ask", "arguments": {}}),
        true,
    )
    .await;
    assert_eq!(r["result"]["resultType"], "task", "{r}");
    let task = r["result"]["taskId"].as_str().unwrap().to_string();
    let waiting = wait_status_2026(&app.base, &task, "input_required").await;
    let requests = waiting["inputRequests"].as_object().unwrap().clone();
    assert_eq!(requests.len(), 1, "{waiting}");
    let (key, request) = requests.iter().next().unwrap();
    assert_eq!(request["method"], "elicitation/create", "{waiting}");

    let mut responses = JsonObject::new();
    responses.insert(
        key.clone(),
        json!({"action": "accept", "content": {"color": "teal"}}),
    );
    let ack = request_2026(
        &app.base,
        "tasks/update",
        json!({"taskId": task, "inputResponses": responses}),
        true,
    )
    .await;
    assert!(ack.get("error").is_none(), "{ack}");
    let done = wait_status_2026(&app.base, &task, "completed").await;
    assert_eq!(text_of(&done["result"]), "color \"teal\"", "{done}");
}

// ---- the legacy SSE face (same router, `/sse` + `/messages`) ----

type Events = std::pin::Pin<
    Box<
        dyn futures::Stream<
                Item = Result<
                    eventsource_stream::Event,
                    eventsource_stream::EventStreamError<reqwest::Error>,
                >,
            > + Send,
    >,
>;

struct SseSession {
    events: Events,
    endpoint: String,
    next: i64,
}

impl SseSession {
    async fn open(mcp_url: &str) -> Self {
        use eventsource_stream::Eventsource;
        use futures::StreamExt;
        let root = mcp_url.trim_end_matches("/mcp");
        let response = reqwest::get(format!("{root}/sse")).await.unwrap();
        let mut events: Events = Box::pin(response.bytes_stream().eventsource());
        let first = events.next().await.unwrap().unwrap();
        assert_eq!(first.event, "endpoint");
        Self {
            events,
            endpoint: format!("{root}{}", first.data),
            next: 1,
        }
    }

    async fn post(&self, body: &Value) {
        let status = http()
            .post(&self.endpoint)
            .json(body)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 202);
    }

    async fn request(&mut self, method: &str, params: Value) -> Value {
        use futures::StreamExt;
        let id = self.next;
        self.next += 1;
        self.post(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        let wait = async {
            loop {
                let event = self.events.next().await.unwrap().unwrap();
                let Ok(message) = serde_json::from_str::<Value>(&event.data) else {
                    continue;
                };
                if message["id"] == id && message.get("method").is_none() {
                    return message;
                }
            }
        };
        tokio::time::timeout(PATIENCE, wait).await.unwrap()
    }
}

#[tokio::test]
async fn legacy_task_over_the_sse_face() {
    let app = app().await;
    let mut s = SseSession::open(&app.base).await;
    let init = s
        .request(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "tasks-sse-test", "version": "1"}}),
        )
        .await;
    let caps = &init["result"]["capabilities"];
    assert!(
        caps["tasks"]["requests"]["tools"]["call"].is_object(),
        "{init}"
    );
    s.post(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .await;

    let created = s
        .request(
            "tools/call",
            json!({"name": "slow", "arguments": {"id": "sse"}, "task": {}}),
        )
        .await;
    assert_eq!(created["result"]["task"]["status"], "working", "{created}");
    let task = created["result"]["task"]["taskId"]
        .as_str()
        .unwrap()
        .to_string();
    let got = s.request("tasks/get", json!({"taskId": task})).await;
    assert_eq!(got["result"]["taskId"], task.as_str(), "{got}");
    app.gates.open("sse");
    let result = s.request("tasks/result", json!({"taskId": task})).await;
    assert_eq!(text_of(&result["result"]), "done sse", "{result}");
    let cancel = s.request("tasks/cancel", json!({"taskId": task})).await;
    assert_eq!(cancel["error"]["code"], -32602, "{cancel}");
}
