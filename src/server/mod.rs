//! MCP server faces served over HTTP.

pub mod origin;
pub mod sse;
