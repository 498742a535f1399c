//! GraphFlow against the scripted model server: chains, concurrent fan-out (proved by requests
//! in flight together), joins, any-activation, activation groups, string and predicate
//! conditions, loops with an exit, validation errors, max_turns, termination, save → load →
//! continue, reset, and the component config round trip.
#![allow(clippy::unwrap_used)]

mod common_agents;

use std::sync::Arc;

use common_agents::*;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use toolyard::agents::{AssistantAgent, ChatAgent, LoadOptions, Task};
use toolyard::component::ComponentError;
use toolyard::messages::AgentMessage;
use toolyard::models::scripted::{Script, ScriptedServer};
use toolyard::teams::{
    Activation, DIGRAPH_STOP_MESSAGE, DiGraph, DiGraphBuilder, DiGraphEdge, GraphError, GroupChat,
    TeamError, load_team,
};
use toolyard::termination::TextMentionTermination;

/// A script where each agent (matched by its system message) answers with its own steps.
async fn scripted(rules: Vec<Value>) -> ScriptedServer {
    let script = json!({"rules": rules, "when_done": "cycle"}).to_string();
    server_with(Script::from_json(&script).unwrap()).await
}

fn agent(server: &ScriptedServer, name: &str) -> Arc<dyn ChatAgent> {
    Arc::new(
        AssistantAgent::builder(name, client(server))
            .system_message(Some(format!("You are agent {name}.")))
            .build()
            .unwrap(),
    )
}

fn builder(server: &ScriptedServer, names: &[&str]) -> DiGraphBuilder {
    names
        .iter()
        .fold(DiGraphBuilder::new(), |b, n| b.add_node(agent(server, n)))
}

/// A chain `agents[0] → agents[1] → …` on a fresh server where each agent (name, reply)
/// answers with its one reply.
async fn chain(agents: &[(&str, &str)]) -> (ScriptedServer, DiGraphBuilder) {
    let server = scripted(agents.iter().map(|(n, t)| agent_steps(n, &[*t])).collect()).await;
    let names: Vec<&str> = agents.iter().map(|(n, _)| *n).collect();
    let b = names
        .windows(2)
        .fold(builder(&server, &names), |b, w| b.add_edge(w[0], w[1]));
    (server, b)
}

/// writer → critic, then back to writer on "REVISE" or on to publisher on "APPROVE".
fn review_loop(server: &ScriptedServer) -> DiGraphBuilder {
    builder(server, &["writer", "critic", "publisher"])
        .add_edge("writer", "critic")
        .add_edge_if("critic", "writer", "REVISE")
        .add_edge_if("critic", "publisher", "APPROVE")
        .set_entry_point("writer")
}

fn flow(b: &DiGraphBuilder) -> toolyard::teams::GroupChatBuilder {
    GroupChat::graph(b.participants(), b.build().unwrap())
}

