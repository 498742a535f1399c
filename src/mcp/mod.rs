//! Upstream MCP client transports (what rmcp does not ship).

pub mod sse_client;
