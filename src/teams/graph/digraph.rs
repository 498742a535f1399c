//! `DiGraph`: the nodes and edges GraphFlow runs (AutoGen's `DiGraph`, `DiGraphNode`,
//! `DiGraphEdge`), their validation rules and their JSON shape.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::messages::ChatMessage;

/// A Rust predicate on the source node's last chat message.
pub type EdgePredicate = Arc<dyn Fn(&ChatMessage) -> bool + Send + Sync>;

/// How a node (or an activation group) is activated by its parents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// Every parent edge of the group must have fired.
    #[default]
    All,
    /// The first parent edge of the group to fire activates the target.
    Any,
}

impl Activation {
    fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Any => "any",
        }
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When an edge fires.
#[derive(Clone, Default)]
pub enum EdgeCondition {
    /// Always.
    #[default]
    Always,
    /// When the source's last message text contains this string.
    Contains(String),
    /// When the predicate returns true for the source's last message (not serialisable).
    Predicate(EdgePredicate),
}

impl fmt::Debug for EdgeCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Always => f.write_str("Always"),
            Self::Contains(s) => f.debug_tuple("Contains").field(s).finish(),
            Self::Predicate(_) => f.write_str("Predicate(..)"),
        }
    }
}

impl EdgeCondition {
    /// Whether the edge has a condition (string or predicate).
    pub fn is_conditional(&self) -> bool {
        !matches!(self, Self::Always)
    }

    /// AutoGen's `check_condition`: a string must occur in the message's model text.
    pub fn holds(&self, message: &ChatMessage) -> bool {
        match self {
            Self::Always => true,
            Self::Contains(s) => message.to_model_text().contains(s.as_str()),
            Self::Predicate(p) => p(message),
        }
    }
}

/// An edge to `target` (AutoGen `DiGraphEdge`).
#[derive(Debug, Clone)]
pub struct DiGraphEdge {
    /// The target node.
    pub target: String,
    /// When the edge fires.
    pub condition: EdgeCondition,
    /// The group of edges into `target` that activate it together (defaults to the target).
    pub activation_group: String,
    /// How the group's edges combine.
    pub activation_condition: Activation,
}

impl DiGraphEdge {
    /// An unconditional edge to `target` in the target's default group, activation `all`.
    pub fn to(target: impl Into<String>) -> Self {
        let target = target.into();
        Self {
            activation_group: target.clone(),
            target,
            condition: EdgeCondition::Always,
            activation_condition: Activation::All,
        }
    }

    /// Fires only when the source's last message contains `text`.
    pub fn when_contains(mut self, text: impl Into<String>) -> Self {
        self.condition = EdgeCondition::Contains(text.into());
        self
    }

    /// Fires only when `predicate` holds for the source's last message.
    pub fn when(
        mut self,
        predicate: impl Fn(&ChatMessage) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.condition = EdgeCondition::Predicate(Arc::new(predicate));
        self
    }

    /// Puts the edge in an activation group of its target.
    pub fn activation_group(mut self, group: impl Into<String>) -> Self {
        self.activation_group = group.into();
        self
    }

    /// How the edges of the group combine.
    pub fn activation_condition(mut self, activation: Activation) -> Self {
        self.activation_condition = activation;
        self
    }
}

/// A node: an agent's name and its outgoing edges (AutoGen `DiGraphNode`).
#[derive(Debug, Clone)]
pub struct DiGraphNode {
    /// The participant's name.
    pub name: String,
    /// Outgoing edges, in order.
    pub edges: Vec<DiGraphEdge>,
    /// The node's activation (kept for AutoGen's config; edges' groups decide activation).
    pub activation: Activation,
}

