//! `[policy]`, `[policy.rate_limit]` and `[audit]` against real upstreams (our demo server,
//! server-everything): callers with different claims at once see different lists and get the
//! refusals they should, also through a served agent acting for them; rate limits per caller;
//! the audit lines of each case; `toolyard check` and `toolyard policy test`; and the stdio face
//! of `toolyard serve` refusing a tool. Principals are made through the library (inbound
//! authentication fills them on the HTTP faces).
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::{example_bin, npm_bin};
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult, JsonObject};
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use toolyard::compose::{GatewayView, ModelTable, WorkbenchSet};
use toolyard::config::Config;
use toolyard::gateway::{Gateway, Member};
use toolyard::models::scripted::{Script, ScriptedServer};
use toolyard::policy::Guard;
use toolyard::workbench::{
    AuthMethod, CallContext, CallerInfo, CallerSession, Principal, Workbench, WorkbenchChange,
    WorkbenchError,
};

/// How long a test waits for something that must happen (a bound on hangs, not a timing check).
const PATIENCE: Duration = Duration::from_secs(30);

fn toolyard() -> &'static str {
    env!("CARGO_BIN_EXE_toolyard")
}

fn demo_server(name: &str) -> String {
    format!(
        "[servers.{name}]\ncommand = \"{}\"\ntimeout_secs = 30\n",
        example_bin("demo_server").display()
    )
}

fn everything_server() -> String {
    format!(
        "[servers.everything]\ncommand = \"{}\"\ntimeout_secs = 30\n",
        npm_bin("mcp-server-everything").display()
    )
}

/// Writes `servers.toml` (with `[audit] path = "audit.jsonl"` added) into `dir` and loads it.
fn config(dir: &Path, body: &str) -> Config {
    let path = dir.join("servers.toml");
    std::fs::write(&path, format!("{body}\n[audit]\npath = \"audit.jsonl\"\n")).unwrap();
    Config::load(&path).unwrap_or_else(|e| panic!("config: {e}\n{body}"))
}

/// The gateway of `config` with its guard (and `extra` members).
fn gateway(config: &Config, extra: Vec<Member>) -> Arc<Gateway> {
    let guard = Guard::from_config(config).expect("policy compiles");
    Gateway::from_config_guarded(config, extra, guard, CancellationToken::new())
}

async fn ready(gw: &Gateway) {
    assert!(
        gw.wait_ready(PATIENCE).await,
        "upstreams not ready: {:?}",
        gw.statuses()
    );
}

/// A caller with these claims, in a session of its own.
fn caller(claims: Value) -> CallerInfo {
    let claims = claims.as_object().cloned().unwrap();
    CallerInfo {
        session: Some(CallerSession::new()),
        principal: Some(Arc::new(Principal::new(AuthMethod::Bearer, claims))),
        ..CallerInfo::default()
    }
}

fn ctx(caller: &CallerInfo) -> CallContext {
    CallContext {
        caller: caller.clone(),
        ..CallContext::default()
    }
}

fn args(v: Value) -> Option<JsonObject> {
    v.as_object().cloned()
}

async fn call(
    gw: &Gateway,
    who: &CallerInfo,
    tool: &str,
    a: Value,
) -> Result<CallToolResult, WorkbenchError> {
    gw.call_tool(tool, args(a), ctx(who)).await
}

fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect()
}

async fn tool_names(gw: &Gateway, who: &CallerInfo) -> Vec<String> {
    let mut names: Vec<String> = gw
        .list_tools_for(who)
        .await
        .unwrap()
        .iter()
        .map(|t| t.name().to_string())
        .collect();
    names.sort();
    names
}

/// The audit lines written so far (after the gateway's shutdown wrote out the queue).
fn audit_lines(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The one audit line of `sub` calling `name`.
fn line_of<'a>(lines: &'a [Value], sub: &str, name: &str) -> &'a Value {
    let found: Vec<&Value> = lines
        .iter()
        .filter(|l| l["sub"] == sub && l["name"] == name)
        .collect();
    assert_eq!(found.len(), 1, "{sub} {name}: {lines:#?}");
    found[0]
}

