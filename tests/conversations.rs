//! Conversations with served teams and agents over MCP, on both store engines: `toolyard serve`
//! (a real process, streamable HTTP) with workbench files on the scripted model server, called
//! by rmcp's client. Two turns on one conversation (the model sees turn 1 on turn 2), a team
//! with `max_turns = 1` run turn by turn, a second call on a busy conversation refused, expiry,
//! another caller's conversation unknown (API keys), two callers each on their own conversation
//! at once, a conversation that survives a restart (SQLite), `toolyard conversations`, and a
//! store with a newer schema refused at start.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::peers::Peer;
use common::{ChildGuard, free_port, python_report, spawn_until_healthy};
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};
use toolyard::models::scripted::{Script, ScriptedServer, Step};

fn toolyard() -> &'static str {
    env!("CARGO_BIN_EXE_toolyard")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The store a test runs on: a SQLite file next to the config, or a throwaway PostgreSQL.
struct Engine {
    url: String,
    _peer: Option<Peer>,
}

impl Engine {
    fn sqlite() -> Self {
        Self {
            url: "sqlite://state.db".into(),
            _peer: None,
        }
    }

    fn postgres() -> Self {
        let peer = Peer::start("postgres.sh", &[]);
        Self {
            url: peer.get("url").to_string(),
            _peer: Some(peer),
        }
    }
}

/// A scripted model server answering `text` to everything, after `delay_ms`.
fn model(rt: &tokio::runtime::Runtime, text: &str, delay_ms: u64) -> ScriptedServer {
    let mut script = Script::steps(vec![Step::text(text)]);
    script.delay_ms = delay_ms;
    rt.block_on(ScriptedServer::start(script)).unwrap()
}

fn model_client(model: &ScriptedServer) -> String {
    format!(
        "{{ provider = \"openai\", config = {{ model = \"gpt-4o\", base_url = \"{}\", api_key = \"test\" }} }}",
        model.openai_base_url()
    )
}

/// `pair`: alpha and beta take turns, three messages a run (task + two), `max_turns` if given.
fn pair_file(model: &ScriptedServer, max_turns: Option<u32>) -> String {
    let client = model_client(model);
    let max_turns = max_turns.map_or(String::new(), |n| format!("max_turns = {n}\n"));
    let agent = |name: &str| {
        format!(
            "[[config.participants]]\nprovider = \"autogen_agentchat.agents.AssistantAgent\"\n\
             [config.participants.config]\nname = \"{name}\"\nmodel_client = {client}\n\
             system_message = \"You are {name}.\"\n"
        )
    };
    format!(
        "provider = \"autogen_agentchat.teams.RoundRobinGroupChat\"\ncomponent_type = \"team\"\n\n\
         [toolyard]\ndescription = \"Alpha and beta take turns.\"\n\n\
         [config]\nname = \"pair\"\n{max_turns}\n{}\n{}\n\
         [config.termination_condition]\n\
         provider = \"autogen_agentchat.conditions.MaxMessageTermination\"\n\
         config = {{ max_messages = 3 }}\n",
        agent("alpha"),
        agent("beta"),
    )
}

/// `solo`: one assistant agent.
fn solo_file(model: &ScriptedServer) -> String {
    format!(
        "provider = \"autogen_agentchat.agents.AssistantAgent\"\n\n\
         [toolyard]\ndescription = \"One assistant.\"\n\n\
         [config]\nname = \"solo\"\nmodel_client = {}\nsystem_message = \"You help.\"\n",
        model_client(model)
    )
}

/// Two API-key callers, alice and bob.
const CALLERS: &str = "[auth]\nscopes = [\"mcp:tools\"]\n\n\
    [[auth.api_keys]]\nname = \"alice\"\nkey_env = \"TEST_ALICE_KEY\"\n\
    claims = { sub = \"alice\", scope = \"mcp:tools\" }\n\n\
    [[auth.api_keys]]\nname = \"bob\"\nkey_env = \"TEST_BOB_KEY\"\n\
    claims = { sub = \"bob\", scope = \"mcp:tools\" }\n";
