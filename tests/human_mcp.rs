//! Human input and the client's model through MCP, with a real client: team tools served by the
//! real server face (WorkbenchServer over a Gateway, streamable HTTP) whose UserProxyAgent asks the
//! caller's user by elicitation and whose AssistantAgent samples the caller's model; driven by
//! the Python `mcp` SDK client as a 2025-era caller (server→client requests) and as a 2026-07-28
//! caller (`input_required` rounds), with and without the capabilities.

mod common;
mod common_agents;

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rmcp::model::{CallToolResult, ContentBlock, JsonObject, Tool};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use toolyard::agents::{
    AgentError, AssistantAgent, BaseChatAgent, ChatAgent, Response, UserProxyAgent,
};
use toolyard::compose::caller_input::caller_input_for;
use toolyard::compose::sampling::{SamplingClient, SamplingConfig};
use toolyard::config::GatewaySettings;
use toolyard::gateway::{Gateway, Member};
use toolyard::messages::{AgentMessage, ChatMessage};
use toolyard::server::WorkbenchServer;
use toolyard::server::http::{HttpConfig, router};
use toolyard::teams::GroupChat;
use toolyard::termination::MaxMessageTermination;
use toolyard::workbench::{CallContext, ToolSpec, Workbench, WorkbenchError};

/// Answers "heard: <the newest message>", to show what the team continued with.
struct Echo;

#[async_trait]
impl BaseChatAgent for Echo {
    fn name(&self) -> &str {
        "echo"
    }

    fn description(&self) -> &str {
        "Repeats what it heard."
    }

    async fn on_messages(
        &self,
        messages: Vec<ChatMessage>,
        _cancel: CancellationToken,
    ) -> Result<Response, AgentError> {
        let heard = messages
            .last()
            .map(ChatMessage::to_text)
            .unwrap_or_default();
        Ok(Response {
            chat_message: ChatMessage::text("echo", format!("heard: {heard}")),
            inner_messages: Vec::new(),
        })
    }
}

/// Team tools built per call from the call's context: `ask_human` (a user proxy, then `echo`)
/// and `ask_model` (an assistant on the caller's model, with an `add` tool when the caller
/// supports tools in sampling). Each call's end is logged (`ok`, `error: ...`, or `dropped`).
struct Teams {
    ended: Log,
}

type Log = Arc<Mutex<Vec<String>>>;

/// Logs how a call ended, also when its future is dropped.
struct Ended {
    log: Log,
    outcome: Option<String>,
}

impl Drop for Ended {
    fn drop(&mut self) {
        let outcome = self.outcome.take().unwrap_or_else(|| "dropped".into());
        if let Ok(mut log) = self.log.lock() {
            log.push(outcome);
        }
    }
}

fn team(name: &str, ctx: &CallContext) -> Result<GroupChat, String> {
    let participants: Vec<Arc<dyn ChatAgent>> = match name {
        "ask_human" => vec![
            Arc::new(UserProxyAgent::new("human").with_request_input(caller_input_for(ctx))),
            Arc::new(Echo),
        ],
        _ => {
            let config = SamplingConfig {
                model: Some("claude-sonnet".into()),
                max_tokens: 300,
                ..SamplingConfig::default()
            };
            let client = SamplingClient::for_call(config, ctx);
            let mut builder = AssistantAgent::builder("poet", Arc::new(client.clone()))
                .system_message(Some("You are a poet.".into()))
                .reflect_on_tool_use(true);
            if client.tools_supported() {
                builder = builder.tool(common_agents::add_tool());
            }
            vec![Arc::new(builder.build().map_err(|e| e.to_string())?)]
        }
    };
    let turns = if name == "ask_human" { 3 } else { 2 };
    GroupChat::round_robin(participants)
        .termination(MaxMessageTermination::new(turns))
        .build()
        .map_err(|e| e.to_string())
}

fn transcript(messages: &[AgentMessage]) -> String {
    messages
        .iter()
        .filter_map(AgentMessage::as_chat)
        .map(|m| format!("{}: {}", m.source(), m.to_text()))
        .collect::<Vec<_>>()
        .join("\n")
}

#[async_trait]
impl Workbench for Teams {
    async fn list_tools(&self) -> Result<Vec<ToolSpec>, WorkbenchError> {
        let schema: JsonObject = serde_json::from_value(json!({
            "type": "object", "properties": {"task": {"type": "string"}}, "required": ["task"]
        }))
        .expect("schema");
        Ok(["ask_human", "ask_model"]
            .into_iter()
            .map(|n| ToolSpec::new(Tool::new(n, "A team.", schema.clone())))
            .collect())
    }

