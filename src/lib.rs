//! toolyard: an MCP gateway and AutoGen-style agent/team runtime.
//!
//! The layers are described in `docs/architecture.md`; each module's first line says what it owns.

// Sampling, logging and roots are deprecated by SEP-2577 (2026-07-28), but 2025-era peers still
// use them and a gateway must relay them.
#![allow(deprecated)]

pub mod agents;
pub mod code_executors;
pub mod component;
pub mod compose;
pub mod config;
pub mod demo;
pub mod gateway;
pub mod mcp;
pub mod memory;
pub mod messages;
pub mod model_context;
pub mod models;
pub mod net;
pub mod policy;
pub mod process_group;
pub mod server;
pub mod teams;
pub mod telemetry;
pub mod termination;
pub mod tools;
pub mod workbench;