/// Why a graph is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// The graph has no nodes.
    #[error("Graph has no nodes.")]
    Empty,
    /// Two nodes have the same name.
    #[error("duplicate node `{node}`")]
    DuplicateNode { node: String },
    /// An edge's source is not a node.
    #[error("Source node '{node}' must be added before adding an edge.")]
    UnknownSource { node: String },
    /// An edge points to a node that does not exist.
    #[error(
        "Target node '{node}' must be added before adding an edge (edge from '{source_node}')."
    )]
    UnknownTarget { node: String, source_node: String },
    /// The entry point is not a node.
    #[error("Start node '{node}' must be added before setting as entry point.")]
    UnknownEntryPoint { node: String },
    /// Every node has a parent and no entry point was set.
    #[error("Graph must have at least one start node")]
    NoStartNode,
    /// Every node has an outgoing edge.
    #[error("Graph must have at least one leaf node")]
    NoLeafNode,
    /// A node mixes conditional and unconditional outgoing edges.
    #[error("Node '{node}' has a mix of conditional and unconditional edges.")]
    MixedConditions { node: String },
    /// Edges into one activation group disagree on `all` / `any`.
    #[error(
        "Conflicting activation conditions for target '{target}' group '{group}': '{first}' (from node '{first_source}') and '{second}' (from node '{second_source}')"
    )]
    ConflictingActivation {
        target: String,
        group: String,
        first: Activation,
        first_source: String,
        second: Activation,
        second_source: String,
    },
    /// A cycle has no conditional edge, so it could never be left.
    #[error("Cycle detected without exit condition: {cycle}")]
    CycleWithoutExit { cycle: String },
    /// The graph's JSON does not have AutoGen's shape.
    #[error("bad graph config: {reason}")]
    Config { reason: String },
}

/// A validated directed graph of agents (AutoGen `DiGraph`). Build one with `DiGraphBuilder`
/// or load AutoGen's JSON with `DiGraph::from_json`.
#[derive(Debug, Clone)]
pub struct DiGraph {
    nodes: Vec<DiGraphNode>,
    default_start_node: Option<String>,
    has_cycles: bool,
}

impl DiGraph {
    /// Validates nodes and an optional entry point into a graph (AutoGen's `graph_validate`).
    pub fn new(
        nodes: Vec<DiGraphNode>,
        default_start_node: Option<String>,
    ) -> Result<Self, GraphError> {
        let mut graph = Self {
            nodes,
            default_start_node,
            has_cycles: false,
        };
        graph.has_cycles = graph.validate()?;
        Ok(graph)
    }

    /// The nodes in order.
    pub fn nodes(&self) -> &[DiGraphNode] {
        &self.nodes
    }

    /// The node named `name`.
    pub fn node(&self, name: &str) -> Option<&DiGraphNode> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// The entry point set with `set_entry_point`, if any.
    pub fn default_start_node(&self) -> Option<&str> {
        self.default_start_node.as_deref()
    }

    /// Whether the graph has a cycle (each one has a conditional exit).
    pub fn has_cycles(&self) -> bool {
        self.has_cycles
    }

    /// Where a run starts: the entry point, or every node without a parent (in node order).
    pub fn start_nodes(&self) -> Vec<String> {
        if let Some(s) = &self.default_start_node {
            return vec![s.clone()];
        }
        let targets: HashSet<&str> = self
            .nodes
            .iter()
            .flat_map(|n| n.edges.iter().map(|e| e.target.as_str()))
            .collect();
        self.nodes
            .iter()
            .filter(|n| !targets.contains(n.name.as_str()))
            .map(|n| n.name.clone())
            .collect()
    }

    /// For each target, how many edges point into each of its activation groups.
    pub fn remaining_map(&self) -> BTreeMap<String, BTreeMap<String, i64>> {
        let mut map: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
        for e in self.nodes.iter().flat_map(|n| &n.edges) {
            *map.entry(e.target.clone())
                .or_default()
                .entry(e.activation_group.clone())
                .or_default() += 1;
        }
        map
    }

