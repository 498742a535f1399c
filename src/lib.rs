//! toolyard: an MCP gateway and AutoGen-style agent/team runtime.
pub mod models;