fn assert_refused(result: Result<CallToolResult, WorkbenchError>, tool: &str) {
    match result {
        Err(e @ WorkbenchError::NotPermitted { .. }) => {
            assert_eq!(e.to_string(), format!("tool `{tool}` is not permitted"));
        }
        other => panic!("{tool}: expected a refusal, got {other:?}"),
    }
}

/// The issue's two rules, plus: alice may use the demo server.
const ISSUE_RULES: &str = r#"
[policy]
default = "deny"
[[policy.rules]]
allow = 'mcp.tool.server == "everything" && "mcp:tools" in jwt.scope.split(" ")'
[[policy.rules]]
deny = 'mcp.tool.name == "everything__get-env" && jwt.sub != "admin"'
[[policy.rules]]
allow = 'jwt.sub == "alice" && (mcp.tool.server == "demo" || mcp.prompt.name == "demo__greet" || mcp.resource.uri.startsWith("demo://"))'
"#;

#[tokio::test(flavor = "multi_thread")]
async fn alice_and_bob_at_once_see_different_lists_and_get_the_refusals_they_should() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        dir.path(),
        &format!(
            "{}{}{ISSUE_RULES}",
            everything_server(),
            demo_server("demo")
        ),
    );
    let gw = gateway(&config, Vec::new());
    ready(&gw).await;
    let alice = caller(json!({"sub": "alice", "scope": "openid mcp:tools"}));
    let bob = caller(json!({"sub": "bob", "scope": "mcp:tools", "client_id": "bob-cli"}));
    let admin = caller(json!({"sub": "admin", "scope": "mcp:tools"}));

    let (alice_tools, bob_tools, admin_tools) = tokio::join!(
        tool_names(&gw, &alice),
        tool_names(&gw, &bob),
        tool_names(&gw, &admin)
    );
    assert!(
        alice_tools.contains(&"demo__echo".to_string()),
        "{alice_tools:?}"
    );
    assert!(alice_tools.contains(&"everything__echo".to_string()));
    assert!(!alice_tools.contains(&"everything__get-env".to_string()));
    assert!(
        bob_tools.contains(&"everything__echo".to_string()),
        "{bob_tools:?}"
    );
    assert!(
        !bob_tools.iter().any(|t| t.starts_with("demo__")),
        "{bob_tools:?}"
    );
    assert!(!bob_tools.contains(&"everything__get-env".to_string()));
    assert!(admin_tools.contains(&"everything__get-env".to_string()));
    // A caller with no principal sees `jwt = {}`: no scope, so nothing here.
    assert_eq!(
        tool_names(&gw, &CallerInfo::default()).await,
        Vec::<String>::new()
    );

    let secret = "do-not-log-this-argument";
    let (a_echo, b_echo, b_env, b_everything) = tokio::join!(
        call(&gw, &alice, "demo__echo", json!({"message": secret})),
        call(&gw, &bob, "demo__echo", json!({"message": secret})),
        call(&gw, &bob, "everything__get-env", json!({})),
        call(&gw, &bob, "everything__echo", json!({"message": secret})),
    );
    assert_eq!(text(&a_echo.unwrap()), secret);
    assert_refused(b_echo, "demo__echo");
    assert_refused(b_env, "everything__get-env");
    assert!(text(&b_everything.unwrap()).contains(secret));
    let env = call(&gw, &admin, "everything__get-env", json!({})).await;
    assert_ne!(env.unwrap().is_error, Some(true));

    // Prompts and resources are filtered and refused the same way.
    let alice_prompts = gw.list_prompts_for(&alice).await.unwrap();
    assert!(alice_prompts.iter().any(|p| p.name == "demo__greet"));
    let bob_prompts = gw.list_prompts_for(&bob).await.unwrap();
    assert!(bob_prompts.is_empty(), "{bob_prompts:?}");
    let greet = gw
        .get_prompt("demo__greet", args(json!({"name": "x"})), ctx(&bob))
        .await;
    assert!(
        matches!(
            &greet,
            Err(WorkbenchError::NotPermitted { kind: "prompt", .. })
        ),
        "{greet:?}"
    );
    let bob_resources = gw.list_resources_for(&bob).await.unwrap();
    assert!(!bob_resources.iter().any(|r| r.uri.starts_with("demo://")));
    assert!(gw.read_resource("demo://readme", ctx(&bob)).await.is_err());
    assert!(gw.read_resource("demo://readme", ctx(&alice)).await.is_ok());

    gw.shutdown().await;
    let lines = audit_lines(dir.path());
    let ok = line_of(&lines, "alice", "demo__echo");
    assert_eq!(ok["outcome"], "ok");
    assert_eq!(ok["decision"], "allow");
    assert_eq!(
        ok["rule"],
        json!({"index": 2, "effect": "allow", "failed": false})
    );
    assert_eq!(ok["method"], "tools/call");
    assert_eq!(ok["server"], "demo");
    assert_eq!(ok["auth"], "bearer");
    assert!(ok["trace_id"].is_null());
    assert!(ok["duration_ms"].as_f64().is_some());
    assert!(ok["session"].as_str().is_some_and(|s| s.len() == 12));
    chrono::DateTime::parse_from_rfc3339(ok["time"].as_str().unwrap()).unwrap();
    let refused = line_of(&lines, "bob", "demo__echo");
    assert_eq!(refused["outcome"], "refused");
    assert_eq!(refused["decision"], "deny");
    assert_eq!(refused["client_id"], "bob-cli");
    assert_eq!(
        refused["rule"],
        json!({"index": null, "effect": "default", "failed": false})
    );
    let env = line_of(&lines, "bob", "everything__get-env");
    assert_eq!(
        env["rule"],
        json!({"index": 1, "effect": "deny", "failed": false})
    );
    assert_eq!(
        line_of(&lines, "admin", "everything__get-env")["outcome"],
        "ok"
    );
    assert_eq!(
        line_of(&lines, "bob", "demo__greet")["method"],
        "prompts/get"
    );
    assert_eq!(
        line_of(&lines, "alice", "demo://readme")["method"],
        "resources/read"
    );
    let all = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    assert!(
        !all.contains(secret),
        "arguments are not audited by default"
    );
    assert!(lines.iter().all(|l| l.get("arguments").is_none()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rate_limit_stops_one_caller_and_not_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        dir.path(),
        &format!(
            "{}\n[policy]\ndefault = \"allow\"\n[policy.rate_limit]\nper_minute = 3\n\
             [policy.rate_limit.tools]\n\"demo__add\" = 1\n",
            demo_server("demo")
        ),
    );
    let gw = gateway(&config, Vec::new());
    ready(&gw).await;
    let alice = caller(json!({"sub": "alice"}));
    let bob = caller(json!({"sub": "bob"}));
    let echo = |who| call(&gw, who, "demo__echo", json!({"message": "hi"}));
    // Alice spends her three calls while bob makes his first ones at the same time.
    let (a1, a2, a3, b1) = tokio::join!(echo(&alice), echo(&alice), echo(&alice), echo(&bob));
    for r in [a1, a2, a3, b1] {
        assert_eq!(text(&r.unwrap()), "hi");
    }
    let (a4, b2) = tokio::join!(echo(&alice), echo(&bob));
    match a4 {
        Err(e @ WorkbenchError::RateLimited { retry_after_secs }) => {
            assert!((1..=20).contains(&retry_after_secs), "{e}");
            assert!(e.to_string().contains("retry after"), "{e}");
            let data = e.to_error_data();
            assert_eq!(data.code, toolyard::workbench::RATE_LIMITED);
            assert!(data.data.unwrap()["retry_after_secs"].as_u64().is_some());
        }
        other => panic!("alice should be limited: {other:?}"),
    }
    assert_eq!(text(&b2.unwrap()), "hi");
    // Bob's tool limit: one `demo__add` a minute.
    let sum = call(&gw, &bob, "demo__add", json!({"a": 1, "b": 2})).await;
    assert_eq!(text(&sum.unwrap()), "3");
    let again = call(&gw, &bob, "demo__add", json!({"a": 1, "b": 2})).await;
    assert!(
        matches!(again, Err(WorkbenchError::RateLimited { .. })),
        "{again:?}"
    );
    gw.shutdown().await;

    let lines = audit_lines(dir.path());
    let limited: Vec<_> = lines
        .iter()
        .filter(|l| l["outcome"] == "rate_limited")
        .map(|l| (l["sub"].as_str().unwrap(), l["name"].as_str().unwrap()))
        .collect();
    assert_eq!(limited, [("alice", "demo__echo"), ("bob", "demo__add")]);
}

