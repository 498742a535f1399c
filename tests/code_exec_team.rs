//! A coder + executor RoundRobin team solving a scripted task end to end: the coder (an
//! AssistantAgent on the scripted model server) writes a Python block, the CodeExecutorAgent runs
//! it in a real Docker container, the coder reads the output and finishes.

mod code_exec_support;
mod common_agents;

use std::sync::Arc;

use code_exec_support::{config, containers_of, engine_or_skip};
use common_agents::{client, server_with};
use tokio_util::sync::CancellationToken;
use toolyard::agents::{AssistantAgent, ChatAgent, CodeExecutorAgent, Task};
use toolyard::code_executors::{CodeExecutor, DockerCommandLineCodeExecutor};
use toolyard::messages::AgentMessage;
use toolyard::models::scripted::Script;
use toolyard::teams::GroupChat;
use toolyard::termination::{MaxMessageTermination, TextMentionTermination};

const SCRIPT: &str = r#"
when_done = "repeat_last"

# The coder's second turn: the executor's output (42) is the last message it sees.
[[rules]]
when = { last_contains = "42" }
reply = { kind = "text", text = "The product is 42. TERMINATE" }

[[steps]]
kind = "text"
text = "Let me compute it.\n\n```python\nprint(6 * 7)\n```"
"#;

#[tokio::test]
async fn coder_and_docker_executor_solve_a_scripted_task() {
    let Some(docker) = engine_or_skip("coder_and_docker_executor_solve_a_scripted_task").await
    else {
        return;
    };
    let server = server_with(Script::from_toml(SCRIPT).expect("script")).await;
    let coder: Arc<dyn ChatAgent> = Arc::new(
        AssistantAgent::builder("coder", client(&server))
            .system_message(Some("You write Python in ```python blocks.".into()))
            .build()
            .expect("coder"),
    );
    let dir = tempfile::tempdir().expect("work dir");
    let docker_executor =
        Arc::new(DockerCommandLineCodeExecutor::new(config(dir.path(), 60)).expect("executor"));
    let executor: Arc<dyn ChatAgent> = Arc::new(
        CodeExecutorAgent::builder("executor", docker_executor.clone() as Arc<dyn CodeExecutor>)
            .build()
            .expect("executor agent"),
    );
    let team = GroupChat::round_robin(vec![coder, executor])
        .termination(TextMentionTermination::new("TERMINATE") | MaxMessageTermination::new(10))
        .build()
        .expect("team");

    let result = team
        .run(Task::from("What is 6 times 7?"), CancellationToken::new())
        .await
        .expect("team run");

    let chats: Vec<(&str, String)> = result
        .messages
        .iter()
        .filter_map(|m| match m {
            AgentMessage::Chat(c) => Some((c.source(), c.to_text())),
            _ => None,
        })
        .collect();
    let sources: Vec<&str> = chats.iter().map(|(s, _)| *s).collect();
    assert_eq!(sources, ["user", "coder", "executor", "coder"], "{chats:?}");
    assert!(chats[1].1.contains("```python"), "{chats:?}");
    assert_eq!(
        chats[2].1.trim(),
        "42",
        "the container ran the code: {chats:?}"
    );
    assert!(chats[3].1.contains("TERMINATE"));
    assert_eq!(
        result.stop_reason.as_deref(),
        Some("Text 'TERMINATE' mentioned")
    );

    docker_executor.stop().await.expect("stop");
    assert!(
        containers_of(&docker, docker_executor.executor_id())
            .await
            .is_empty(),
        "no container left"
    );
}
