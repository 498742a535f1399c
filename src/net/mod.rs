//! Network plumbing below every layer that talks to other processes: toolyard's outgoing HTTP
//! connections (upstream MCP servers) acknowledge at once ([`QuickAckConnector`]).

mod quickack;

pub use quickack::{QuickAck, QuickAckConnector, http_client};