#[tokio::test(flavor = "multi_thread")]
async fn arguments_are_audited_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("servers.toml");
    let body = format!(
        "{}\n[policy]\ndefault = \"allow\"\n[audit]\npath = \"audit.jsonl\"\ninclude_arguments = true\n",
        demo_server("demo")
    );
    std::fs::write(&path, body).unwrap();
    let config = Config::load(&path).unwrap();
    let gw = gateway(&config, Vec::new());
    ready(&gw).await;
    let alice = caller(json!({"sub": "alice"}));
    call(&gw, &alice, "demo__echo", json!({"message": "kept"}))
        .await
        .unwrap();
    let tool_error = call(&gw, &alice, "demo__echo", json!({"wrong": 1})).await;
    assert!(tool_error.is_err() || tool_error.unwrap().is_error == Some(true));
    gw.shutdown().await;
    let lines = audit_lines(dir.path());
    assert_eq!(lines[0]["arguments"], json!({"message": "kept"}));
    assert_eq!(lines[0]["rule"]["effect"], "default");
    assert_ne!(lines[1]["outcome"], "ok", "{lines:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_or_dead_upstream_next_to_a_healthy_one_does_not_break_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        dir.path(),
        &format!(
            "{}{}[servers.dead]\ncommand = \"/nonexistent/mcp-server\"\nstartup_timeout_secs = 2\n\
             [policy]\ndefault = \"deny\"\n[[policy.rules]]\nallow = 'jwt.sub == \"alice\"'\n",
            demo_server("demo"),
            demo_server("slow")
        ),
    );
    let gw = gateway(&config, Vec::new());
    gw.wait_settled().await;
    let alice = caller(json!({"sub": "alice"}));
    let bob = caller(json!({"sub": "bob"}));
    // The slow server's call is in flight while decisions and calls on the healthy one go on.
    let slow = call(&gw, &alice, "slow__sleep", json!({"ms": 1500}));
    let others = async {
        let echo = call(&gw, &alice, "demo__echo", json!({"message": "fine"})).await;
        assert_eq!(text(&echo.unwrap()), "fine");
        assert_refused(
            call(&gw, &bob, "demo__echo", json!({"message": "x"})).await,
            "demo__echo",
        );
        assert_refused(
            call(&gw, &bob, "slow__sleep", json!({"ms": 1})).await,
            "slow__sleep",
        );
        assert!(tool_names(&gw, &bob).await.is_empty());
        assert!(
            tool_names(&gw, &alice)
                .await
                .contains(&"demo__echo".to_string())
        );
    };
    let (slow, ()) = tokio::join!(slow, others);
    assert_ne!(slow.unwrap().is_error, Some(true));
    // The slow server dies; the healthy one still answers and refuses as before.
    let crashed = call(&gw, &alice, "slow__crash", json!({})).await;
    assert!(crashed.is_err() || crashed.unwrap().is_error == Some(true));
    let echo = call(&gw, &alice, "demo__echo", json!({"message": "still"})).await;
    assert_eq!(text(&echo.unwrap()), "still");
    assert_refused(
        call(&gw, &bob, "demo__echo", json!({"message": "x"})).await,
        "demo__echo",
    );
    gw.shutdown().await;
    let lines = audit_lines(dir.path());
    assert_eq!(line_of(&lines, "alice", "slow__crash")["decision"], "allow");
}

