//! The official MCP conformance suite's tasks-extension scenarios (2026-07-28, SEP-2663;
//! `@modelcontextprotocol/conformance` 0.2.0-alpha.12, which `--suite all` does not run)
//! against toolyard's streamable HTTP face serving the fixture tools those scenarios name.
#![allow(clippy::unwrap_used)]

mod common;
mod common_tasks;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use common_tasks::{ask_string, member, serve_gateway, task_spec};
use rmcp::ErrorData;
use rmcp::model::{
    CallToolResult, ContentBlock, ElicitRequest, ElicitRequestParams, ElicitationSchema,
    InputRequest, InputRequests, JsonObject,
};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use toolyard::server::tasks::TaskSupport;
use toolyard::workbench::{
    CallContext, TaskRequest, TaskStart, ToolSpec, Workbench, WorkbenchError,
};

/// Scenarios toolyard does not pass, with the reason.
const EXPECTED_FAILURES: &[(&str, &str)] = &[];

/// The fixture tools the tasks scenarios call.
struct Fixtures;

fn spec(name: &str, support: Option<TaskSupport>, properties: Value) -> ToolSpec {
    let schema = json!({"type": "object", "properties": properties});
    task_spec(
        name,
        &format!("conformance fixture {name}"),
        schema,
        support,
    )
}

/// One form elicitation per key, asked at once.
fn questions(keys: &[&str]) -> InputRequests {
    keys.iter()
        .map(|key| {
            let params = ElicitRequestParams::FormElicitationParams {
                meta: None,
                message: format!("{key}?"),
                requested_schema: ElicitationSchema::builder()
                    .required_string("answer")
                    .build()
                    .unwrap(),
            };
            (
                key.to_string(),
                InputRequest::Elicitation(ElicitRequest::new(params)),
            )
        })
        .collect()
}

fn text(s: String) -> CallToolResult {
    CallToolResult::success(vec![ContentBlock::text(s)])
}

async fn sleep_or_cancel(seconds: f64, cancel: &CancellationToken) -> Result<(), WorkbenchError> {
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_secs_f64(seconds)) => Ok(()),
        _ = cancel.cancelled() => Err(WorkbenchError::Cancelled),
    }
}

#[async_trait]
impl Workbench for Fixtures {
    async fn list_tools(&self) -> Result<Vec<ToolSpec>, WorkbenchError> {
        Ok(vec![
            spec("greet", None, json!({"name": {"type": "string"}})),
            spec(
                "slow_compute",
                Some(TaskSupport::Optional),
                json!({"seconds": {"type": "number"}}),
            ),
            spec("failing_job", Some(TaskSupport::Required), json!({})),
            spec("protocol_error_job", Some(TaskSupport::Optional), json!({})),
            spec(
                "test_tool_with_task",
                Some(TaskSupport::Required),
                json!({}),
            ),
            spec(
                "confirm_delete",
                Some(TaskSupport::Optional),
                json!({"filename": {"type": "string"}}),
            ),
            spec("multi_input", Some(TaskSupport::Optional), json!({})),
        ])
    }

    async fn call_tool(
        &self,
        name: &str,
        arguments: Option<JsonObject>,
        ctx: CallContext,
    ) -> Result<CallToolResult, WorkbenchError> {
        let args = arguments.unwrap_or_default();
        match name {
            "greet" => {
                let who = args.get("name").and_then(Value::as_str).unwrap_or("World");
                Ok(text(format!("Hello, {who}!")))
            }
            "slow_compute" => {
                let seconds = args.get("seconds").and_then(Value::as_f64).unwrap_or(1.0);
                sleep_or_cancel(seconds, &ctx.cancel).await?;
                Ok(text(format!("computed after {seconds}s")))
            }
            "failing_job" => {
                sleep_or_cancel(1.0, &ctx.cancel).await?;
                Ok(CallToolResult::error(vec![ContentBlock::text(
                    "the job failed",
                )]))
            }
            "protocol_error_job" => Err(WorkbenchError::Upstream {
                server: "fixtures".into(),
                error: Box::new(ErrorData::internal_error("the job crashed", None)),
            }),
            "confirm_delete" => {
                let file = args.get("filename").and_then(Value::as_str).unwrap_or("?");
                let answers = ctx
                    .observer
                    .input(questions(&["confirm"]), CancellationToken::new())
                    .await
                    .map_err(|e| WorkbenchError::Unsupported(e.message.to_string()))?;
                Ok(text(format!("delete {file}: {}", answers["confirm"])))
            }
            "multi_input" => {
                let answers = ctx
                    .observer
                    .input(questions(&["first", "second"]), CancellationToken::new())
                    .await
                    .map_err(|e| WorkbenchError::Unsupported(e.message.to_string()))?;
                Ok(text(format!("{} {}", answers["first"], answers["second"])))
            }
            "test_tool_with_task" => {
                let user = ask_string(&ctx, "What is your name?", "user_name").await?;
                Ok(greeting(&user))
            }
            other => Err(WorkbenchError::UnknownTool { name: other.into() }),
        }
    }

