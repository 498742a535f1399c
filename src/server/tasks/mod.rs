//! MCP tasks for tool calls (2025-11-25 experimental tasks and the 2026-07-28 tasks extension,
//! SEP-2663): the store of tasks ([`store`]), where a task's run sends its events ([`sink`]),
//! and the wire shapes that differ between the eras ([`wire`]). A task's run is an ordinary
//! driven call ([`super::driver`]) whose events go to its [`TaskSink`]; the faces that speak
//! the two eras are in [`super::task_calls`].

mod sink;
mod store;
mod wire;

pub use crate::workbench::TaskSupport;
pub use sink::TaskSink;
pub use store::{NewTask, SessionTasks, TaskStore};
pub use wire::{RELATED_TASK_META, legacy_task};

/// TTL given to a task whose creator asked for none (5 minutes).
pub const DEFAULT_TTL_MS: u64 = 300_000;
/// The longest TTL granted (1 hour); longer requests are cut to this.
pub const MAX_TTL_MS: u64 = 3_600_000;
/// Suggested polling interval.
pub const POLL_INTERVAL_MS: u64 = 500;

#[cfg(test)]
mod tests;
