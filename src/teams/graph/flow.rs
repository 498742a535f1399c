//! `GraphFlow`: the speaker policy that runs a `DiGraph` (AutoGen's `GraphFlowManager`): a
//! ready queue drained each turn (all ready nodes run concurrently), per-target activation
//! groups counted down (`all`) or latched (`any`), re-armed when the node runs again, and a stop
//! with "Digraph execution is complete" when nothing is ready.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use super::digraph::{Activation, DiGraph};
use crate::agents::ChatAgent;
use crate::component::ComponentError;
use crate::messages::AgentMessage;
use crate::teams::group_chat::{
    GroupChat, GroupChatBuilder, PolicyContext, Selection, SpeakerPolicy,
};

/// AutoGen's stop reason when the graph has run to completion.
pub const DIGRAPH_STOP_MESSAGE: &str = "Digraph execution is complete";

type Counts = BTreeMap<String, BTreeMap<String, i64>>;
type Flags = BTreeMap<String, BTreeMap<String, bool>>;

/// The graph policy: the graph plus its execution state.
#[derive(Debug, Clone)]
pub struct GraphFlow {
    graph: Arc<DiGraph>,
    activation: BTreeMap<String, BTreeMap<String, Activation>>,
    origin_remaining: Counts,
    /// Edges still to fire, per target and `all` group.
    remaining: Counts,
    /// Whether an `any` group has already enqueued its target.
    enqueued_any: Flags,
    /// Nodes to run at the next turn, in order.
    ready: VecDeque<String>,
    /// Groups that enqueued each node since it last ran.
    triggered: BTreeMap<String, BTreeSet<String>>,
    /// The nodes of a turn that has not completed (cancelled or failed): they run again.
    running: Vec<String>,
}

impl GraphFlow {
    /// A policy running `graph` from its start nodes.
    pub fn new(graph: DiGraph) -> Self {
        let remaining = graph.remaining_map();
        let activation = graph.activation_map();
        let enqueued_any = flags(&activation);
        let ready = graph.start_nodes().into();
        Self {
            graph: Arc::new(graph),
            activation,
            origin_remaining: remaining.clone(),
            remaining,
            enqueued_any,
            ready,
            triggered: BTreeMap::new(),
            running: Vec::new(),
        }
    }

    /// The graph.
    pub fn graph(&self) -> &DiGraph {
        &self.graph
    }

    /// The nodes that run at the next turn.
    pub fn ready(&self) -> Vec<String> {
        self.ready.iter().cloned().collect()
    }

    /// Back to the start nodes with every group re-armed.
    fn reset_execution(&mut self) {
        self.remaining = self.origin_remaining.clone();
        self.enqueued_any = flags(&self.activation);
        self.ready = self.graph.start_nodes().into();
        self.triggered.clear();
        self.running.clear();
    }

    fn enqueue(&mut self, target: &str, group: &str) {
        self.ready.push_back(target.to_string());
        self.triggered
            .entry(target.to_string())
            .or_default()
            .insert(group.to_string());
    }

    /// Re-arms the groups that enqueued `speaker`, as it is about to run.
    fn rearm(&mut self, speaker: &str) {
        let Some(groups) = self.triggered.remove(speaker) else {
            return;
        };
        for group in groups {
            match self.activation_of(speaker, &group) {
                Some(Activation::Any) => {
                    if let Some(f) = self
                        .enqueued_any
                        .get_mut(speaker)
                        .and_then(|g| g.get_mut(&group))
                    {
                        *f = false;
                    }
                }
                Some(Activation::All) => {
                    let origin = self
                        .origin_remaining
                        .get(speaker)
                        .and_then(|g| g.get(&group))
                        .copied();
                    if let (Some(origin), Some(r)) = (
                        origin,
                        self.remaining
                            .get_mut(speaker)
                            .and_then(|g| g.get_mut(&group)),
                    ) {
                        *r = origin;
                    }
                }
                None => {}
            }
        }
    }

    fn activation_of(&self, target: &str, group: &str) -> Option<Activation> {
        self.activation.get(target)?.get(group).copied()
    }
}

fn flags(activation: &BTreeMap<String, BTreeMap<String, Activation>>) -> Flags {
    activation
        .iter()
        .map(|(t, groups)| {
            (
                t.clone(),
                groups.keys().map(|g| (g.clone(), false)).collect(),
            )
        })
        .collect()
}

impl GroupChat {
    /// A `GraphFlow` team running `graph` over these participants (every node must be one).
    pub fn graph(participants: Vec<Arc<dyn ChatAgent>>, graph: DiGraph) -> GroupChatBuilder {
        GroupChat::builder(participants, GraphFlow::new(graph)).description("A team of agents")
    }
}

