//! A team tool (TeamTool over a round-robin team, against the scripted model server) served as
//! an MCP task tool: two concurrent task runs of the same tool, each with its own team built
//! for the run, do not see each other's messages (2026-07-28 tasks extension, raw JSON-RPC).
#![allow(clippy::unwrap_used)]

mod common_agents;
mod common_tasks;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use common_agents::{client, server_with};
use common_tasks::{member, response_for, serve_gateway};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use toolyard::agents::{AssistantAgent, ChatAgent};
use toolyard::compose::TeamTool;
use toolyard::models::scripted::{Script, ScriptedServer};
use toolyard::server::tasks::TaskSupport;
use toolyard::teams::GroupChat;
use toolyard::termination::MaxMessageTermination;
use toolyard::tools::{FunctionTool, StaticWorkbench, Tool};

const PATIENCE: Duration = Duration::from_secs(20);

/// A one-writer round-robin team: the task, then the writer's reply.
fn crew(server: &ScriptedServer) -> GroupChat {
    let writer = AssistantAgent::builder("writer", client(server))
        .system_message(Some("You are agent writer.".into()))
        .build()
        .unwrap();
    let writer: Arc<dyn ChatAgent> = Arc::new(writer);
    GroupChat::round_robin(vec![writer])
        .termination(MaxMessageTermination::new(2))
        .build()
        .unwrap()
}

/// The `crew` team tool; every call runs a team of its own (runs share no agent state).
fn crew_tool(server: Arc<ScriptedServer>) -> Arc<dyn Tool> {
    let schema = json!({"type": "object", "properties": {"task": {"type": "string"}},
                        "required": ["task"]});
    let tool = FunctionTool::new("crew", "A writer.", schema, move |args, cancel| {
        let team = TeamTool::new(Arc::new(crew(&server)), "crew", "A writer.");
        async move {
            team.run(args, cancel)
                .await
                .map(Value::String)
                .map_err(|e| e.to_string())
        }
    })
    .unwrap();
    Arc::new(tool)
}

async fn serve(server: Arc<ScriptedServer>, shutdown: CancellationToken) -> String {
    let bench = StaticWorkbench::new(vec![crew_tool(server)])
        .with_extra("crew", TaskSupport::Optional.extra());
    serve_gateway(vec![member("teams", Arc::new(bench))], shutdown)
        .await
        .url
}

/// A sessionless 2026-07-28 request from a client that declares the tasks extension.
async fn request(url: &str, method: &str, mut params: Value) -> Value {
    static NEXT: AtomicI64 = AtomicI64::new(1);
    let id = NEXT.fetch_add(1, Ordering::SeqCst);
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "tasks-teams-test", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities":
            {"extensions": {"io.modelcontextprotocol/tasks": {}}},
    });
    let name = params
        .get("name")
        .or_else(|| params.get("taskId"))
        .and_then(Value::as_str)
        .unwrap()
        .to_string();
    let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
    let text = reqwest::Client::new()
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", method)
        .header("mcp-name", name)
        .json(&body)
        .timeout(PATIENCE)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    response_for(&text, id)
}

async fn finished(url: &str, task: &str) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let got = request(url, "tasks/get", json!({"taskId": task})).await;
        let status = got["result"]["status"].clone();
        if status != "working" {
            return got["result"].clone();
        }
        assert!(Instant::now() < deadline, "task never ended: {got}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_team_tool_tasks_do_not_see_each_other() {
    let script = Script::from_json(
        &json!({"rules": [
            {"when": {"last_contains": "alpha"}, "reply": {"kind": "text", "text": "about alpha"}},
            {"when": {"last_contains": "beta"}, "reply": {"kind": "text", "text": "about beta"}}
        ], "when_done": "cycle"})
        .to_string(),
    )
    .unwrap();
    let server = Arc::new(server_with(script).await);
    let shutdown = CancellationToken::new();
    let url = serve(Arc::clone(&server), shutdown.clone()).await;

    let start = |task: &'static str| {
        let url = url.clone();
        async move {
            let r = request(
                &url,
                "tools/call",
                json!({"name": "crew", "arguments": {"task": task}}),
            )
            .await;
            assert_eq!(r["result"]["resultType"], "task", "{r}");
            r["result"]["taskId"].as_str().unwrap().to_string()
        }
    };
    let (a, b) = tokio::join!(start("write alpha"), start("write beta"));
    let (a, b) = tokio::join!(finished(&url, &a), finished(&url, &b));
    for (done, mine, theirs) in [(&a, "alpha", "beta"), (&b, "beta", "alpha")] {
        assert_eq!(done["status"], "completed", "{done}");
        let text = done["result"]["content"][0]["text"].as_str().unwrap();
        assert!(text.contains(&format!("about {mine}")), "{text}");
        assert!(!text.contains(theirs), "{mine} saw {theirs}: {text}");
        assert_eq!(done["result"]["isError"], false, "{done}");
    }
    shutdown.cancel();
}
