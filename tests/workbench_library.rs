//! The workbench layer as a library: AutoGen's own TeamTool / AgentTool / team dumps accepted
//! as workbench files, extra inputs, a per-run client factory (the seam for caller-backed
//! models) bound to each call's context, progress through the call's observer, a fresh team
//! per call, and files that cannot run (an unknown model, an unknown key) left out and named.

// MCP logging is deprecated by SEP-2577 but still what 2025-era clients receive.
#![allow(deprecated)]

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rmcp::model::{CallToolResult, LoggingMessageNotificationParam};
use serde_json::{Value, json};
use toolyard::compose::{ClientFactory, Kind, ModelTable, RunEnv, WorkbenchFile, WorkbenchSet};
use toolyard::models::{ChatCompletionClient, ReplayClient, ReplayEntry};
use toolyard::workbench::{CallContext, CallObserver, Workbench};

fn fixture(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write");
}

/// Calls the workbench tool `name` on `task`: a tool result (an error result included), not a
/// protocol error.
async fn call(
    set: &WorkbenchSet,
    name: &str,
    task: impl Into<Value>,
    ctx: CallContext,
) -> CallToolResult {
    let task: Value = task.into();
    let args = json!({ "task": task });
    set.call_tool(name, args.as_object().cloned(), ctx)
        .await
        .expect("a tool result, not a protocol error")
}

#[test]
fn autogen_team_tool_agent_tool_and_team_dumps_are_accepted_as_they_are() {
    let team_tool = WorkbenchFile::load(&fixture("tests/fixtures/compose/team_tool.json"))
        .expect("TeamTool file");
    assert_eq!(team_tool.name, "pair");
    assert_eq!(team_tool.description, "A writer and a reviewer.");
    assert_eq!(team_tool.kind, Kind::Team);
    assert_eq!(team_tool.component_field, "config.team");
    let agent_tool = WorkbenchFile::load(&fixture("tests/fixtures/compose/agent_tool.json"))
        .expect("AgentTool file");
    assert_eq!(agent_tool.name, "poet");
    assert_eq!(agent_tool.kind, Kind::Agent);
    // A plain team dump named after its class is served under the file's name.
    let team =
        WorkbenchFile::load(&fixture("tests/fixtures/teams/round_robin.json")).expect("team file");
    assert_eq!(team.name, "round_robin");
    assert_eq!(team.kind, Kind::Team);
}

#[test]
fn extra_inputs_extend_the_schema_and_the_task() {
    let file = WorkbenchFile::parse(
        Path::new("x/review.json"),
        json!({
            "provider": "AssistantAgent",
            "config": {"name": "rev", "model_client": "m"},
            "toolyard": {"inputs": {
                "language": {"type": "string", "required": true},
                "strict": {"type": "boolean", "description": "Be strict."},
                "tone": "How to sound."
            }}
        }),
    )
    .expect("parse");
    let schema = Value::Object(file.input_schema());
    assert_eq!(schema["required"], json!(["task", "language"]));
    assert_eq!(schema["properties"]["strict"]["type"], "boolean");
    assert_eq!(schema["properties"]["tone"]["type"], "string");
    let args = json!({"task": "look", "language": "go", "strict": true});
    let task = file
        .task_text(args.as_object().expect("object"))
        .expect("task");
    assert_eq!(task, "look\n\nlanguage: go\nstrict: true");
    let bad = WorkbenchFile::parse(
        Path::new("x/bad.json"),
        json!({"provider": "AssistantAgent", "config": {"name": "has space"}}),
    )
    .expect_err("bad tool name");
    assert!(bad.to_string().contains("x/bad.json: name:"), "{bad}");
}

/// A factory building a fresh replay client per run, counting builds.
struct Replays {
    built: AtomicUsize,
}

impl ClientFactory for Replays {
    fn build(&self, _env: &RunEnv) -> Result<Arc<dyn ChatCompletionClient>, String> {
        let n = self.built.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(Arc::new(ReplayClient::new(vec![
            ReplayEntry::Text(format!("first answer of run {n}")),
            ReplayEntry::Text(format!("second answer of run {n}")),
        ])))
    }
}

#[derive(Default)]
struct Recorder {
    progress: Mutex<Vec<(f64, String)>>,
    logs: Mutex<Vec<Value>>,
}

