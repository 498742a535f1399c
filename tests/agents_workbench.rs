//! An AssistantAgent calling tools of a real MCP server (examples/demo_server over stdio) through
//! the Gateway workbench, with reflection on the result.
#![allow(clippy::unwrap_used)]

mod common;
mod common_agents;

use std::path::Path;
use std::time::Duration;

use common_agents::{client, last_chat, server, types};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use toolyard::agents::{AssistantAgent, ChatAgent};
use toolyard::config::Config;
use toolyard::gateway::Gateway;
use toolyard::messages::{AgentEvent, AgentMessage};
use toolyard::models::scripted::{Action, Step};

#[tokio::test]
async fn assistant_uses_an_mcp_server_through_the_gateway() {
    let toml = format!(
        "[servers.demo]\ncommand = \"{}\"\n",
        common::example_bin("demo_server").display()
    );
    let config = Config::parse(&toml, Path::new("/tmp/servers.toml"), &|_| None).unwrap();
    let gateway = Gateway::from_config(&config, CancellationToken::new());
    assert!(gateway.wait_ready(Duration::from_secs(60)).await);
    let model = server(vec![
        Step::new(Action::CallTool {
            name: "demo__add".into(),
            arguments: Some(json!({"a": 2, "b": 3})),
        }),
        Step::text("2 + 3 = 5"),
    ])
    .await;
    let agent = AssistantAgent::builder("assistant", client(&model))
        .workbench(gateway.clone())
        .reflect_on_tool_use(true)
        .build()
        .unwrap();
    let r = agent
        .run("add 2 and 3".into(), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(
        types(&r.messages),
        [
            "TextMessage",
            "ToolCallRequestEvent",
            "ToolCallExecutionEvent",
            "TextMessage"
        ]
    );
    let exec = r
        .messages
        .iter()
        .find_map(|m| match m {
            AgentMessage::Event(AgentEvent::ToolCallExecutionEvent(e)) => {
                Some(e.content[0].clone())
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(exec.content, "5");
    assert_eq!(exec.is_error, Some(false));
    assert_eq!(last_chat(&r.messages).to_text(), "2 + 3 = 5");
    let offered = model.requests()[0].body["tools"].to_string();
    assert!(
        offered.contains("demo__echo"),
        "every gateway tool is offered"
    );
    gateway.shutdown().await;
}
