//! MCP server faces: the handler that serves a workbench, and the stdio, streamable HTTP and
//! legacy SSE transports it is served on.

pub mod auth;
pub mod body;
pub mod calls;
pub mod drain;
pub mod driver;
pub mod expiry;
pub mod handler;
pub mod http;
pub mod incoming;
pub mod listen;
pub mod metered;
pub mod notify;
pub mod observer;
pub mod origin;
pub mod parked;
pub mod relay;
pub mod rewrite;
pub mod rounds;
pub mod sessions;
pub mod sse;
pub mod stdio;
pub mod streamable;
pub mod task_calls;
pub mod tasks;
pub mod traced;

pub use handler::WorkbenchServer;
