//! toolyard: an MCP gateway and AutoGen-style agent/team runtime.
//!
//! The layers are described in `docs/architecture.md`; each module's first line says what it owns.

// Sampling, logging and roots are deprecated by SEP-2577 (2026-07-28), but 2025-era peers still
// use them and a gateway must relay them.
#![allow(deprecated)]

pub mod code_executors;
pub mod config;
pub mod gateway;
pub mod mcp;
pub mod models;
pub mod server;
pub mod workbench;
