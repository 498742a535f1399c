//! Upstream MCP clients: transports (stdio, streamable HTTP, legacy SSE), protocol eras,
//! and [`McpWorkbench`], one supervised upstream server.

mod callers;
pub mod credentials;
pub mod handler;
pub mod http_client;
mod inbound;
pub mod sse_client;
pub mod stdio;
pub mod tap;
pub mod transport;
mod upstream;

pub use upstream::{McpWorkbench, UpstreamStatus};