/// An AssistantAgent served as the tool `helper`, whose tools are the demo server's (a gateway
/// view), on the scripted model at `base_url`.
fn helper_file(base_url: &str) -> String {
    format!(
        r#"provider = "autogen_agentchat.agents.AssistantAgent"

[config]
name = "helper"
system_message = "Use the tools."
workbench = ["demo"]
model_client = {{ provider = "openai", config = {{ model = "gpt-4o", base_url = "{base_url}" }} }}
"#
    )
}

/// The model calls `demo__touch_tools` (whether or not it is offered), then says "done".
fn touch_script() -> Script {
    Script::from_json(
        &json!({"rules": [
            {"when": {"after_tool_result": false},
             "reply": {"kind": "call_tool", "name": "demo__touch_tools", "arguments": {}}},
            {"when": {"after_tool_result": true}, "reply": {"kind": "text", "text": "done"}},
        ], "when_done": "cycle"})
        .to_string(),
    )
    .unwrap()
}

/// Whether the model request `body` offered the tool `name`.
fn offered(body: &Value, name: &str) -> bool {
    body["tools"]
        .as_array()
        .is_some_and(|tools| tools.iter().any(|t| t["function"]["name"] == name))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_served_agent_acts_for_its_caller_and_cannot_use_what_the_caller_may_not() {
    let model = ScriptedServer::start(touch_script()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("workbenches");
    std::fs::create_dir(&files).unwrap();
    std::fs::write(
        files.join("helper.toml"),
        helper_file(&model.openai_base_url()),
    )
    .unwrap();
    let config = config(
        dir.path(),
        &format!(
            "{}\n[policy]\ndefault = \"allow\"\n[[policy.rules]]\n\
             deny = 'mcp.tool.name == \"demo__touch_tools\" && jwt.sub != \"alice\"'\n",
            demo_server("demo")
        ),
    );
    let set = WorkbenchSet::load_without_input(&files, Arc::new(ModelTable::default()));
    assert!(set.problems().is_empty(), "{:?}", set.problems());
    let member = Member {
        name: String::new(),
        workbench: Arc::clone(&set) as Arc<dyn Workbench>,
        filter: Default::default(),
    };
    let gw = gateway(&config, vec![member]);
    set.gateway_handle().bind(&gw);
    ready(&gw).await;
    let alice = caller(json!({"sub": "alice"}));
    let bob = caller(json!({"sub": "bob"}));
    assert!(tool_names(&gw, &bob).await.contains(&"helper".to_string()));
    assert!(
        !tool_names(&gw, &bob)
            .await
            .contains(&"demo__touch_tools".to_string())
    );

    // Bob may run the agent, but not, through it, the tool he may not call.
    let run = call(&gw, &bob, "helper", json!({"task": "touch"}))
        .await
        .unwrap();
    let answer = serde_json::to_string(&run).unwrap();
    assert!(answer.contains("demo__touch_tools"), "{answer}");
    assert!(
        !answer.contains("touched"),
        "the upstream never saw the call: {answer}"
    );
    let bob_request = model.requests().first().unwrap().body.clone();
    assert!(!offered(&bob_request, "demo__touch_tools"), "{bob_request}");
    assert!(offered(&bob_request, "demo__echo"), "{bob_request}");
    assert!(
        !tool_names(&gw, &alice)
            .await
            .contains(&"demo__touched".to_string()),
        "the demo server's touch_tools never ran"
    );

    // The agents' view acts for its caller: a direct call is refused by the gateway's policy.
    let view = GatewayView::new(set.gateway_handle().clone(), vec!["demo".into()]).for_caller(&bob);
    let refused = view
        .call_tool("demo__touch_tools", None, CallContext::default())
        .await;
    assert!(
        matches!(&refused, Err(WorkbenchError::NotPermitted { .. })),
        "{refused:?}"
    );

    // Alice's run of the same agent may use it: the upstream sees the call.
    let mut changes = gw.changes().unwrap();
    let run = call(&gw, &alice, "helper", json!({"task": "touch"}))
        .await
        .unwrap();
    assert_ne!(run.is_error, Some(true), "{run:?}");
    let alice_request = model.requests().last().unwrap().body.clone();
    assert!(offered(&alice_request, "demo__touch_tools"));
    tokio::time::timeout(PATIENCE, async {
        while changes.recv().await.ok() != Some(WorkbenchChange::Tools) {}
    })
    .await
    .expect("touch_tools ran at the upstream for alice");
    assert!(
        tool_names(&gw, &alice)
            .await
            .contains(&"demo__touched".to_string())
    );

    set.shutdown().await;
    gw.shutdown().await;
    let lines = audit_lines(dir.path());
    // The agent's calls are audited as its caller's.
    assert_eq!(
        line_of(&lines, "alice", "demo__touch_tools")["outcome"],
        "ok"
    );
    assert_eq!(
        line_of(&lines, "bob", "demo__touch_tools")["outcome"],
        "refused"
    );
    assert_eq!(line_of(&lines, "bob", "helper")["outcome"], "ok");
}

#[test]
fn check_reports_a_bad_rule_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("servers.toml");
    std::fs::write(
        &path,
        "[policy]\ndefault = \"deny\"\n\n[[policy.rules]]\nallow = 'jwt.sub == \"alice\"'\n\
         [[policy.rules]]\ndeny = 'mcp.tool.name == == \"x\"'\n",
    )
    .unwrap();
    let out = Command::new(toolyard())
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    // Line 7, inside the expression that starts at column 9.
    let expected = format!("FAIL policy: {}:7:", path.display());
    assert!(stdout.contains(&expected), "{stdout}");
    assert!(stdout.contains("[policy.rules[1]] key `deny`"), "{stdout}");

    std::fs::write(
        &path,
        "[policy]\n[[policy.rules]]\nallow = 'jwt.sub == \"alice\"'\ndeny = 'true'\n",
    )
    .unwrap();
    let out = Command::new(toolyard())
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(":4:8: [policy.rules[0]] key `deny`: a rule has either"),
        "{stderr}"
    );
}