#[async_trait]
impl CallObserver for Recorder {
    async fn progress(&self, progress: f64, _total: Option<f64>, message: Option<String>) {
        if let Ok(mut p) = self.progress.lock() {
            p.push((progress, message.unwrap_or_default()));
        }
    }

    async fn log(&self, message: LoggingMessageNotificationParam) {
        if let Ok(mut l) = self.logs.lock() {
            l.push(json!({"logger": message.logger, "data": message.data}));
        }
    }
}

#[tokio::test]
async fn every_call_builds_a_fresh_team_and_model_from_its_context() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "duo.toml",
        r#"provider = "RoundRobinGroupChat"
[config]
name = "duo"
[[config.participants]]
provider = "AssistantAgent"
[config.participants.config]
name = "one"
model_client = { provider = "toolyard.models.Ref", config = { name = "replayed" } }
[[config.participants]]
provider = "AssistantAgent"
[config.participants.config]
name = "two"
model_client = "replayed"
[config.termination_condition]
provider = "MaxMessageTermination"
config = { max_messages = 3 }
"#,
    );
    let mut models = ModelTable::default();
    let factory = Arc::new(Replays {
        built: AtomicUsize::new(0),
    });
    models.insert_factory("replayed", factory.clone());
    let set = WorkbenchSet::load(dir.path(), Arc::new(models));
    let tools = set.list_tools().await.expect("tools");
    assert_eq!(tools.len(), 1);
    assert!(tools[0].tool.output_schema.is_some());
    for run in 1..=2 {
        let recorder = Arc::new(Recorder::default());
        let ctx = CallContext {
            observer: recorder.clone(),
            ..CallContext::default()
        };
        let result = call(&set, "duo", format!("task {run}"), ctx).await;
        assert_eq!(result.is_error, Some(false), "{result:?}");
        let structured = result.structured_content.expect("structured");
        let contents: Vec<&str> = structured["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .filter_map(|m| m["content"].as_str())
            .collect();
        // Each agent got its own client, built for this run: a shared or reused one would
        // answer with the other run's or the other agent's replies.
        let (a, b) = (2 * run - 1, 2 * run);
        assert_eq!(
            contents,
            [
                format!("task {run}"),
                format!("first answer of run {a}"),
                format!("first answer of run {b}"),
            ]
        );
        assert_eq!(
            structured["stop_reason"],
            "Maximum number of messages 3 reached, current message count: 3"
        );
        let progress = recorder.progress.lock().expect("lock").clone();
        assert_eq!(
            progress,
            [
                (1.0, format!("user: task {run}")),
                (2.0, format!("one: first answer of run {a}")),
                (3.0, format!("two: first answer of run {b}")),
            ]
        );
        let logs = recorder.logs.lock().expect("lock").clone();
        assert_eq!(logs.len(), 3);
        assert_eq!(logs[1]["logger"], "duo");
        assert_eq!(logs[1]["data"]["source"], "one");
        assert_eq!(logs[1]["data"]["type"], "TextMessage");
    }
    assert_eq!(
        factory.built.load(Ordering::SeqCst),
        4,
        "two agents x two calls"
    );
}

#[tokio::test]
async fn a_file_that_cannot_run_is_left_out_and_named_and_the_rest_is_served() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "lost.toml",
        "provider = \"AssistantAgent\"\n[config]\nname = \"lost\"\nmodel_client = \"nope\"\n",
    );
    write(
        dir.path(),
        "typo.toml",
        "provider = \"AssistantAgent\"\n[config]\nname = \"typo\"\nmodel_client = \"m\"\n\
         sytem_message = \"hi\"\n",
    );
    write(
        dir.path(),
        "fine.toml",
        "provider = \"AssistantAgent\"\n[config]\nname = \"fine\"\nmodel_client = \"m\"\n",
    );
    let mut models = ModelTable::default();
    let replays = Replays {
        built: AtomicUsize::new(0),
    };
    models.insert_factory("m", Arc::new(replays));
    let set = WorkbenchSet::load(dir.path(), Arc::new(models));
    let names: Vec<String> = set.files().iter().map(|f| f.name.clone()).collect();
    assert_eq!(names, ["fine"]);
    let problems: Vec<String> = set.problems().iter().map(|p| p.to_string()).collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems.iter().any(|p| p.ends_with(
            "lost.toml: config.model_client: unknown model `nope` (servers.toml has [models.*]: m)"
        )),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.ends_with(
            "typo.toml: config.sytem_message: unknown key for AssistantAgent \
             (did you mean `system_message`?)"
        )),
        "{problems:?}"
    );
    let err = set
        .call_tool(
            "lost",
            json!({"task": "x"}).as_object().cloned(),
            CallContext::default(),
        )
        .await
        .expect_err("not served");
    assert!(err.to_string().contains("unknown tool `lost`"), "{err}");
}