/// Sources with each concurrent turn's answers (recorded as they arrive) sorted: `turns`
/// gives how many messages each turn added, in order.
fn turns(messages: &[AgentMessage], sizes: &[usize]) -> Vec<Vec<String>> {
    let all = sources(messages);
    assert_eq!(all.len(), sizes.iter().sum::<usize>(), "{all:?}");
    let mut at = 0;
    sizes
        .iter()
        .map(|n| {
            let mut turn = all[at..at + n].to_vec();
            turn.sort();
            at += n;
            turn
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

/// The text of every request the agent `name` sent to the model.
fn requests_of(server: &ScriptedServer, name: &str) -> Vec<String> {
    server
        .requests()
        .iter()
        .map(|r| r.body.to_string())
        .filter(|b| b.contains(&format!("You are agent {name}.")))
        .collect()
}

async fn go(team: &GroupChat, task: Task) -> toolyard::messages::TaskResult {
    team.run(task, CancellationToken::new()).await.unwrap()
}

/// Runs `team` on `task` and checks who spoke, in order, and why the run stopped.
async fn run_expect(
    team: &GroupChat,
    task: impl Into<Task>,
    who: &[&str],
    stop: Option<&str>,
) -> toolyard::messages::TaskResult {
    let r = go(team, task.into()).await;
    assert_eq!(sources(&r.messages), who);
    assert_eq!(r.stop_reason.as_deref(), stop);
    r
}

#[tokio::test]
async fn sequential_chain_runs_in_order_and_completes() {
    let (_server, b) = chain(&[("a", "A"), ("b", "B"), ("c", "C")]).await;
    let team = flow(&b).build().unwrap();
    run_expect(
        &team,
        "go",
        &["user", "a", "b", "c"],
        Some(DIGRAPH_STOP_MESSAGE),
    )
    .await;
    // A completed graph starts over from its start node on the next task.
    run_expect(
        &team,
        "again",
        &["user", "a", "b", "c"],
        Some(DIGRAPH_STOP_MESSAGE),
    )
    .await;
}

#[tokio::test]
async fn fan_out_runs_all_branches_concurrently_then_joins() {
    // Each branch's model answer is held back; all four requests being in flight together
    // means every branch had asked before any branch got its answer.
    let mut rules = vec![
        agent_steps("root", &["ROOT"]),
        agent_steps("join", &["JOINED"]),
    ];
    for i in 1..=4 {
        rules.push(agent_says_after(
            &format!("b{i}"),
            &format!("BRANCH-{i}"),
            3000,
        ));
    }
    let server = scripted(rules).await;
    let mut b = builder(&server, &["root", "b1", "b2", "b3", "b4", "join"]);
    for i in 1..=4 {
        let branch = format!("b{i}");
        b = b.add_edge("root", &branch).add_edge(&branch, "join");
    }
    let team = flow(&b).build().unwrap();
    let r = go(&team, "go".into()).await;
    assert_eq!(
        turns(&r.messages, &[1, 1, 4, 1]),
        [
            vec!["user"],
            vec!["root"],
            vec!["b1", "b2", "b3", "b4"],
            vec!["join"]
        ]
    );
    assert_eq!(
        server.max_in_flight(),
        4,
        "all four branch requests overlap"
    );
    // No branch saw a sibling's answer: they all started from the same conversation.
    for i in 1..=4 {
        let req = requests_of(&server, &format!("b{i}"));
        assert_eq!(req.len(), 1);
        assert!(req[0].contains("ROOT"), "{}", req[0]);
        for j in 1..=4 {
            assert!(!req[0].contains(&format!("BRANCH-{j}")), "b{i} saw b{j}");
        }
    }
    // The join ran once, after every branch, and saw all four answers.
    let join = requests_of(&server, "join");
    assert_eq!(join.len(), 1);
    for j in 1..=4 {
        assert!(join[0].contains(&format!("BRANCH-{j}")));
    }
    assert_eq!(r.stop_reason.as_deref(), Some(DIGRAPH_STOP_MESSAGE));
}

/// a → (b, c); c → c2; b and c2 → d. `all`: d waits for the slower path; `any`: d runs after
/// b and again after c2 (its `any` latch is re-armed when it runs, as in AutoGen).
async fn join_run(activation: Activation, sizes: &[usize]) -> Vec<Vec<String>> {
    let server = scripted(
        ["a", "b", "c", "c2", "d"]
            .iter()
            .map(|n| agent_steps(n, &[&n.to_uppercase()]))
            .collect(),
    )
    .await;
    let into_d = |edge: DiGraphEdge| edge.activation_condition(activation);
    let b = builder(&server, &["a", "b", "c", "c2", "d"])
        .add_edge("a", "b")
        .add_edge("a", "c")
        .add_edge("c", "c2")
        .add_edge_with("b", into_d(DiGraphEdge::to("d")))
        .add_edge_with("c2", into_d(DiGraphEdge::to("d")));
    let team = flow(&b).build().unwrap();
    let r = go(&team, "go".into()).await;
    assert_eq!(r.stop_reason.as_deref(), Some(DIGRAPH_STOP_MESSAGE));
    turns(&r.messages, sizes)
}

#[tokio::test]
async fn join_all_waits_for_every_parent() {
    assert_eq!(
        join_run(Activation::All, &[1, 1, 2, 1, 1]).await,
        [
            vec!["user"],
            vec!["a"],
            vec!["b", "c"],
            vec!["c2"],
            vec!["d"]
        ]
    );
}

#[tokio::test]
async fn any_activation_runs_on_the_first_parent() {
    assert_eq!(
        join_run(Activation::Any, &[1, 1, 2, 2, 1]).await,
        [
            vec!["user"],
            vec!["a"],
            vec!["b", "c"],
            vec!["c2", "d"],
            vec!["d"]
        ]
    );
}

#[tokio::test]
async fn activation_groups_separate_entry_from_loop_back() {
    let rules = vec![
        agent_steps("a", &["A"]),
        agent_steps("b", &["loop", "exit"]),
        agent_steps("c1", &["C1"]),
        agent_steps("c2", &["C2"]),
        agent_steps("e", &["E"]),
    ];
    let build = |server: &ScriptedServer, grouped: bool| {
        let back = |e: DiGraphEdge| {
            if grouped {
                e.activation_group("loop_back")
                    .activation_condition(Activation::Any)
            } else {
                e
            }
        };
        builder(server, &["a", "b", "c1", "c2", "e"])
            .add_edge("a", "b")
            .add_edge_if("b", "c1", "loop")
            .add_edge_if("b", "c2", "loop")
            .add_edge_if("b", "e", "exit")
            .add_edge_with("c1", back(DiGraphEdge::to("b")))
            .add_edge_with("c2", back(DiGraphEdge::to("b")))
            .set_entry_point("a")
    };
    let server = scripted(rules.clone()).await;
    let team = flow(&build(&server, true)).max_turns(10).build().unwrap();
    let r = go(&team, "go".into()).await;
    assert_eq!(
        turns(&r.messages, &[1, 1, 1, 2, 1, 1]),
        [
            vec!["user"],
            vec!["a"],
            vec!["b"],
            vec!["c1", "c2"],
            vec!["b"],
            vec!["e"]
        ]
    );
    // Without groups, b's three parents form one `all` group: a alone never activates b.
    let server = scripted(rules).await;
    let team = flow(&build(&server, false)).max_turns(10).build().unwrap();
    run_expect(&team, "go", &["user", "a"], Some(DIGRAPH_STOP_MESSAGE)).await;
}

#[tokio::test]
async fn string_conditions_pick_a_branch() {
    let server = scripted(vec![
        agent_steps("judge", &["the answer is no", "yes indeed"]),
        agent_steps("yes", &["Y"]),
        agent_steps("no", &["N"]),
    ])
    .await;
    let b = builder(&server, &["judge", "yes", "no"])
        .add_edge_if("judge", "yes", "yes")
        .add_edge_if("judge", "no", "no");
    let team = flow(&b).build().unwrap();
    assert_eq!(
        sources(&go(&team, "go".into()).await.messages),
        ["user", "judge", "no"]
    );
    assert_eq!(
        sources(&go(&team, "go".into()).await.messages),
        ["user", "judge", "yes"]
    );
}

#[tokio::test]
async fn predicate_conditions_pick_a_branch() {
    let server = scripted(vec![
        agent_steps("count", &["7", "12"]),
        agent_steps("small", &["S"]),
        agent_steps("big", &["B"]),
    ])
    .await;
    let number = |m: &toolyard::messages::ChatMessage| m.to_text().trim().parse::<i64>().ok();
    let b = builder(&server, &["count", "small", "big"])
        .add_edge_when("count", "small", move |m| number(m).is_some_and(|n| n < 10))
        .add_edge_when("count", "big", move |m| number(m).is_some_and(|n| n >= 10));
    let team = flow(&b).build().unwrap();
    assert_eq!(
        sources(&go(&team, "go".into()).await.messages),
        ["user", "count", "small"]
    );
    assert_eq!(
        sources(&go(&team, "go".into()).await.messages),
        ["user", "count", "big"]
    );
    // Predicates are code: the team has no component config, as in AutoGen.
    assert!(matches!(
        team.dump_component(),
        Err(ComponentError::NotSerialisable { .. })
    ));
}

#[tokio::test]
async fn loop_runs_until_the_exit_condition() {
    let server = scripted(vec![
        agent_steps("writer", &["draft 1", "draft 2", "draft 3"]),
        agent_steps("critic", &["REVISE", "REVISE", "APPROVE"]),
        agent_steps("publisher", &["published"]),
    ])
    .await;
    let b = review_loop(&server);
    let team = flow(&b).max_turns(20).build().unwrap();
    run_expect(
        &team,
        "go",
        &[
            "user",
            "writer",
            "critic",
            "writer",
            "critic",
            "writer",
            "critic",
            "publisher",
        ],
        Some(DIGRAPH_STOP_MESSAGE),
    )
    .await;
}

#[tokio::test]
async fn max_turns_stops_mid_graph_and_resume_continues() {
    let (_server, b) = chain(&[("a", "A"), ("b", "B"), ("c", "C"), ("d", "D")]).await;
    let team = flow(&b).max_turns(2).build().unwrap();
    run_expect(
        &team,
        "go",
        &["user", "a", "b"],
        Some("Maximum number of turns 2 reached."),
    )
    .await;
    // The graph's own completion comes before the turn limit (AutoGen checks it first).
    run_expect(&team, Task::None, &["c", "d"], Some(DIGRAPH_STOP_MESSAGE)).await;
}

#[tokio::test]
async fn termination_mid_graph_keeps_the_place_and_completion_wins_at_the_end() {
    let (_server, b) = chain(&[("a", "A"), ("b", "B STOP"), ("c", "C STOP")]).await;
    let team = flow(&b)
        .termination(TextMentionTermination::new("STOP"))
        .build()
        .unwrap();
    run_expect(
        &team,
        "go",
        &["user", "a", "b"],
        Some("Text 'STOP' mentioned"),
    )
    .await;
    // c is still ready; its STOP arrives as the graph completes, and completion is reported.
    run_expect(&team, Task::None, &["c"], Some(DIGRAPH_STOP_MESSAGE)).await;
}

#[tokio::test]
async fn reset_starts_the_graph_over() {
    let (_server, b) = chain(&[("a", "A"), ("b", "B"), ("c", "C")]).await;
    let team = flow(&b).max_turns(1).build().unwrap();
    assert_eq!(
        sources(&go(&team, "go".into()).await.messages),
        ["user", "a"]
    );
    team.reset().await.unwrap();
    assert_eq!(
        sources(&go(&team, "go".into()).await.messages),
        ["user", "a"]
    );
    assert_eq!(sources(&go(&team, Task::None).await.messages), ["b"]);
}

#[tokio::test]
async fn save_load_continue() {
    let rules = vec![
        agent_steps("writer", &["draft"]),
        agent_steps("critic", &["REVISE", "APPROVE"]),
        agent_steps("publisher", &["published"]),
    ];
    let graph = |server: &ScriptedServer| {
        builder(server, &["writer", "critic", "publisher"])
            .add_edge("writer", "critic")
            .add_edge_if("critic", "writer", "REVISE")
            .add_edge_if("critic", "publisher", "APPROVE")
            .set_entry_point("writer")
    };
    let server = scripted(rules.clone()).await;
    let first = flow(&graph(&server)).max_turns(3).build().unwrap();
    let r = go(&first, "go".into()).await;
    assert_eq!(sources(&r.messages), ["user", "writer", "critic", "writer"]);
    let state = first.save_state().await.unwrap();
    let manager = &state["agent_states"]["GraphManager"];
    assert_eq!(manager["ready"], json!(["critic"]));
    assert_eq!(manager["remaining"]["critic"]["critic"], 0);
    assert_eq!(manager["remaining"]["writer"]["writer"], 1);
    assert_eq!(manager["enqueued_any"]["critic"]["critic"], false);
    assert_eq!(manager["message_thread"].as_array().unwrap().len(), 4);

    // A fresh team (fresh agents, a fresh server whose critic now approves) continues.
    let server = scripted(vec![
        agent_steps("writer", &["draft"]),
        agent_steps("critic", &["APPROVE"]),
        agent_steps("publisher", &["published"]),
    ])
    .await;
    let second = flow(&graph(&server)).max_turns(3).build().unwrap();
    second.load_state(&state).await.unwrap();
    let r = go(&second, Task::None).await;
    assert_eq!(sources(&r.messages), ["critic", "publisher"]);
    assert_eq!(r.stop_reason.as_deref(), Some(DIGRAPH_STOP_MESSAGE));
    // The critic's model saw the conversation from before the save.
    let critic = requests_of(&server, "critic");
    assert!(critic[0].contains("draft") && critic[0].contains("REVISE"));
    // The loop edge was re-armed on load: a second round trip works after the resume.
    let r = go(&second, "again".into()).await;
    assert_eq!(
        sources(&r.messages),
        ["user", "writer", "critic", "publisher"]
    );
}

#[tokio::test]
async fn validation_errors_name_the_problem() {
    let server = scripted(vec![]).await;
    let names = ["a", "b", "c"];
    // No entry point: every node has a parent.
    let err = builder(&server, &names)
        .add_edge_if("a", "b", "x")
        .add_edge("b", "a")
        .add_edge_if("a", "c", "y")
        .build()
        .unwrap_err();
    assert_eq!(err, GraphError::NoStartNode);
    // A cycle with no conditional edge.
    let err = builder(&server, &names)
        .add_edge("a", "b")
        .add_edge("b", "c")
        .add_edge("c", "b")
        .set_entry_point("a")
        .build()
        .unwrap_err();
    assert_eq!(err, GraphError::NoLeafNode);
    let err = builder(&server, &["a", "b", "c", "d"])
        .add_edge("a", "b")
        .add_edge("b", "c")
        .add_edge("c", "b")
        .add_edge_if("a", "d", "x")
        .build()
        .unwrap_err();
    assert_eq!(err, GraphError::MixedConditions { node: "a".into() });
    let err = builder(&server, &["a", "b", "c", "d"])
        .add_edge("a", "b")
        .add_edge("b", "c")
        .add_edge("c", "b")
        .add_edge("a", "d")
        .build()
        .unwrap_err();
    assert_eq!(
        err,
        GraphError::CycleWithoutExit {
            cycle: "b -> c -> b".into()
        }
    );
    assert!(err.to_string().contains("without exit condition"));
    // Unknown nodes.
    let err = builder(&server, &names)
        .add_edge("a", "zed")
        .build()
        .unwrap_err();
    assert_eq!(
        err,
        GraphError::UnknownTarget {
            node: "zed".into(),
            source_node: "a".into()
        }
    );
    let err = builder(&server, &names)
        .set_entry_point("zed")
        .build()
        .unwrap_err();
    assert_eq!(err, GraphError::UnknownEntryPoint { node: "zed".into() });
    // Edges into one group must agree on all / any.
    let err = builder(&server, &names)
        .add_edge("a", "c")
        .add_edge_with(
            "b",
            DiGraphEdge::to("c").activation_condition(Activation::Any),
        )
        .build()
        .unwrap_err();
    assert!(
        matches!(err, GraphError::ConflictingActivation { ref target, ref first_source, ref second_source, .. }
        if target == "c" && first_source == "a" && second_source == "b")
    );
    assert!(DiGraph::new(vec![], None).is_err());
    // A loop needs a way to stop besides its exit condition.
    let b = builder(&server, &names)
        .add_edge("a", "b")
        .add_edge_if("b", "a", "again")
        .add_edge_if("b", "c", "done")
        .set_entry_point("a");
    let err = flow(&b).build().err().unwrap();
    assert!(
        err.to_string()
            .contains("A termination condition is required for cyclic graphs"),
        "{err}"
    );
    assert!(flow(&b).max_turns(5).build().is_ok());
    // Every node must be a participant.
    let graph = builder(&server, &names).add_edge("a", "b").build().unwrap();
    let err = GroupChat::graph(vec![agent(&server, "a"), agent(&server, "b")], graph)
        .build()
        .err()
        .unwrap();
    assert!(matches!(err, TeamError::Config { .. }), "{err}");
}

#[tokio::test]
async fn component_config_round_trip() {
    let server = scripted(vec![
        agent_steps("writer", &["draft"]),
        agent_steps("critic", &["REVISE", "APPROVE"]),
        agent_steps("publisher", &["published"]),
    ])
    .await;
    let b = review_loop(&server);
    let original = flow(&b).max_turns(9).build().unwrap();
    let dumped = original.dump_component().unwrap();
    let v = serde_json::to_value(&dumped).unwrap();
    assert_eq!(v["provider"], "autogen_agentchat.teams.GraphFlow");
    assert!(v["config"].get("emit_team_events").is_none());
    let graph = &v["config"]["graph"];
    assert_eq!(graph["default_start_node"], "writer");
    assert_eq!(
        graph["nodes"]["critic"]["edges"][0],
        json!({"target": "writer", "condition": "REVISE", "activation_group": "writer",
               "activation_condition": "all"})
    );
    let loaded = load_team(&dumped, &LoadOptions::default()).unwrap();
    assert_eq!(loaded.max_turns(), Some(9));
    let r = go(&loaded, "go".into()).await;
    assert_eq!(
        sources(&r.messages),
        ["user", "writer", "critic", "writer", "critic", "publisher"]
    );
}

#[tokio::test]
async fn message_filter_agent_hands_on_only_the_chosen_messages() {
    use toolyard::agents::load_agent;
    use toolyard::agents::message_filter::{
        MessageFilterAgent, MessageFilterConfig, PerSourceFilter,
    };
    use toolyard::messages::ChatMessage;

    let config = MessageFilterConfig::new(vec![
        PerSourceFilter::first("user", 1),
        PerSourceFilter::last("b", 2),
        PerSourceFilter::all("c"),
    ]);
    let msgs: Vec<ChatMessage> = [
        ("user", "u1"),
        ("b", "b1"),
        ("user", "u2"),
        ("c", "c1"),
        ("b", "b2"),
        ("a", "a1"),
        ("b", "b3"),
        ("c", "c2"),
    ]
    .iter()
    .map(|(s, t)| ChatMessage::text(*s, *t))
    .collect();
    let kept: Vec<String> = config.apply(&msgs).iter().map(|m| m.to_text()).collect();
    assert_eq!(kept, ["u1", "b2", "b3", "c1", "c2"]);

    let server = scripted(vec![
        agent_steps("a", &["ALPHA-TEXT"]),
        agent_steps("b", &["BRAVO-TEXT"]),
        agent_steps("c", &["CHARLIE"]),
    ])
    .await;
    let c: Arc<dyn ChatAgent> = Arc::new(MessageFilterAgent::new(
        "c",
        agent(&server, "c"),
        MessageFilterConfig::new(vec![
            PerSourceFilter::first("user", 1),
            PerSourceFilter::last("b", 1),
        ]),
    ));
    let graph = builder(&server, &["a", "b"])
        .add_node(Arc::clone(&c))
        .add_edge("a", "b")
        .add_edge("b", "c");
    let team = flow(&graph).build().unwrap();
    let r = go(&team, "the-task".into()).await;
    assert_eq!(sources(&r.messages), ["user", "a", "b", "c"]);
    let seen = requests_of(&server, "c");
    assert_eq!(seen.len(), 1);
    assert!(seen[0].contains("the-task") && seen[0].contains("BRAVO-TEXT"));
    assert!(!seen[0].contains("ALPHA-TEXT"), "{}", seen[0]);
    // Its component config is AutoGen's and loads back through load_agent.
    let dumped = serde_json::to_value(c.dump_component().unwrap()).unwrap();
    assert_eq!(
        dumped["provider"],
        "autogen_agentchat.agents.MessageFilterAgent"
    );
    assert_eq!(
        dumped["config"]["filter"],
        json!({"per_source": [{"source": "user", "position": "first", "count": 1},
                              {"source": "b", "position": "last", "count": 1}]})
    );
    assert_eq!(
        dumped["config"]["wrapped_agent"]["provider"],
        "autogen_agentchat.agents.AssistantAgent"
    );
    let model = serde_json::from_value(dumped).unwrap();
    let loaded = load_agent(&model, &LoadOptions::default()).unwrap();
    assert_eq!(loaded.name(), "c");
    assert!(loaded.description().ends_with("(with message filtering)"));
}

#[tokio::test]
async fn a_cancelled_turn_runs_again_on_resume() {
    let slow_then_fast = json!({"when": {"system_contains": "agent b."}, "steps": [
        {"kind": "text", "text": "B-slow", "delay_ms": 30000},
        {"kind": "text", "text": "B"}]});
    let server = scripted(vec![
        agent_steps("a", &["A"]),
        slow_then_fast,
        agent_steps("c", &["C"]),
    ])
    .await;
    let b = builder(&server, &["a", "b", "c"])
        .add_edge("a", "b")
        .add_edge("b", "c");
    let team = flow(&b).build().unwrap();
    let cancel = CancellationToken::new();
    // Cancel once b's model request has arrived (a readiness wait, not a timing assertion).
    let watcher = async {
        while server.request_count() < 2 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        cancel.cancel();
    };
    let (result, ()) = tokio::join!(team.run("go".into(), cancel.clone()), watcher);
    assert!(matches!(result, Err(TeamError::Cancelled { .. })));
    // The interrupted node is still to run: in the saved state and on resume.
    let state = team.save_state().await.unwrap();
    assert_eq!(state["agent_states"]["GraphManager"]["ready"], json!(["b"]));
    run_expect(&team, Task::None, &["b", "c"], Some(DIGRAPH_STOP_MESSAGE)).await;
}

#[tokio::test]
async fn concurrent_answers_are_recorded_as_they_arrive() {
    // As AutoGen's manager does: the slow branch (listed first) is recorded after the fast one,
    // in the result, in the saved thread and in what the join is given.
    let server = scripted(vec![
        agent_steps("root", &["ROOT"]),
        agent_says_after("slow", "SLOW", 1000),
        agent_steps("fast", &["FAST"]),
        agent_steps("join", &["J"]),
    ])
    .await;
    let b = builder(&server, &["root", "slow", "fast", "join"])
        .add_edge("root", "slow")
        .add_edge("root", "fast")
        .add_edge("slow", "join")
        .add_edge("fast", "join");
    let team = flow(&b).build().unwrap();
    let r = go(&team, "go".into()).await;
    assert_eq!(
        sources(&r.messages),
        ["user", "root", "fast", "slow", "join"]
    );
    let state = team.save_state().await.unwrap();
    let thread: Vec<&str> = state["agent_states"]["GraphManager"]["message_thread"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["source"].as_str().unwrap())
        .collect();
    assert_eq!(thread, ["user", "root", "fast", "slow", "join"]);
    let join = &requests_of(&server, "join")[0];
    assert!(join.find("FAST").unwrap() < join.find("SLOW").unwrap());
}