    /// For each target and activation group, its activation (the first edge's, as in AutoGen).
    pub fn activation_map(&self) -> BTreeMap<String, BTreeMap<String, Activation>> {
        let mut map: BTreeMap<String, BTreeMap<String, Activation>> = BTreeMap::new();
        for e in self.nodes.iter().flat_map(|n| &n.edges) {
            map.entry(e.target.clone())
                .or_default()
                .entry(e.activation_group.clone())
                .or_insert(e.activation_condition);
        }
        map
    }

    /// Checks AutoGen's rules; returns whether the graph has cycles.
    fn validate(&self) -> Result<bool, GraphError> {
        if self.nodes.is_empty() {
            return Err(GraphError::Empty);
        }
        let mut names = HashSet::new();
        for n in &self.nodes {
            if !names.insert(n.name.as_str()) {
                return Err(GraphError::DuplicateNode {
                    node: n.name.clone(),
                });
            }
        }
        for n in &self.nodes {
            for e in &n.edges {
                if !names.contains(e.target.as_str()) {
                    return Err(GraphError::UnknownTarget {
                        node: e.target.clone(),
                        source_node: n.name.clone(),
                    });
                }
            }
        }
        if let Some(s) = &self.default_start_node
            && !names.contains(s.as_str())
        {
            return Err(GraphError::UnknownEntryPoint { node: s.clone() });
        }
        if self.start_nodes().is_empty() {
            return Err(GraphError::NoStartNode);
        }
        if self.nodes.iter().all(|n| !n.edges.is_empty()) {
            return Err(GraphError::NoLeafNode);
        }
        for n in &self.nodes {
            let conditional = n.edges.iter().any(|e| e.condition.is_conditional());
            let unconditional = n.edges.iter().any(|e| !e.condition.is_conditional());
            if conditional && unconditional {
                return Err(GraphError::MixedConditions {
                    node: n.name.clone(),
                });
            }
        }
        self.check_activation_groups()?;
        self.check_cycles()
    }

    fn check_activation_groups(&self) -> Result<(), GraphError> {
        let mut seen: HashMap<(&str, &str), (Activation, &str)> = HashMap::new();
        for n in &self.nodes {
            for e in &n.edges {
                let key = (e.target.as_str(), e.activation_group.as_str());
                match seen.get(&key) {
                    Some((first, first_source)) if *first != e.activation_condition => {
                        return Err(GraphError::ConflictingActivation {
                            target: e.target.clone(),
                            group: e.activation_group.clone(),
                            first: *first,
                            first_source: first_source.to_string(),
                            second: e.activation_condition,
                            second_source: n.name.clone(),
                        });
                    }
                    Some(_) => {}
                    None => {
                        seen.insert(key, (e.activation_condition, n.name.as_str()));
                    }
                }
            }
        }
        Ok(())
    }

