//! SelectorGroupChat against the scripted model server: model selection, AutoGen's retry
//! feedback on invalid / ambiguous / repeated names, the prompt placeholders, selector and
//! candidate functions, state.
#![allow(clippy::unwrap_used)]

mod common_agents;

use std::sync::Arc;

use common_agents::*;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use toolyard::agents::{AssistantAgent, ChatAgent, Task};
use toolyard::messages::AgentMessage;
use toolyard::models::scripted::ScriptedServer;
use toolyard::teams::{GroupChat, Selector, TeamError};

const SELECTOR: &str = "role play game";

async fn scripted(selector_steps: Value) -> ScriptedServer {
    let mut rules = vec![json!({"when": {"system_contains": SELECTOR}, "steps": selector_steps})];
    for name in ["alice", "bob", "carol"] {
        rules.push(json!({
            "when": {"system_contains": format!("agent {name}.")},
            "reply": {"kind": "text", "text": format!("{name} speaking")}
        }));
    }
    server_json(&json!({"rules": rules, "when_done": "cycle"})).await
}

fn three(server: &ScriptedServer) -> Vec<Arc<dyn ChatAgent>> {
    ["alice", "bob", "carol"]
        .iter()
        .map(|name| {
            let a = AssistantAgent::builder(*name, client(server))
                .system_message(Some(format!("You are agent {name}.")))
                .description(format!("{name} is   a\nhelper"))
                .build()
                .unwrap();
            Arc::new(a) as Arc<dyn ChatAgent>
        })
        .collect()
}

fn sources(messages: &[AgentMessage]) -> Vec<String> {
    messages
        .iter()
        .filter_map(AgentMessage::as_chat)
        .map(|m| m.source().to_string())
        .collect()
}

/// The message lists of the selector's requests.
fn selector_requests(server: &ScriptedServer) -> Vec<Vec<Value>> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.body.to_string().contains(SELECTOR))
        .map(|r| r.body["messages"].as_array().unwrap().clone())
        .collect()
}

#[tokio::test]
async fn retries_on_invalid_and_ambiguous_names_with_autogen_feedback() {
    let server = scripted(json!([text("nobody"), text("alice or bob"), text("bob")])).await;
    let selector = Selector::new(client(&server));
    let team = GroupChat::selector(three(&server), selector)
        .max_turns(1)
        .build()
        .unwrap();
    let r = run_team(&team, "go").await;
    assert_eq!(sources(&r.messages), ["user", "bob"]);
    let requests = selector_requests(&server);
    assert_eq!(requests.len(), 3);
    let last = &requests[2];
    let contents: Vec<&str> = last
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        contents[1..],
        [
            "nobody",
            "No valid name was mentioned. Please select from: ['alice', 'bob', 'carol'].",
            "alice or bob",
            "Expected exactly one name to be mentioned. Please select only one from: ['alice', 'bob', 'carol'].",
        ]
    );
}

#[tokio::test]
async fn repeated_speaker_is_refused_then_falls_back_to_previous() {
    let server = scripted(json!([text("alice")])).await;
    let team = GroupChat::selector(three(&server), Selector::new(client(&server)))
        .max_turns(2)
        .build()
        .unwrap();
    let r = run_team(&team, "go").await;
    // AutoGen falls back to the previous speaker after max_selector_attempts.
    assert_eq!(sources(&r.messages), ["user", "alice", "alice"]);
    assert_eq!(r.stop_reason.unwrap(), "Maximum number of turns 2 reached.");
    let requests = selector_requests(&server);
    assert_eq!(requests.len(), 4);
    let feedback = requests[3][2]["content"].as_str().unwrap();
    assert_eq!(
        feedback,
        "Repeated speaker is not allowed, please select a different name from: ['bob', 'carol']."
    );
}

#[tokio::test]
async fn allow_repeated_speaker_and_prompt_placeholders() {
    let server = scripted(json!([text("carol"), text("carol")])).await;
    let selector = Selector::new(client(&server))
        .allow_repeated_speaker(true)
        .selector_prompt(
            "role play game ROLES={roles}\nPARTS={participants}\nHISTORY={history}END",
        );
    let team = GroupChat::selector(three(&server), selector)
        .max_turns(2)
        .build()
        .unwrap();
    let r = run_team(&team, "go").await;
    assert_eq!(sources(&r.messages), ["user", "carol", "carol"]);
    let prompts: Vec<String> = server
        .requests()
        .into_iter()
        .filter_map(|r| {
            let m = r.body["messages"][0]["content"].as_str()?.to_string();
            m.starts_with("role play game ROLES=").then_some(m)
        })
        .collect();
    assert_eq!(prompts.len(), 2);
    assert_eq!(
        prompts[0],
        "role play game ROLES=alice: alice is a helper\nbob: bob is a helper\ncarol: carol is a helper\n\
         PARTS=['alice', 'bob', 'carol']\nHISTORY=user: go\n\nEND"
    );
}

#[tokio::test]
async fn selector_and_candidate_functions_skip_the_model() {
    let server = scripted(json!([text("bob")])).await;
    let selector = Selector::new(client(&server))
        .selector_fn(|thread: &[AgentMessage]| {
            (thread.last().map(|m| m.source()) == Some("alice")).then(|| "carol".to_string())
        })
        .candidate_fn(|_: &[AgentMessage]| vec!["alice".to_string()]);
    let team = GroupChat::selector(three(&server), selector)
        .max_turns(3)
        .build()
        .unwrap();
    let r = run_team(&team, "go").await;
    assert_eq!(sources(&r.messages), ["user", "alice", "carol", "alice"]);
    assert!(selector_requests(&server).is_empty());
}

