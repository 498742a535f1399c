//! GraphFlow: agents run along a directed graph (AutoGen 0.7.5's `GraphFlow`, `DiGraph`,
//! `DiGraphBuilder`), as a speaker policy of the one group-chat loop.

mod builder;
mod digraph;
mod flow;

pub use builder::DiGraphBuilder;
pub use digraph::{
    Activation, DiGraph, DiGraphEdge, DiGraphNode, EdgeCondition, EdgePredicate, GraphError,
};
pub use flow::{DIGRAPH_STOP_MESSAGE, GraphFlow};