    /// AutoGen's `has_cycles_with_exit`: a depth-first search in node order; every cycle found
    /// must contain a conditional edge among its nodes' outgoing edges.
    fn check_cycles(&self) -> Result<bool, GraphError> {
        let index: HashMap<&str, usize> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.as_str(), i))
            .collect();
        let mut visited = vec![false; self.nodes.len()];
        let mut on_stack = vec![false; self.nodes.len()];
        let mut any = false;
        for start in 0..self.nodes.len() {
            if visited[start] {
                continue;
            }
            // Iterative DFS: (node, next edge to look at).
            let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
            visited[start] = true;
            on_stack[start] = true;
            while let Some((node, edge_i)) = stack.last().copied() {
                let edges = &self.nodes[node].edges;
                let Some(edge) = edges.get(edge_i) else {
                    on_stack[node] = false;
                    stack.pop();
                    continue;
                };
                if let Some(top) = stack.last_mut() {
                    top.1 += 1;
                }
                let Some(&target) = index.get(edge.target.as_str()) else {
                    continue;
                };
                if !visited[target] {
                    visited[target] = true;
                    on_stack[target] = true;
                    stack.push((target, 0));
                } else if on_stack[target] {
                    let from = stack.iter().position(|(n, _)| *n == target).unwrap_or(0);
                    let cycle: Vec<usize> = stack[from..].iter().map(|(n, _)| *n).collect();
                    let exit = cycle
                        .iter()
                        .flat_map(|&n| &self.nodes[n].edges)
                        .any(|e| e.condition.is_conditional());
                    if !exit {
                        let mut names: Vec<&str> =
                            cycle.iter().map(|&n| self.nodes[n].name.as_str()).collect();
                        names.push(self.nodes[target].name.as_str());
                        return Err(GraphError::CycleWithoutExit {
                            cycle: names.join(" -> "),
                        });
                    }
                    any = true;
                }
            }
        }
        Ok(any)
    }

    /// AutoGen's JSON of the graph (`nodes` by name, `default_start_node`). Fails on a
    /// predicate condition, which AutoGen cannot serialise either.
    pub fn to_json(&self) -> Result<Value, String> {
        let mut nodes = Map::new();
        for n in &self.nodes {
            let mut edges = Vec::with_capacity(n.edges.len());
            for e in &n.edges {
                let condition = match &e.condition {
                    EdgeCondition::Always => None,
                    EdgeCondition::Contains(s) => Some(s.clone()),
                    EdgeCondition::Predicate(_) => {
                        return Err(format!(
                            "the edge {} -> {} has a predicate condition, which cannot be serialised",
                            n.name, e.target
                        ));
                    }
                };
                edges.push(WireEdge {
                    target: e.target.clone(),
                    condition,
                    activation_group: Some(e.activation_group.clone()),
                    activation_condition: e.activation_condition,
                });
            }
            let node = WireNode {
                name: n.name.clone(),
                edges,
                activation: n.activation,
            };
            nodes.insert(
                n.name.clone(),
                serde_json::to_value(node).map_err(|e| e.to_string())?,
            );
        }
        let mut graph = Map::new();
        graph.insert("nodes".into(), Value::Object(nodes));
        if let Some(s) = &self.default_start_node {
            graph.insert("default_start_node".into(), Value::String(s.clone()));
        }
        Ok(Value::Object(graph))
    }

    /// Reads AutoGen's JSON of a graph and validates it.
    pub fn from_json(value: &Value) -> Result<Self, GraphError> {
        let bad = |reason: String| GraphError::Config { reason };
        let wire: WireGraph =
            serde_json::from_value(value.clone()).map_err(|e| bad(e.to_string()))?;
        let mut nodes = Vec::with_capacity(wire.nodes.len());
        for (key, node) in wire.nodes {
            let node: WireNode = serde_json::from_value(node).map_err(|e| bad(e.to_string()))?;
            if node.name != key {
                return Err(bad(format!(
                    "node `{key}` is named `{}` in its body",
                    node.name
                )));
            }
            let edges = node
                .edges
                .into_iter()
                .map(|e| DiGraphEdge {
                    activation_group: e
                        .activation_group
                        .filter(|g| !g.is_empty())
                        .unwrap_or_else(|| e.target.clone()),
                    condition: e.condition.map(EdgeCondition::Contains).unwrap_or_default(),
                    target: e.target,
                    activation_condition: e.activation_condition,
                })
                .collect();
            nodes.push(DiGraphNode {
                name: node.name,
                edges,
                activation: node.activation,
            });
        }
        Self::new(nodes, wire.default_start_node)
    }
}

#[derive(Serialize, Deserialize)]
struct WireGraph {
    nodes: Map<String, Value>,
    #[serde(default)]
    default_start_node: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct WireNode {
    name: String,
    #[serde(default)]
    edges: Vec<WireEdge>,
    #[serde(default)]
    activation: Activation,
}

#[derive(Serialize, Deserialize)]
struct WireEdge {
    target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    condition: Option<String>,
    #[serde(default)]
    activation_group: Option<String>,
    #[serde(default)]
    activation_condition: Activation,
}
