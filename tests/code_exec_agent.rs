//! CodeExecutorAgent with real executors (local, and Docker when an engine is reachable) and the
//! scripted model server: blocks run and their output comes back, no code, unsupported
//! languages, the sources filter, approval, model-driven generate / fail / retry / succeed,
//! AutoGen-dumped configs, state.
#![allow(clippy::unwrap_used)]

mod code_exec_support;
mod common_agents;

use std::path::Path;
use std::sync::Arc;

use code_exec_support::{config, containers_of, engine_or_skip};
use common_agents::*;
use futures::FutureExt;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use toolyard::agents::{
    ApprovalFn, ApprovalResponse, ChatAgent, CodeExecutorAgent, LoadOptions, RunItem, Task,
    load_agent,
};
use toolyard::code_executors::{
    CodeExecutor, DockerCommandLineCodeExecutor, LocalCommandLineCodeExecutor, LocalExecutorConfig,
};
use toolyard::component::ComponentModel;
use toolyard::messages::{AgentEvent, AgentMessage, ChatMessage};
use toolyard::models::scripted::Step;

const NO_CODE: &str = "No code blocks found in the thread. Please provide at least one markdown-encoded code block to execute (i.e., quoting code in ```python or ```sh code blocks).";

fn local(dir: &Path) -> Arc<dyn CodeExecutor> {
    let python = std::env::var("TOOLYARD_PYTHON").ok();
    Arc::new(
        LocalCommandLineCodeExecutor::new(LocalExecutorConfig {
            enabled: true,
            timeout: 60,
            work_dir: Some(dir.to_path_buf()),
            python,
            ..LocalExecutorConfig::default()
        })
        .unwrap(),
    )
}

fn text_of(m: &ChatMessage) -> String {
    match m {
        ChatMessage::TextMessage(t) => t.content.clone(),
        other => panic!("not a text message: {other:?}"),
    }
}

async fn reply(agent: &CodeExecutorAgent, messages: Vec<ChatMessage>) -> String {
    let r = agent
        .on_messages(messages, CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(r.chat_message.source(), "executor");
    text_of(&r.chat_message)
}

#[tokio::test]
async fn blocks_in_a_message_run_and_their_output_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let agent = CodeExecutorAgent::builder("executor", local(dir.path()))
        .build()
        .unwrap();
    let msg = ChatMessage::text(
        "coder",
        "Here:\n```python\nprint(6 * 7)\nopen('made.txt', 'w').write('x')\n```\nand\n```sh\necho from-sh\n```\n",
    );
    let out = reply(&agent, vec![msg]).await;
    assert!(out.contains("42"), "{out}");
    assert!(out.contains("from-sh"), "{out}");
    assert!(dir.path().join("made.txt").exists());
    // A failing block: AutoGen's error wording with the exit code.
    let msg = ChatMessage::text(
        "coder",
        "```python\nimport sys\nprint('bad')\nsys.exit(3)\n```\n",
    );
    let out = reply(&agent, vec![msg]).await;
    assert!(
        out.starts_with("The script ran, then exited with an error (POSIX exit code: 3)"),
        "{out}"
    );
    assert!(out.contains("bad"), "{out}");
    // No output: AutoGen's explanatory sentence.
    let msg = ChatMessage::text("coder", "```python\nx = 1\n```\n");
    let out = reply(&agent, vec![msg]).await;
    assert!(
        out.starts_with(
            "The script ran but produced no output to console. The POSIX exit code was: 0."
        ),
        "{out}"
    );
}