    /// `test_tool_with_task` asks for the name within the caller's request (an MRTR round for
    /// a 2026 caller) and only then becomes a task; every other tool is a task from the start.
    async fn start_task(
        &self,
        name: &str,
        _arguments: Option<JsonObject>,
        ctx: CallContext,
        _task: TaskRequest,
    ) -> Result<TaskStart, WorkbenchError> {
        if name != "test_tool_with_task" {
            return Ok(TaskStart::Local);
        }
        // Asked under the key `user_name`, answered with `{"name": ...}` (as the scenario does).
        let params = ElicitRequestParams::FormElicitationParams {
            meta: None,
            message: "What is your name?".into(),
            requested_schema: ElicitationSchema::builder()
                .required_string("name")
                .build()
                .unwrap(),
        };
        let requests: InputRequests = [(
            "user_name".to_string(),
            InputRequest::Elicitation(ElicitRequest::new(params)),
        )]
        .into_iter()
        .collect();
        let answers = ctx
            .observer
            .input(requests, CancellationToken::new())
            .await
            .map_err(|e| WorkbenchError::Unsupported(e.message.to_string()))?;
        let user = answers["user_name"]["content"]["name"].clone();
        Ok(TaskStart::Continue(Box::pin(async move {
            sleep_or_cancel(0.2, &ctx.cancel).await?;
            Ok(greeting(&user))
        })))
    }
}

fn greeting(user: &Value) -> CallToolResult {
    text(format!("Hello, {}!", user.as_str().unwrap_or("?")))
}

async fn serve(shutdown: CancellationToken) -> String {
    let members = vec![member("fixtures", Arc::new(Fixtures))];
    serve_gateway(members, shutdown).await.url
}

/// The scenario names the suite lists as tasks-extension scenarios.
fn tasks_scenarios(cli: &Path) -> Vec<String> {
    let out = Command::new(common::node22())
        .arg(cli)
        .arg("list")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .filter_map(|l| l.strip_suffix(" [extension]"))
        .filter(|name| name.starts_with("tasks-"))
        .map(str::to_string)
        .collect()
}

/// Run one scenario; the ids of its failed checks (or why it produced none).
fn run_scenario(cli: &Path, url: &str, scenario: &str) -> Vec<String> {
    let out = tempfile::tempdir().unwrap();
    let _ = Command::new(common::node22())
        .arg(cli)
        .args(["server", "--url", url, "--scenario", scenario, "-o"])
        .arg(out.path())
        .output()
        .unwrap();
    let mut failures = Vec::new();
    let mut found = false;
    for dir in std::fs::read_dir(out.path()).unwrap().flatten() {
        let Ok(text) = std::fs::read_to_string(dir.path().join("checks.json")) else {
            continue;
        };
        found = true;
        let checks: Vec<Value> = serde_json::from_str(&text).unwrap();
        failures.extend(
            checks
                .iter()
                .filter(|c| c["status"] == "FAILURE")
                .map(|c| format!("{}: {}", c["id"], c["errorMessage"])),
        );
    }
    if !found {
        failures.push("no checks.json".into());
    }
    failures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_tasks_extension_scenarios_pass() {
    let cli = common::node_modules().join("conformance-2026/dist/index.js");
    let shutdown = CancellationToken::new();
    let url = serve(shutdown.clone()).await;
    let scenarios = tokio::task::spawn_blocking({
        let cli = cli.clone();
        move || tasks_scenarios(&cli)
    })
    .await
    .unwrap();
    assert!(
        scenarios.len() >= 5,
        "tasks scenarios not found: {scenarios:?}"
    );
    let mut unexpected = Vec::new();
    let mut passed = Vec::new();
    for scenario in scenarios {
        let failures = tokio::task::spawn_blocking({
            let (cli, url, scenario) = (cli.clone(), url.clone(), scenario.clone());
            move || run_scenario(&cli, &url, &scenario)
        })
        .await
        .unwrap();
        let expected = EXPECTED_FAILURES.iter().any(|(name, _)| *name == scenario);
        match (failures.is_empty(), expected) {
            (true, false) => passed.push(scenario),
            (true, true) => unexpected.push(format!(
                "{scenario}: passes; remove it from EXPECTED_FAILURES"
            )),
            (false, true) => {}
            (false, false) => unexpected.push(format!("{scenario}: {failures:?}")),
        }
    }
    shutdown.cancel();
    eprintln!("passed: {passed:?}");
    assert!(unexpected.is_empty(), "{unexpected:#?}");
}