#[tokio::test]
async fn a_user_proxy_gets_the_input_function_made_for_its_call() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "ask.toml",
        r#"provider = "RoundRobinGroupChat"
[config]
name = "ask"
[[config.participants]]
provider = "UserProxyAgent"
config = { name = "human" }
[config.termination_condition]
provider = "MaxMessageTermination"
config = { max_messages = 2 }
"#,
    );
    let input: toolyard::compose::InputFactory = Arc::new(|env: &RunEnv| {
        let cancelled = env.ctx.cancel.is_cancelled();
        toolyard::agents::prompt_input(Arc::new(move |prompt: String, _cancel| {
            Box::pin(async move { Ok(format!("answer to {prompt:?} (cancelled: {cancelled})")) })
        }))
    });
    let set = WorkbenchSet::load_with_input(dir.path(), Arc::new(ModelTable::default()), input);
    let result = call(&set, "ask", "hello", CallContext::default()).await;
    assert_eq!(result.is_error, Some(false), "{result:?}");
    let text = format!("{:?}", result.content);
    assert!(
        text.contains(r#"human: answer to \"Enter your response: \" (cancelled: false)"#),
        "{text}"
    );
}

#[test]
fn the_repository_servers_toml_models_parse() {
    let path = fixture("servers.toml");
    let config = toolyard::config::Config::load(&path).expect("servers.toml");
    let models =
        ModelTable::parse(&config.models, Path::new(env!("CARGO_MANIFEST_DIR"))).expect("[models]");
    assert_eq!(models.names(), ["openai", "scripted"]);
}

#[tokio::test]
async fn team_tools_in_a_cycle_are_not_served() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (file, name, calls) in [("a.toml", "ping", "pong"), ("b.toml", "pong", "ping")] {
        write(
            dir.path(),
            file,
            &format!(
                "provider = \"AssistantAgent\"\n[config]\nname = \"{name}\"\nmodel_client = \"m\"\n\
                 workbench = [\"{calls}\"]\n"
            ),
        );
    }
    write(
        dir.path(),
        "c.toml",
        "provider = \"AssistantAgent\"\n[config]\nname = \"caller\"\nmodel_client = \"m\"\n\
         workbench = [\"ping\"]\n",
    );
    let mut models = ModelTable::default();
    let replays = Replays {
        built: AtomicUsize::new(0),
    };
    models.insert_factory("m", Arc::new(replays));
    let set = WorkbenchSet::load(dir.path(), Arc::new(models));
    let names: Vec<String> = set
        .list_tools()
        .await
        .expect("tools")
        .iter()
        .map(|t| t.name().to_string())
        .collect();
    assert_eq!(names, ["caller"]);
    let problems = set.problems();
    assert!(
        problems.len() == 1 && problems[0].message.contains("ping → pong → ping"),
        "{problems:?}"
    );
}

#[test]
fn a_single_workbench_object_as_autogen_studio_may_write_it_is_accepted() {
    let file = WorkbenchFile::parse(
        Path::new("x/one.json"),
        json!({"provider": "AssistantAgent", "config": {"name": "one", "model_client": "m",
            "workbench": {"provider": "autogen_ext.tools.mcp.McpWorkbench", "config": {
                "server_params": {"type": "SseServerParams", "url": "http://127.0.0.1:9/sse"}}}}}),
    )
    .expect("parse");
    let refs = toolyard::compose::prepare::references(&file);
    assert!(
        refs.iter().any(|r| matches!(r,
            toolyard::compose::prepare::Reference::Mcp { field, .. }
                if field == "config.workbench[0]")),
        "{refs:?}"
    );
    let mut models = ModelTable::default();
    let replays = Replays {
        built: AtomicUsize::new(0),
    };
    models.insert_factory("m", Arc::new(replays));
    let problems = toolyard::compose::runnable_problems(&file, &models);
    assert!(problems.is_empty(), "{problems:?}");
}