#[async_trait]
impl SpeakerPolicy for GraphFlow {
    fn team_type(&self) -> &'static str {
        "GraphFlow"
    }

    fn manager_name(&self) -> &'static str {
        "GraphManager"
    }

    fn state_type(&self) -> &'static str {
        "GraphManagerState"
    }

    fn check(&self, names: &[String]) -> Result<(), String> {
        for node in self.graph.nodes() {
            if !names.contains(&node.name) {
                return Err(format!(
                    "graph node `{}` is not a participant (participants: {names:?})",
                    node.name
                ));
            }
        }
        Ok(())
    }

    fn check_limits(&self, has_termination: bool, has_max_turns: bool) -> Result<(), String> {
        if self.graph.has_cycles() && !has_termination && !has_max_turns {
            return Err(
                "A termination condition is required for cyclic graphs without a \
                        maximum turn limit."
                    .into(),
            );
        }
        Ok(())
    }

    /// AutoGen's `update_message_thread`: the last message of a response, when it comes from a
    /// node, fires that node's edges whose condition holds.
    fn observe(&mut self, messages: &[AgentMessage]) {
        let Some(AgentMessage::Chat(message)) = messages.last() else {
            return;
        };
        let graph = Arc::clone(&self.graph);
        let Some(node) = graph.node(message.source()) else {
            return;
        };
        for edge in &node.edges {
            if !edge.condition.holds(message) {
                continue;
            }
            let (target, group) = (edge.target.as_str(), edge.activation_group.as_str());
            match self.activation_of(target, group) {
                Some(Activation::All) => {
                    let left = self
                        .remaining
                        .get_mut(target)
                        .and_then(|g| g.get_mut(group));
                    if let Some(left) = left {
                        *left -= 1;
                        if *left == 0 {
                            self.enqueue(target, group);
                        }
                    }
                }
                Some(Activation::Any) => {
                    let flag = self
                        .enqueued_any
                        .get_mut(target)
                        .and_then(|g| g.get_mut(group));
                    if let Some(flag) = flag
                        && !*flag
                    {
                        *flag = true;
                        self.enqueue(target, group);
                    }
                }
                None => {}
            }
        }
    }

    fn finished(&mut self, after_turn: bool) -> Option<String> {
        if after_turn {
            self.running.clear();
        }
        if self.ready.is_empty() && self.running.is_empty() {
            self.reset_execution();
            return Some(DIGRAPH_STOP_MESSAGE.into());
        }
        None
    }

    async fn select(
        &mut self,
        _ctx: &PolicyContext<'_>,
        _cancel: &CancellationToken,
    ) -> Result<Selection, String> {
        // A turn that never completed (cancelled, or a participant failed) runs again first.
        let mut speakers: Vec<String> = std::mem::take(&mut self.running);
        while let Some(speaker) = self.ready.pop_front() {
            self.rearm(&speaker);
            if !speakers.contains(&speaker) {
                speakers.push(speaker);
            }
        }
        if speakers.is_empty() {
            self.reset_execution();
            return Ok(Selection::stop(DIGRAPH_STOP_MESSAGE));
        }
        self.running = speakers.clone();
        Ok(Selection {
            speakers,
            ..Selection::default()
        })
    }

    fn reset(&mut self) {
        self.reset_execution();
    }

    fn save_state(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("remaining".into(), json!(self.remaining));
        m.insert("enqueued_any".into(), json!(self.enqueued_any));
        // Nodes of an interrupted turn are saved as ready: they have not run yet.
        let ready: Vec<&String> = self.running.iter().chain(&self.ready).collect();
        m.insert("ready".into(), json!(ready));
        m
    }

    fn load_state(&mut self, state: &Map<String, Value>) -> Result<(), String> {
        let field = |name: &str| state.get(name).cloned().unwrap_or(Value::Null);
        let remaining: Counts = match field("remaining") {
            Value::Null => self.origin_remaining.clone(),
            v => serde_json::from_value(v).map_err(|e| format!("remaining: {e}"))?,
        };
        let enqueued_any: Flags = match field("enqueued_any") {
            Value::Null => flags(&self.activation),
            v => serde_json::from_value(v).map_err(|e| format!("enqueued_any: {e}"))?,
        };
        let ready: VecDeque<String> = match field("ready") {
            Value::Null => self.graph.start_nodes().into(),
            v => serde_json::from_value(v).map_err(|e| format!("ready: {e}"))?,
        };
        if let Some(unknown) = ready.iter().find(|n| self.graph.node(n).is_none()) {
            return Err(format!("ready node `{unknown}` is not in the graph"));
        }
        self.remaining = remaining;
        self.enqueued_any = enqueued_any;
        self.ready = ready;
        self.running.clear();
        // AutoGen does not save which groups enqueued the ready nodes; they are the groups of
        // those nodes that are spent (`all` at zero, `any` latched).
        self.triggered.clear();
        for node in self.ready.clone() {
            let groups: BTreeSet<String> = self
                .activation
                .get(&node)
                .into_iter()
                .flatten()
                .filter(|(group, activation)| match activation {
                    Activation::All => self
                        .remaining
                        .get(&node)
                        .and_then(|g| g.get(*group))
                        .is_some_and(|n| *n <= 0),
                    Activation::Any => self
                        .enqueued_any
                        .get(&node)
                        .and_then(|g| g.get(*group))
                        .copied()
                        .unwrap_or(false),
                })
                .map(|(group, _)| group.clone())
                .collect();
            if !groups.is_empty() {
                self.triggered.insert(node, groups);
            }
        }
        Ok(())
    }

    fn dump_config(&self) -> Result<Map<String, Value>, ComponentError> {
        let graph = self
            .graph
            .to_json()
            .map_err(|reason| ComponentError::NotSerialisable {
                what: "GraphFlow".into(),
                reason,
            })?;
        let mut m = Map::new();
        m.insert("graph".into(), graph);
        // AutoGen's GraphFlowConfig has no `emit_team_events`; a null field is left out.
        m.insert("emit_team_events".into(), Value::Null);
        Ok(m)
    }
}
