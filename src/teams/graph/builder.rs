//! `DiGraphBuilder`: a fluent way to build a validated `DiGraph` and collect its agents
//! (AutoGen's `DiGraphBuilder`). Mistakes are reported by `build`.

use std::sync::Arc;

use super::digraph::{Activation, DiGraph, DiGraphEdge, DiGraphNode, GraphError};
use crate::agents::ChatAgent;
use crate::messages::ChatMessage;

/// Builds a `DiGraph` node by node and edge by edge.
#[derive(Default)]
pub struct DiGraphBuilder {
    nodes: Vec<DiGraphNode>,
    agents: Vec<Arc<dyn ChatAgent>>,
    entry_point: Option<String>,
    error: Option<GraphError>,
}

impl DiGraphBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `agent` as a node with activation `all` (a second add of the same name is ignored).
    pub fn add_node(self, agent: Arc<dyn ChatAgent>) -> Self {
        self.add_node_with(agent, Activation::All)
    }

    /// Adds `agent` as a node with the given activation.
    pub fn add_node_with(mut self, agent: Arc<dyn ChatAgent>, activation: Activation) -> Self {
        if self.nodes.iter().all(|n| n.name != agent.name()) {
            self.nodes.push(DiGraphNode {
                name: agent.name().to_string(),
                edges: Vec::new(),
                activation,
            });
            self.agents.push(agent);
        }
        self
    }

    /// An unconditional edge from `source` to `target`.
    pub fn add_edge(self, source: &str, target: &str) -> Self {
        self.add_edge_with(source, DiGraphEdge::to(target))
    }

    /// An edge that fires when `source`'s message contains `text`.
    pub fn add_edge_if(self, source: &str, target: &str, text: impl Into<String>) -> Self {
        self.add_edge_with(source, DiGraphEdge::to(target).when_contains(text))
    }

    /// An edge that fires when `predicate` holds for `source`'s message.
    pub fn add_edge_when(
        self,
        source: &str,
        target: &str,
        predicate: impl Fn(&ChatMessage) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.add_edge_with(source, DiGraphEdge::to(target).when(predicate))
    }

    /// Adds a fully specified edge leaving `source`.
    pub fn add_edge_with(mut self, source: &str, edge: DiGraphEdge) -> Self {
        if self.error.is_some() {
            return self;
        }
        if self.nodes.iter().all(|n| n.name != edge.target) {
            self.error = Some(GraphError::UnknownTarget {
                node: edge.target,
                source_node: source.to_string(),
            });
            return self;
        }
        match self.nodes.iter_mut().find(|n| n.name == source) {
            Some(node) => node.edges.push(edge),
            None => {
                self.error = Some(GraphError::UnknownSource {
                    node: source.to_string(),
                });
            }
        }
        self
    }

    /// Sets the node every run starts from.
    pub fn set_entry_point(mut self, name: &str) -> Self {
        if self.error.is_none() && self.nodes.iter().all(|n| n.name != name) {
            self.error = Some(GraphError::UnknownEntryPoint {
                node: name.to_string(),
            });
        }
        self.entry_point = Some(name.to_string());
        self
    }

    /// The agents added so far, in order.
    pub fn participants(&self) -> Vec<Arc<dyn ChatAgent>> {
        self.agents.clone()
    }

    /// Validates and returns the graph.
    pub fn build(&self) -> Result<DiGraph, GraphError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        DiGraph::new(self.nodes.clone(), self.entry_point.clone())
    }
}