const ALICE: &str = "alice-key-0123456789abcdef";
const BOB: &str = "bob-key-0123456789abcdef01";

/// A folder with servers.toml (`[store]` on `engine`, plus `extra`) and workbench files.
struct Setup {
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Setup {
    fn new(engine: &Engine, extra: &str, files: &[(&str, String)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("servers.toml");
        let text = format!("[store]\nurl = \"{}\"\n{extra}\n", engine.url);
        std::fs::write(&config, text).unwrap();
        let folder = dir.path().join("workbenches");
        std::fs::create_dir(&folder).unwrap();
        for (name, body) in files {
            std::fs::write(folder.join(name), body).unwrap();
        }
        Self { dir, config }
    }

    fn serve(&self) -> Served {
        let port = free_port();
        let log = self.dir.path().join(format!("serve-{port}.log"));
        let mut command = Command::new(toolyard());
        command
            .args(["serve", "--config"])
            .arg(&self.config)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env_remove("TOOLYARD_STORE")
            .env("TEST_ALICE_KEY", ALICE)
            .env("TEST_BOB_KEY", BOB)
            .env("RUST_LOG", "info,rmcp=warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        let (guard, base) = spawn_until_healthy(&mut command, port);
        Served {
            _guard: guard,
            base,
        }
    }

    /// `toolyard conversations --json` over this config, plus `args`.
    fn conversations(&self, args: &[&str]) -> Vec<Value> {
        let output = Command::new(toolyard())
            .args(["conversations", "--json", "--config"])
            .arg(&self.config)
            .args(args)
            .env_remove("TOOLYARD_STORE")
            .env("TEST_ALICE_KEY", ALICE)
            .env("TEST_BOB_KEY", BOB)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
        serde_json::from_slice::<Vec<Value>>(&output.stdout).unwrap()
    }
}

struct Served {
    _guard: ChildGuard,
    base: String,
}

impl Served {
    async fn client(&self, key: Option<&str>) -> RunningService<RoleClient, ()> {
        let mut config =
            StreamableHttpClientTransportConfig::with_uri(format!("{}/mcp", self.base));
        if let Some(key) = key {
            config = config.auth_header(key.to_string());
        }
        ().serve(StreamableHttpClientTransport::from_config(config))
            .await
            .unwrap()
    }
}

async fn call(client: &RunningService<RoleClient, ()>, tool: &str, args: Value) -> CallToolResult {
    let args = args.as_object().cloned().unwrap();
    client
        .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(args))
        .await
        .unwrap()
}

fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect()
}

/// The conversation id of a successful result.
fn conversation(result: &CallToolResult) -> String {
    assert_ne!(result.is_error, Some(true), "{}", text(result));
    let structured = result.structured_content.as_ref().unwrap();
    structured["conversation_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no conversation_id: {structured}"))
        .to_string()
}

fn refused(result: &CallToolResult) -> String {
    assert_eq!(result.is_error, Some(true), "{result:?}");
    text(result)
}