#[tokio::test]
async fn no_code_gives_autogens_reply_and_run_yields_task_then_reply() {
    let dir = tempfile::tempdir().unwrap();
    let agent = CodeExecutorAgent::builder("executor", local(dir.path()))
        .build()
        .unwrap();
    let result = agent
        .run("just words, no code".into(), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(types(&result.messages), ["TextMessage", "TextMessage"]);
    assert_eq!(text_of(last_chat(&result.messages)), NO_CODE);
    assert!(agent.description().starts_with("A computer terminal"));
}

#[tokio::test]
async fn unsupported_language_fences_are_ignored_unless_configured() {
    let dir = tempfile::tempdir().unwrap();
    let agent = CodeExecutorAgent::builder("executor", local(dir.path()))
        .build()
        .unwrap();
    // bash is not in AutoGen's default list (python, sh).
    let msg = ChatMessage::text("coder", "```bash\necho hi\n```\n```rust\nfn main() {}\n```");
    assert_eq!(reply(&agent, vec![msg.clone()]).await, NO_CODE);
    let agent = CodeExecutorAgent::builder("executor", local(dir.path()))
        .supported_languages(vec!["bash".into()])
        .build()
        .unwrap();
    assert!(reply(&agent, vec![msg]).await.contains("hi"));
    // A language the executor cannot run is its error result, not a crash.
    let agent = CodeExecutorAgent::builder("executor", local(dir.path()))
        .supported_languages(vec!["rust".into()])
        .build()
        .unwrap();
    let msg = ChatMessage::text("coder", "```rust\nfn main() {}\n```");
    let out = reply(&agent, vec![msg]).await;
    assert!(out.contains("exited with an error"), "{out}");
    assert!(
        CodeExecutorAgent::builder("executor", local(dir.path()))
            .supported_languages(Vec::new())
            .build()
            .is_err()
    );
}

#[tokio::test]
async fn sources_filter_picks_the_messages_searched() {
    let dir = tempfile::tempdir().unwrap();
    let agent = CodeExecutorAgent::builder("executor", local(dir.path()))
        .sources(Some(vec!["coder".into()]))
        .build()
        .unwrap();
    let from_user = ChatMessage::text("user", "```python\nprint('from-user')\n```");
    let from_coder = ChatMessage::text("coder", "```python\nprint('from-coder')\n```");
    assert_eq!(reply(&agent, vec![from_user.clone()]).await, NO_CODE);
    let out = reply(&agent, vec![from_user, from_coder]).await;
    assert!(out.contains("from-coder"), "{out}");
    assert!(!out.contains("from-user"), "{out}");
}

#[tokio::test]
async fn approval_rejects_a_block_before_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    let seen = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let log = seen.clone();
    let approval: ApprovalFn = Arc::new(move |request| {
        log.lock().unwrap().push(request.code.clone());
        let safe = !request.code.contains("open(");
        async move {
            if safe {
                ApprovalResponse::approve("read-only")
            } else {
                ApprovalResponse::reject("writes files")
            }
        }
        .boxed()
    });
    let agent = CodeExecutorAgent::builder("executor", local(dir.path()))
        .approval_func(approval)
        .build()
        .unwrap();
    let msg = ChatMessage::text("coder", "```python\nopen('bad.txt', 'w').write('x')\n```");
    let out = reply(&agent, vec![msg]).await;
    assert_eq!(out, "Code execution was not approved. Reason: writes files");
    assert!(!dir.path().join("bad.txt").exists());
    let msg = ChatMessage::text("coder", "```python\nprint('ok')\n```");
    assert!(reply(&agent, vec![msg]).await.contains("ok"));
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen[1], "```python\nprint('ok')\n\n```");
    // An agent with an approval hook has no config (the hook is code).
    assert!(agent.dump_component().is_err());
}