#[tokio::test]
async fn invalid_selector_function_name_is_an_error() {
    let server = scripted(json!([text("bob")])).await;
    let selector =
        Selector::new(client(&server)).selector_fn(|_: &[AgentMessage]| Some("dave".into()));
    let team = GroupChat::selector(three(&server), selector)
        .build()
        .unwrap();
    let err = team
        .run("go".into(), CancellationToken::new())
        .await
        .unwrap_err();
    assert!(matches!(err, TeamError::Selection { .. }), "{err}");
    assert!(
        err.to_string().contains("invalid speaker name: dave"),
        "{err}"
    );
}

#[tokio::test]
async fn save_load_continue_selector() {
    let server = scripted(json!([text("bob"), text("carol"), text("alice")])).await;
    let team = GroupChat::selector(three(&server), Selector::new(client(&server)))
        .max_turns(1)
        .build()
        .unwrap();
    run_team(&team, "go").await;
    let state = team.save_state().await.unwrap();
    let manager = &state["agent_states"]["SelectorGroupChatManager"];
    assert_eq!(manager["type"], "SelectorManagerState");
    assert_eq!(manager["previous_speaker"], "bob");
    let fresh = GroupChat::selector(three(&server), Selector::new(client(&server)))
        .max_turns(1)
        .build()
        .unwrap();
    fresh.load_state(&state).await.unwrap();
    let r = run_team(&fresh, Task::None).await;
    assert_eq!(sources(&r.messages), ["carol"]);
    // The selector saw the restored history.
    let last = selector_requests(&server).pop().unwrap();
    let prompt = last[0]["content"].as_str().unwrap();
    assert!(
        prompt.contains("user: go") && prompt.contains("bob: bob speaking"),
        "{prompt}"
    );
    assert!(prompt.contains("['alice', 'carol']"), "{prompt}");
}

#[tokio::test]
async fn fewer_than_two_participants_is_a_config_error() {
    let server = scripted(json!([text("bob")])).await;
    let one = three(&server).into_iter().take(1).collect();
    let err = GroupChat::selector(one, Selector::new(client(&server)))
        .build()
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("At least two participants"),
        "{err}"
    );
}

#[tokio::test]
async fn streaming_selector_emits_chunks_and_selector_event() {
    use futures::StreamExt;
    use toolyard::agents::RunItem;
    let server = scripted(json!([text("bob")])).await;
    let selector = Selector::new(client(&server)).model_client_streaming(true);
    let team = GroupChat::selector(three(&server), selector)
        .max_turns(1)
        .emit_team_events(true)
        .build()
        .unwrap();
    let items: Vec<RunItem> = team
        .run_stream("go".into(), CancellationToken::new())
        .map(Result::unwrap)
        .collect()
        .await;
    let streamed: Vec<&AgentMessage> = items
        .iter()
        .filter_map(|i| match i {
            RunItem::Message(m) => Some(m),
            RunItem::Result(_) => None,
        })
        .collect();
    let chunks: String = streamed
        .iter()
        .filter(|m| m.type_name() == "ModelClientStreamingChunkEvent")
        .map(|m| m.to_text())
        .collect();
    assert_eq!(chunks, "bob");
    let kinds: Vec<&str> = streamed
        .iter()
        .map(|m| m.type_name())
        .filter(|t| *t != "ModelClientStreamingChunkEvent")
        .collect();
    assert_eq!(
        kinds,
        [
            "TextMessage",
            "SelectorEvent",
            "SelectSpeakerEvent",
            "TextMessage"
        ]
    );
    let RunItem::Result(result) = items.last().unwrap() else {
        panic!("no result")
    };
    // Chunks are streamed, not kept.
    assert_eq!(
        result
            .messages
            .iter()
            .map(|m| m.type_name())
            .collect::<Vec<_>>(),
        kinds
    );
    assert_eq!(result.messages[1].source(), "SelectorGroupChatManager");
    assert_eq!(result.messages[1].to_text(), "bob");
}

/// AutoGen's selector `model_context`: a buffered context of one message shows the selector
/// model only the latest message as `{history}`; a reset clears it; the config keeps it.
#[tokio::test]
async fn selector_model_context_limits_the_history_shown() {
    use toolyard::model_context::BufferedContext;
    let server = scripted(json!([text("alice"), text("bob")])).await;
    let selector =
        Selector::new(client(&server)).model_context(Arc::new(BufferedContext::new(1).unwrap()));
    let team = GroupChat::selector(three(&server), selector)
        .max_turns(2)
        .build()
        .unwrap();
    let r = run_team(&team, "the task").await;
    assert_eq!(sources(&r.messages), ["user", "alice", "bob"]);
    let prompts: Vec<String> = selector_requests(&server)
        .iter()
        .map(|m| m[0]["content"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(prompts.len(), 2);
    assert!(prompts[0].contains("user: the task"), "{}", prompts[0]);
    // The second selection sees only alice's message, not the task.
    assert!(
        prompts[1].contains("alice: alice speaking"),
        "{}",
        prompts[1]
    );
    assert!(!prompts[1].contains("the task"), "{}", prompts[1]);
    let config = team.dump_component().unwrap();
    assert_eq!(
        config.config["model_context"]["provider"],
        "autogen_core.model_context.BufferedChatCompletionContext"
    );
    let loaded = toolyard::teams::load_team(&config, &Default::default()).unwrap();
    assert_eq!(
        loaded.dump_component().unwrap().config["model_context"],
        config.config["model_context"]
    );
}