    async fn call_tool(
        &self,
        name: &str,
        arguments: Option<JsonObject>,
        ctx: CallContext,
    ) -> Result<CallToolResult, WorkbenchError> {
        let task = arguments
            .as_ref()
            .and_then(|a| a.get("task"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let mut ended = Ended {
            log: Arc::clone(&self.ended),
            outcome: None,
        };
        let outcome = match team(name, &ctx) {
            Ok(team) => team
                .run(task.as_str().into(), ctx.cancel.clone())
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        ended.outcome = Some(match &outcome {
            Ok(_) => "ok".into(),
            Err(e) => format!("error: {e}"),
        });
        Ok(match outcome {
            Ok(result) => {
                CallToolResult::success(vec![ContentBlock::text(transcript(&result.messages))])
            }
            Err(e) => CallToolResult::error(vec![ContentBlock::text(e)]),
        })
    }
}

struct Served {
    url: String,
    ended: Log,
    shutdown: CancellationToken,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn serve() -> Served {
    let shutdown = CancellationToken::new();
    let ended = Log::default();
    let member = Member {
        name: "teams".into(),
        workbench: Arc::new(Teams {
            ended: Arc::clone(&ended),
        }),
        filter: Default::default(),
    };
    let gateway = Gateway::new(GatewaySettings::default(), vec![member], shutdown.clone());
    let server = WorkbenchServer::new(gateway as Arc<dyn Workbench>, "toolyard");
    let app = router(
        server,
        Arc::new(Vec::new),
        HttpConfig {
            shutdown: shutdown.clone(),
            ..HttpConfig::default()
        },
    );
    let url = format!(
        "http://{}/mcp",
        common::serve_until(app, shutdown.clone()).await
    );
    Served {
        url,
        ended,
        shutdown,
    }
}

/// Run the Python client against `served` with these calls and flags; returns its report.
async fn python_client(served: &Served, calls: Value, flags: &[&str]) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/human_client.py");
    let output = tokio::process::Command::from({
        let mut c = Command::new(common::python());
        c.arg(script)
            .arg(&served.url)
            .arg("--calls")
            .arg(calls.to_string())
            .args(flags);
        c
    })
    .kill_on_drop(true)
    .output()
    .await
    .expect("run python client");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("python client stderr:\n{stderr}");
    assert!(
        output.status.success(),
        "python client failed ({}):\nstdout: {stdout}\nstderr: {stderr}",
        output.status
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("bad report ({e}): {stdout}"))
}

fn call(report: &Value, i: usize) -> (String, bool) {
    let c = &report["calls"][i];
    assert!(c.get("exception").is_none(), "call {i} raised: {c}");
    (
        c["text"].as_str().unwrap_or_default().to_string(),
        c["is_error"].as_bool().unwrap_or(false),
    )
}

const REPLY: &str = "the human says go on";
const NO_ELICITATION: &str =
    "this team needs human input but the calling client supports no elicitation";

/// accept → the team goes on with the user's reply; decline → an empty reply; cancel → error.
async fn elicitation_round_trips(mode: &str, protocol: &str) {
    let served = serve().await;
    let calls = json!([
        ["teams__ask_human", "Write a haiku about rust."],
        ["teams__ask_human", "Nothing to add? please decline"],
        ["teams__ask_human", "Stop here. please cancel"]
    ]);
    let report = python_client(&served, calls, &["--mode", mode]).await;
    assert_eq!(report["protocol_version"], protocol, "{report}");

    let (text, is_error) = call(&report, 0);
    assert!(!is_error, "{text}");
    assert_eq!(
        text,
        format!("user: Write a haiku about rust.\nhuman: {REPLY}\necho: heard: {REPLY}")
    );
    let (text, is_error) = call(&report, 1);
    assert!(!is_error, "{text}");
    assert!(text.ends_with("human: \necho: heard: "), "{text}");
    let (text, is_error) = call(&report, 2);
    assert!(is_error, "{text}");
    assert!(
        text.contains("the user cancelled the input request of `human`"),
        "{text}"
    );

    let asked = report["elicitations"].as_array().expect("elicitations");
    assert_eq!(asked.len(), 3, "{report}");
    assert_eq!(
        asked[0]["message"],
        "user:\nWrite a haiku about rust.\n\nEnter your response:"
    );
    let schema = asked[0]["schema"].to_string();
    assert!(schema.contains("reply"), "{schema}");
}

#[tokio::test]
async fn elicitation_round_trips_with_a_2025_client() {
    elicitation_round_trips("legacy", "2025-11-25").await;
}

#[tokio::test]
async fn elicitation_round_trips_with_a_2026_client_through_input_required() {
    elicitation_round_trips("auto", "2026-07-28").await;
}

async fn no_elicitation_is_a_clear_error(mode: &str) {
    let served = serve().await;
    let calls = json!([["teams__ask_human", "Anyone there?"]]);
    let report = python_client(&served, calls, &["--mode", mode, "--no-elicitation"]).await;
    let (text, is_error) = call(&report, 0);
    assert!(is_error, "{text}");
    assert!(text.contains(NO_ELICITATION), "{text}");
    assert_eq!(report["elicitations"], json!([]));
}

#[tokio::test]
async fn a_2025_client_without_elicitation_gets_a_clear_error() {
    no_elicitation_is_a_clear_error("legacy").await;
}

#[tokio::test]
async fn a_2026_client_without_elicitation_gets_a_clear_error() {
    no_elicitation_is_a_clear_error("auto").await;
}

async fn sampling_backed_agent(mode: &str) {
    let served = serve().await;
    let calls = json!([["teams__ask_model", "A line about the sea."]]);
    let report = python_client(&served, calls, &["--mode", mode]).await;
    let (text, is_error) = call(&report, 0);
    assert!(!is_error, "{text}");
    assert_eq!(
        text,
        "user: A line about the sea.\npoet: sampled: A line about the sea."
    );
    let asked = &report["samplings"][0];
    assert_eq!(asked["system_prompt"], "You are a poet.");
    assert_eq!(asked["max_tokens"], 300);
    assert_eq!(asked["hints"], json!(["claude-sonnet"]));
    assert_eq!(
        asked["tools"],
        json!([]),
        "text only without sampling.tools"
    );
}

#[tokio::test]
async fn a_sampling_backed_agent_runs_on_a_2025_clients_model() {
    sampling_backed_agent("legacy").await;
}

#[tokio::test]
async fn a_sampling_backed_agent_runs_on_a_2026_clients_model() {
    sampling_backed_agent("auto").await;
}

#[tokio::test]
async fn sampling_with_tools_when_the_client_declares_them() {
    let served = serve().await;
    let calls = json!([["teams__ask_model", "Add two and three."]]);
    let report = python_client(&served, calls, &["--sampling-tools"]).await;
    let (text, is_error) = call(&report, 0);
    assert!(!is_error, "{text}");
    // The tool call, its result, then the reflection sampled over the tool result.
    assert!(text.ends_with("poet: sampled: 5"), "{text}");
    let samplings = report["samplings"].as_array().expect("samplings");
    assert_eq!(samplings.len(), 2, "{report}");
    assert_eq!(samplings[0]["tools"], json!(["add"]));
    assert_eq!(samplings[1]["roles"], json!(["user", "assistant", "user"]));
    assert_eq!(
        samplings[1]["types"],
        json!([["text"], ["tool_use"], ["tool_result"]])
    );
}

#[tokio::test]
async fn a_client_without_sampling_gets_a_clear_error() {
    let served = serve().await;
    let calls = json!([["teams__ask_model", "Hello?"]]);
    let report = python_client(&served, calls, &["--no-sampling"]).await;
    let (text, is_error) = call(&report, 0);
    assert!(is_error, "{text}");
    assert!(
        text.contains("this client declared no `sampling` capability"),
        "{text}"
    );
}

#[tokio::test]
async fn cancelling_the_call_withdraws_the_question_and_stops_the_team() {
    let served = serve().await;
    let calls = json!([["teams__ask_human", "Wait for me. please hang"]]);
    let report = python_client(&served, calls, &["--cancel"]).await;
    assert_eq!(report["cancelled"], true, "{report}");
    assert_eq!(
        report["elicitations"][0]["withdrawn"], true,
        "the pending question was not withdrawn at the client: {report}"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let outcome = loop {
        let ended = served.ended.lock().expect("log").clone();
        if let Some(outcome) = ended.first() {
            break outcome.clone();
        }
        assert!(Instant::now() < deadline, "the team run never ended");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        outcome == "dropped" || outcome.contains("cancel"),
        "the team run did not stop on cancellation: {outcome}"
    );
}