/// The chat messages of a result as (source, content).
fn chat(result: &CallToolResult) -> Vec<(String, String)> {
    result.structured_content.as_ref().unwrap()["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["type"] == "TextMessage")
        .map(|m| {
            (
                m["source"].as_str().unwrap_or_default().to_string(),
                m["content"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn two_turns_see_the_history(engine: Engine) {
    let rt = runtime();
    let model = model(&rt, "noted", 0);
    let setup = Setup::new(&engine, "", &[("pair.toml", pair_file(&model, None))]);
    let served = setup.serve();
    let first = rt.block_on(async {
        let client = served.client(None).await;
        let one = call(&client, "pair", json!({"task": "first question"})).await;
        let id = conversation(&one);
        let before = model.request_count();
        let two = call(
            &client,
            "pair",
            json!({"task": "second question", "conversation_id": id}),
        )
        .await;
        assert_eq!(conversation(&two), id);
        // Turn 2's model requests carry turn 1: its task and both agents' answers.
        let requests = model.requests();
        let turn_two = &requests[usize::try_from(before).unwrap()..];
        assert_eq!(turn_two.len(), 2, "alpha and beta answered once each");
        for request in turn_two {
            let body = request.body["messages"].to_string();
            assert!(body.contains("first question"), "{body}");
            assert!(body.contains("second question"), "{body}");
            assert!(body.matches("noted").count() >= 2, "{body}");
        }
        // A call without an id starts a new conversation.
        let other = call(&client, "pair", json!({"task": "unrelated"})).await;
        assert_ne!(conversation(&other), id);
        client.cancel().await.unwrap();
        id
    });
    let listed = setup.conversations(&[]);
    let entry = listed.iter().find(|c| c["id"] == first.as_str()).unwrap();
    assert_eq!(entry["tool"], "pair");
    assert_eq!(entry["turns"], 2);
    assert_eq!(entry["messages"], 6);
    assert_eq!(listed.len(), 2, "{listed:?}");
}

fn max_turns_one_runs_turn_by_turn(engine: Engine) {
    let rt = runtime();
    let model = model(&rt, "my turn", 0);
    let setup = Setup::new(&engine, "", &[("pair.toml", pair_file(&model, Some(1)))]);
    let served = setup.serve();
    rt.block_on(async {
        let client = served.client(None).await;
        let one = call(&client, "pair", json!({"task": "start"})).await;
        let id = conversation(&one);
        let stop = one.structured_content.as_ref().unwrap()["stop_reason"].to_string();
        assert!(stop.contains("Maximum number of turns"), "{stop}");
        let speakers: Vec<String> = chat(&one).into_iter().map(|(s, _)| s).collect();
        assert_eq!(speakers, ["user", "alpha"]);
        // The client answers; the next speaker in turn (beta) goes on from there.
        let two = call(
            &client,
            "pair",
            json!({"task": "go on", "conversation_id": id}),
        )
        .await;
        assert_eq!(conversation(&two), id);
        let speakers: Vec<String> = chat(&two).into_iter().map(|(s, _)| s).collect();
        assert_eq!(speakers, ["user", "beta"]);
        let three = call(
            &client,
            "pair",
            json!({"task": "again", "conversation_id": id}),
        )
        .await;
        let speakers: Vec<String> = chat(&three).into_iter().map(|(s, _)| s).collect();
        assert_eq!(speakers, ["user", "alpha"]);
        client.cancel().await.unwrap();
    });
}

fn a_second_call_on_a_busy_conversation_is_refused(engine: Engine) {
    let rt = runtime();
    let model = model(&rt, "slowly", 1500);
    let setup = Setup::new(&engine, "", &[("solo.toml", solo_file(&model))]);
    let served = setup.serve();
    rt.block_on(async {
        let client = served.client(None).await;
        let id = conversation(&call(&client, "solo", json!({"task": "one"})).await);
        let second = {
            let client = served.client(None).await;
            let id = id.clone();
            tokio::spawn(async move {
                let result = call(
                    &client,
                    "solo",
                    json!({"task": "two", "conversation_id": id}),
                )
                .await;
                client.cancel().await.unwrap();
                result
            })
        };
        // Wait until the second call's run is at the model, then try a third on the same id.
        let deadline = Instant::now() + Duration::from_secs(30);
        while model.request_count() < 2 {
            assert!(
                Instant::now() < deadline,
                "the second call never reached the model"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let started = Instant::now();
        let third = call(
            &client,
            "solo",
            json!({"task": "three", "conversation_id": id}),
        )
        .await;
        let message = refused(&third);
        assert!(
            message.contains(&format!("conversation `{id}` is busy")),
            "{message}"
        );
        assert!(
            started.elapsed() < Duration::from_millis(1000),
            "refused at once"
        );
        let second = second.await.unwrap();
        assert_eq!(conversation(&second), id);
        // Once it answered, the conversation takes calls again, with both turns in it.
        let four = call(
            &client,
            "solo",
            json!({"task": "four", "conversation_id": id}),
        )
        .await;
        assert_eq!(conversation(&four), id);
        let body = model.requests().last().unwrap().body["messages"].to_string();
        assert!(
            body.contains("one") && body.contains("two") && !body.contains("three"),
            "{body}"
        );
        client.cancel().await.unwrap();
    });
}

fn an_expired_conversation_is_unknown(engine: Engine) {
    let rt = runtime();
    let model = model(&rt, "ok", 0);
    let setup = Setup::new(
        &engine,
        "conversation_ttl_secs = 1",
        &[("solo.toml", solo_file(&model))],
    );
    let served = setup.serve();
    rt.block_on(async {
        let client = served.client(None).await;
        let id = conversation(&call(&client, "solo", json!({"task": "hello"})).await);
        let again = call(
            &client,
            "solo",
            json!({"task": "soon", "conversation_id": id}),
        )
        .await;
        assert_eq!(conversation(&again), id, "within its ttl it goes on");
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let late = call(
            &client,
            "solo",
            json!({"task": "late", "conversation_id": id}),
        )
        .await;
        assert_eq!(refused(&late), format!("unknown conversation `{id}`"));
        client.cancel().await.unwrap();
    });
    assert!(setup.conversations(&[]).is_empty());
}

fn conversations_belong_to_their_caller(engine: Engine) {
    let rt = runtime();
    let model = model(&rt, "ok", 300);
    let setup = Setup::new(&engine, CALLERS, &[("solo.toml", solo_file(&model))]);
    let served = setup.serve();
    let (a, b) = rt.block_on(async {
        let alice = served.client(Some(ALICE)).await;
        let bob = served.client(Some(BOB)).await;
        let a = conversation(&call(&alice, "solo", json!({"task": "alice speaking"})).await);
        let b = conversation(&call(&bob, "solo", json!({"task": "bob speaking"})).await);
        // Bob cannot continue (or learn anything about) alice's; nor anyone an id never made.
        let stolen = call(
            &bob,
            "solo",
            json!({"task": "mine now", "conversation_id": a}),
        )
        .await;
        assert_eq!(refused(&stolen), format!("unknown conversation `{a}`"));
        let made_up = call(
            &alice,
            "solo",
            json!({"task": "x", "conversation_id": "never-was"}),
        )
        .await;
        assert_eq!(refused(&made_up), "unknown conversation `never-was`");
        // Both go on with their own at once; each model request sees only its own history.
        let before = model.request_count();
        let (ra, rb) = tokio::join!(
            call(
                &alice,
                "solo",
                json!({"task": "alice again", "conversation_id": a})
            ),
            call(
                &bob,
                "solo",
                json!({"task": "bob again", "conversation_id": b})
            ),
        );
        assert_eq!(conversation(&ra), a);
        assert_eq!(conversation(&rb), b);
        assert!(model.max_in_flight() >= 2, "the two runs overlapped");
        for request in &model.requests()[usize::try_from(before).unwrap()..] {
            let body = request.body["messages"].to_string();
            let alices = body.contains("alice speaking") && body.contains("alice again");
            let bobs = body.contains("bob speaking") && body.contains("bob again");
            assert!(alices != bobs, "one caller's history only: {body}");
        }
        alice.cancel().await.unwrap();
        bob.cancel().await.unwrap();
        (a, b)
    });
    let alices = setup.conversations(&["--caller", "alice"]);
    assert_eq!(alices.len(), 1, "{alices:?}");
    assert_eq!(alices[0]["id"], a.as_str());
    assert_eq!(alices[0]["owner"], "alice");
    assert_eq!(alices[0]["turns"], 2);
    let all = setup.conversations(&[]);
    assert!(
        all.iter()
            .any(|c| c["id"] == b.as_str() && c["owner"] == "bob"),
        "{all:?}"
    );
}

/// Records a migration 999 as applied, as a newer toolyard would have.
async fn mark_newer(url: &str, dir: &Path) {
    let insert = "INSERT INTO _sqlx_migrations (version, description, success, checksum, \
                  execution_time) VALUES (999, 'from the future', TRUE, X'00', 0)";
    if url.starts_with("sqlite://") {
        let path = dir.join("state.db");
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        sqlx::query(insert).execute(&pool).await.unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        let insert = insert.replace("X'00'", "'\\x00'::bytea");
        sqlx::query(sqlx::AssertSqlSafe(insert))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
}

fn serve_refuses_a_newer_schema(engine: Engine) {
    let rt = runtime();
    let model = model(&rt, "ok", 0);
    let setup = Setup::new(&engine, "", &[("solo.toml", solo_file(&model))]);
    drop(setup.serve());
    rt.block_on(mark_newer(&engine.url, setup.dir.path()));
    let mut child = ChildGuard::spawn(
        Command::new(toolyard())
            .args(["serve", "--config"])
            .arg(&setup.config)
            .args(["--listen", &format!("127.0.0.1:{}", free_port())])
            .env_remove("TOOLYARD_STORE")
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.child_mut().try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "serve did not refuse the store");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.child_mut().stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(!status.success());
    assert!(
        stderr.contains("has schema version 999, newer than this toolyard knows (1)"),
        "{stderr}"
    );
}

/// Each scenario on SQLite and on PostgreSQL.
macro_rules! on_both_engines {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $scenario() {
                super::$scenario(super::Engine::sqlite());
            })*
        }
        mod postgres {
            $(#[test]
            fn $scenario() {
                super::$scenario(super::Engine::postgres());
            })*
        }
    };
}

on_both_engines!(
    two_turns_see_the_history,
    max_turns_one_runs_turn_by_turn,
    a_second_call_on_a_busy_conversation_is_refused,
    an_expired_conversation_is_unknown,
    conversations_belong_to_their_caller,
    serve_refuses_a_newer_schema,
);

#[test]
fn a_conversation_survives_a_restart_on_sqlite() {
    let rt = runtime();
    let model = model(&rt, "remembered", 0);
    let setup = Setup::new(&Engine::sqlite(), "", &[("solo.toml", solo_file(&model))]);
    let served = setup.serve();
    let id = rt.block_on(async {
        let client = served.client(None).await;
        let id = conversation(&call(&client, "solo", json!({"task": "before the restart"})).await);
        client.cancel().await.unwrap();
        id
    });
    drop(served);
    assert!(setup.dir.path().join("state.db").exists());
    let served = setup.serve();
    rt.block_on(async {
        let client = served.client(None).await;
        let after = call(
            &client,
            "solo",
            json!({"task": "after it", "conversation_id": id}),
        )
        .await;
        assert_eq!(conversation(&after), id);
        let body = model.requests().last().unwrap().body["messages"].to_string();
        assert!(
            body.contains("before the restart") && body.contains("after it"),
            "{body}"
        );
        client.cancel().await.unwrap();
    });
}

/// The Python SDK client (both protocol eras) holds a conversation with a `max_turns = 1` team:
/// the schemas offer `conversation_id`, and each turn continues with the next speaker.
#[test]
fn the_python_sdk_client_holds_a_conversation_in_both_eras() {
    let rt = runtime();
    let model = model(&rt, "next", 0);
    let setup = Setup::new(
        &Engine::sqlite(),
        "",
        &[("pair.toml", pair_file(&model, Some(1)))],
    );
    let served = setup.serve();
    let url = format!("{}/mcp", served.base);
    for mode in ["legacy", "auto"] {
        let report = python_report(
            "conversation_client.py",
            [
                &url,
                "pair",
                "--mode",
                mode,
                "start",
                "your turn",
                "and again",
            ],
        );
        assert_eq!(report["input_has_conversation_id"], true, "{report}");
        assert_eq!(report["output_has_conversation_id"], true, "{report}");
        let turns = report["turns"].as_array().unwrap();
        let id = &turns[0]["conversation_id"];
        assert!(id.is_string(), "{report}");
        let speakers: Vec<&Value> = turns.iter().map(|t| &t["speakers"][1]).collect();
        assert_eq!(
            speakers,
            [&json!("alpha"), &json!("beta"), &json!("alpha")],
            "{report}"
        );
        for turn in turns {
            assert_eq!(&turn["conversation_id"], id, "{report}");
            assert_eq!(turn["is_error"], false, "{report}");
        }
    }
}
