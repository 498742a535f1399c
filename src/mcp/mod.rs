//! Upstream MCP client side: the transports rmcp does not ship (legacy HTTP+SSE).

pub mod sse_client;
