//! Teams: one group-chat loop (`group_chat`) and the speaker policies plugged into it
//! (round robin, selector, swarm, graph flow, Magentic-One).

mod error;
pub mod graph;
pub mod group_chat;
mod load;
mod magentic;
mod round_robin;
mod selector;
mod society_of_mind;
mod swarm;

pub use error::TeamError;
pub use graph::{
    Activation, DIGRAPH_STOP_MESSAGE, DiGraph, DiGraphBuilder, DiGraphEdge, DiGraphNode,
    EdgeCondition, GraphError, GraphFlow,
};
pub use group_chat::{
    GroupChat, GroupChatBuilder, PolicyContext, Selection, SpeakerPolicy, TeamStream,
};
pub use load::load_team;
pub use magentic::{DEFAULT_FINAL_ANSWER_PROMPT, MagenticOne, ORCHESTRATOR_NAME};
pub use round_robin::RoundRobin;
pub use selector::{CandidateFn, DEFAULT_SELECTOR_PROMPT, Selector, SelectorFn};
pub use society_of_mind::{
    DEFAULT_INSTRUCTION, DEFAULT_RESPONSE_PROMPT, DEFAULT_SOM_DESCRIPTION, SOM_PROVIDER,
    SocietyOfMindAgent,
};
pub use swarm::Swarm;