#[tokio::test]
async fn model_writes_code_fails_retries_succeeds_and_reflects() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(vec![
        Step::text("```python\nprint(undefined_name)\n```"),
        Step::text(r#"{"reason": "NameError: define the value first", "retry": true}"#),
        Step::text("```python\nvalue = 7\nprint(value * 6)\n```"),
        Step::text("The answer is 42."),
    ])
    .await;
    let agent = CodeExecutorAgent::builder("executor", local(dir.path()))
        .model_client(client(&server))
        .max_retries_on_error(2)
        .build()
        .unwrap();
    assert!(agent.description().starts_with("A Code Execution Agent"));
    let mut stream = agent.run_stream("compute 6*7".into(), CancellationToken::new());
    let mut items = Vec::new();
    use futures::StreamExt;
    while let Some(item) = stream.next().await {
        items.push(item.unwrap());
    }
    drop(stream);
    let Some(RunItem::Result(result)) = items.last() else {
        panic!("no result")
    };
    assert_eq!(
        types(&result.messages),
        [
            "TextMessage",
            "CodeGenerationEvent",
            "CodeExecutionEvent",
            "CodeGenerationEvent",
            "CodeGenerationEvent",
            "CodeExecutionEvent",
            "TextMessage"
        ]
    );
    let ev = |i: usize| match &result.messages[i] {
        AgentMessage::Event(e) => e.clone(),
        other => panic!("not an event: {other:?}"),
    };
    let AgentEvent::CodeGenerationEvent(g) = ev(1) else {
        panic!()
    };
    assert_eq!(g.retry_attempt, 0);
    assert_eq!(g.code_blocks[0].language, "python");
    let AgentEvent::CodeExecutionEvent(x) = ev(2) else {
        panic!()
    };
    assert_ne!(x.result.exit_code, 0);
    assert!(x.result.output.contains("NameError"), "{}", x.result.output);
    let AgentEvent::CodeGenerationEvent(c) = ev(3) else {
        panic!()
    };
    assert_eq!(
        c.content,
        "Attempt number: 1\nProposed correction: NameError: define the value first"
    );
    assert!(c.code_blocks.is_empty());
    let AgentEvent::CodeGenerationEvent(g) = ev(4) else {
        panic!()
    };
    assert_eq!(g.retry_attempt, 1);
    let AgentEvent::CodeExecutionEvent(x) = ev(5) else {
        panic!()
    };
    assert_eq!((x.retry_attempt, x.result.exit_code), (1, 0));
    assert!(x.result.output.contains("42"));
    let ChatMessage::TextMessage(t) = last_chat(&result.messages) else {
        panic!()
    };
    assert_eq!(t.content, "The answer is 42.");
    assert!(t.meta.models_usage.is_some());
    // The retry decision was asked with a JSON schema; the reflection saw the output.
    let requests = server.requests();
    assert_eq!(requests.len(), 4);
    assert_eq!(
        requests[1].body["response_format"]["json_schema"]["name"],
        "RetryDecision"
    );
    let last = requests[3].body["messages"].as_array().unwrap();
    assert_eq!(last[0]["role"], "system");
    assert!(
        last.iter()
            .any(|m| m["content"].as_str().is_some_and(|c| c.contains("42")))
    );
    // State carries the model context and restores into a fresh agent.
    let state = agent.save_state().await.unwrap();
    assert_eq!(state["type"], "CodeExecutorAgentState");
    let n = agent.model_context().get_messages().await.len();
    assert!(n >= 6, "{n}");
    let fresh = CodeExecutorAgent::builder("executor", local(dir.path()))
        .build()
        .unwrap();
    fresh.load_state(&state).await.unwrap();
    assert_eq!(fresh.model_context().get_messages().await.len(), n);
    fresh
        .load_state(&json!({"type": "BaseState", "version": "1.0.0"}))
        .await
        .unwrap();
    agent.on_reset(CancellationToken::new()).await.unwrap();
    assert!(agent.model_context().get_messages().await.is_empty());
}

#[tokio::test]
async fn model_without_code_answers_directly_and_retries_need_structured_output() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(vec![Step::text("Nothing to run.")]).await;
    let agent = CodeExecutorAgent::builder("executor", local(dir.path()))
        .model_client(client(&server))
        .build()
        .unwrap();
    let r = agent
        .run(Task::Text("hi".into()), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(types(&r.messages), ["TextMessage", "TextMessage"]);
    assert_eq!(text_of(last_chat(&r.messages)), "Nothing to run.");
    assert!(
        CodeExecutorAgent::builder("executor", local(dir.path()))
            .max_retries_on_error(1)
            .build()
            .is_err()
    );
}

fn fixture_model(name: &str) -> ComponentModel {
    serde_json::from_value(fixture(name)).unwrap()
}

