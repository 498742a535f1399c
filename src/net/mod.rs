//! Network plumbing below every layer that talks to other processes: toolyard's outgoing HTTP
//! connections (upstream MCP servers) acknowledge at once ([`QuickAckConnector`]); the one
//! backoff schedule of every retry and reconnect loop ([`Backoff`]).

mod backoff;
mod quickack;

pub use backoff::Backoff;
pub use quickack::{QuickAck, QuickAckConnector, http_client};