fn policy_test(config: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(toolyard())
        .args(["policy", "test", "--config"])
        .arg(config)
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.is_empty(), "{stderr}");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn policy_test_prints_the_decision_and_the_rule_that_made_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("servers.toml");
    let body = format!("{}{ISSUE_RULES}", everything_server());
    std::fs::write(&path, body).unwrap();
    let scoped = r#"{"sub":"bob","scope":"mcp:tools"}"#;

    let (allowed, out) = policy_test(&path, &["--claims", scoped, "--tool", "everything__echo"]);
    assert!(allowed, "{out}");
    assert!(
        out.starts_with("allow: tool `everything__echo` (server `everything`)"),
        "{out}"
    );
    assert!(out.contains("by rule 0 (allow), which holds:"), "{out}");
    assert!(
        out.contains(r#""mcp:tools" in jwt.scope.split(" ")"#),
        "{out}"
    );

    let (allowed, out) = policy_test(
        &path,
        &["--claims", scoped, "--tool", "everything__get-env"],
    );
    assert!(!allowed);
    assert!(out.starts_with("deny: tool `everything__get-env`"), "{out}");
    assert!(out.contains("by rule 1 (deny), which holds:"), "{out}");

    let (allowed, out) = policy_test(
        &path,
        &["--claims", r#"{"sub":"bob"}"#, "--tool", "everything__echo"],
    );
    assert!(!allowed);
    assert!(out.contains("no rule matched: default = \"deny\""), "{out}");

    let (allowed, out) = policy_test(&path, &["--tool", "everything__get-env"]);
    assert!(!allowed);
    assert!(
        out.contains("failed to evaluate"),
        "a failing deny rule refuses: {out}"
    );

    let (allowed, out) = policy_test(
        &path,
        &["--claims", r#"{"sub":"alice"}"#, "--prompt", "demo__greet"],
    );
    assert!(allowed, "{out}");
    assert!(out.contains("by rule 2 (allow)"), "{out}");
    let (allowed, _) = policy_test(
        &path,
        &[
            "--claims",
            r#"{"sub":"bob"}"#,
            "--resource",
            "demo://readme",
        ],
    );
    assert!(!allowed);
}

/// `toolyard serve --stdio` with a `[policy]` that refuses one tool to the stdio caller (no
/// claims: `jwt = {}`, until `[auth.stdio]` gives it some).
#[tokio::test(flavor = "multi_thread")]
async fn the_stdio_face_lists_and_refuses_by_policy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("servers.toml");
    let body = format!(
        "{}\n[policy]\ndefault = \"allow\"\n[[policy.rules]]\ndeny = 'mcp.tool.name == \"demo__add\"'\n\
         [audit]\npath = \"audit.jsonl\"\n",
        demo_server("demo")
    );
    std::fs::write(&path, body).unwrap();
    let command = tokio::process::Command::new(toolyard()).configure(|cmd| {
        cmd.args(["serve", "--stdio", "--config"])
            .arg(&path)
            .env("RUST_LOG", "warn");
    });
    let client = ().serve(TokioChildProcess::new(command).unwrap()).await.unwrap();
    let names = tokio::time::timeout(PATIENCE, async {
        loop {
            let tools = client.list_all_tools().await.unwrap();
            let names: Vec<String> = tools.iter().map(|t| t.name.to_string()).collect();
            if names.contains(&"demo__echo".to_string()) {
                return names;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the demo tools are listed");
    assert!(!names.contains(&"demo__add".to_string()), "{names:?}");
    let refused = client
        .call_tool(
            CallToolRequestParams::new("demo__add")
                .with_arguments(args(json!({"a": 1, "b": 2})).unwrap()),
        )
        .await
        .expect_err("refused");
    let shown = refused.to_string();
    assert!(
        shown.contains("tool `demo__add` is not permitted"),
        "{shown}"
    );
    assert!(
        !shown.contains("mcp.tool.name"),
        "no rule text leaks: {shown}"
    );
    let echoed = client
        .call_tool(
            CallToolRequestParams::new("demo__echo")
                .with_arguments(args(json!({"message": "ok"})).unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(text(&echoed), "ok");
    client.cancel().await.unwrap();
    // The server flushes its audit log when it stops.
    let audit = dir.path().join("audit.jsonl");
    let lines: Vec<Value> = tokio::time::timeout(PATIENCE, async {
        loop {
            let lines: Vec<Value> = std::fs::read_to_string(&audit)
                .unwrap_or_default()
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect();
            if lines.len() >= 2 {
                return lines;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("two audit lines");
    assert_eq!(lines[0]["name"], "demo__add");
    assert_eq!(lines[0]["outcome"], "refused");
    assert_eq!(lines[0]["rule"]["index"], 0);
    assert_eq!(
        lines[0]["sub"], "local",
        "the stdio face calls for [auth.stdio] (default sub = local)"
    );
    assert_eq!(lines[1]["outcome"], "ok");
}