#[tokio::test]
async fn autogen_dumped_configs_load_and_dump_back() {
    // AutoGen's local executor config has no `enabled: true`: loading refuses clearly.
    let mut model = fixture_model("code_executor_agent.json");
    let err = load_agent(&model, &LoadOptions::default()).err().unwrap();
    assert!(
        err.to_string().contains("local code execution is disabled"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    model.config["code_executor"]["config"]["enabled"] = json!(true);
    model.config["code_executor"]["config"]["work_dir"] = json!(dir.path());
    let agent = load_agent(&model, &LoadOptions::default()).unwrap();
    assert_eq!(agent.name(), "executor");
    assert!(agent.description().starts_with("A computer terminal"));
    // sources = ["coder"], supported languages include bash.
    let out = agent
        .on_messages(
            vec![
                ChatMessage::text("user", "```bash\necho from-user\n```"),
                ChatMessage::text("coder", "```bash\necho from-coder\n```"),
            ],
            CancellationToken::new(),
        )
        .await
        .unwrap();
    let out = text_of(&out.chat_message);
    assert!(
        out.contains("from-coder") && !out.contains("from-user"),
        "{out}"
    );
    let dumped = agent.dump_component().unwrap();
    assert_eq!(
        dumped.provider,
        "autogen_agentchat.agents.CodeExecutorAgent"
    );
    assert_eq!(dumped.config["sources"], json!(["coder"]));
    assert_eq!(
        dumped.config["supported_languages"],
        json!(["python", "sh", "bash"])
    );
    assert_eq!(
        dumped.config["code_executor"]["provider"],
        "autogen_ext.code_executors.local.LocalCommandLineCodeExecutor"
    );
    let again = load_agent(&dumped, &LoadOptions::default()).unwrap();
    assert_eq!(again.dump_component().unwrap(), dumped);

    // With a model client (replay), a buffered context and streaming.
    let mut model = fixture_model("code_executor_agent_model.json");
    model.config["code_executor"]["config"]["enabled"] = json!(true);
    model.config["code_executor"]["config"]["work_dir"] = json!(dir.path());
    let agent = load_agent(&model, &LoadOptions::default()).unwrap();
    let dumped = agent.dump_component().unwrap();
    assert_eq!(dumped.config["model_client_stream"], true);
    assert_eq!(dumped.config["system_message"], "Write python.");
    assert_eq!(
        dumped.config["model_client"]["provider"],
        "autogen_ext.models.replay.ReplayChatCompletionClient"
    );
    assert_eq!(dumped.config["model_context"]["config"]["buffer_size"], 8);
}

#[tokio::test]
async fn docker_executor_runs_the_blocks_of_a_message() {
    let Some(docker) = engine_or_skip("docker_executor_runs_the_blocks_of_a_message").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let executor = Arc::new(DockerCommandLineCodeExecutor::new(config(dir.path(), 60)).unwrap());
    let agent = CodeExecutorAgent::builder("executor", executor.clone())
        .build()
        .unwrap();
    let msg = ChatMessage::text(
        "coder",
        "```python\nprint(sum(range(10)))\nopen('out.txt', 'w').write('hi')\n```",
    );
    let out = reply(&agent, vec![msg]).await;
    assert!(out.contains("45"), "{out}");
    assert!(dir.path().join("out.txt").exists());
    agent.close().await.unwrap();
    assert!(
        containers_of(&docker, executor.executor_id())
            .await
            .is_empty(),
        "containers left after close"
    );
}

#[tokio::test]
async fn cancel_mid_run_returns_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let agent = Arc::new(
        CodeExecutorAgent::builder("executor", local(dir.path()))
            .build()
            .unwrap(),
    );
    let started = dir.path().join("started");
    let msg = ChatMessage::text(
        "coder",
        "```python\nimport time\nopen('started', 'w').write('1')\ntime.sleep(600)\n```",
    );
    let cancel = CancellationToken::new();
    let task = {
        let (agent, cancel) = (agent.clone(), cancel.clone());
        tokio::spawn(async move { agent.on_messages(vec![msg], cancel).await })
    };
    while !started.exists() {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    cancel.cancel();
    let err = task.await.unwrap().err().unwrap();
    assert!(
        matches!(err, toolyard::agents::AgentError::Cancelled { .. }),
        "{err}"
    );
}

#[tokio::test]
async fn streaming_model_emits_chunks_before_the_code_events() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(vec![
        Step::text("```python\nprint('streamed')\n```"),
        Step::text("It printed streamed."),
    ])
    .await;
    let agent = CodeExecutorAgent::builder("executor", local(dir.path()))
        .model_client(client(&server))
        .model_client_stream(true)
        .build()
        .unwrap();
    use futures::StreamExt;
    let mut stream = agent.on_messages_stream(
        vec![ChatMessage::text("user", "print it")],
        CancellationToken::new(),
    );
    let mut kinds = Vec::new();
    let mut last = None;
    while let Some(item) = stream.next().await {
        match item.unwrap() {
            toolyard::agents::AgentStreamItem::Event(e) => kinds.push(e.type_name()),
            toolyard::agents::AgentStreamItem::Response(r) => last = Some(r),
        }
    }
    drop(stream);
    let first_gen = kinds
        .iter()
        .position(|k| *k == "CodeGenerationEvent")
        .unwrap();
    assert!(
        kinds[..first_gen]
            .iter()
            .all(|k| *k == "ModelClientStreamingChunkEvent")
    );
    assert!(first_gen > 0, "{kinds:?}");
    assert_eq!(kinds[first_gen + 1], "CodeExecutionEvent");
    assert!(
        kinds[first_gen + 2..]
            .iter()
            .all(|k| *k == "ModelClientStreamingChunkEvent")
    );
    let r = last.unwrap();
    assert_eq!(text_of(&r.chat_message), "It printed streamed.");
    assert!(r.inner_messages.is_empty());
}
