//! `ExternalTermination`: stopped from outside the run through a cloneable handle.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use serde_json::json;

use super::{TerminationCondition, TerminationError, already, stop};
use crate::component::{ComponentError, ComponentModel, component};
use crate::messages::{AgentMessage, TextBody};

/// AutoGen's provider name.
pub const PROVIDER: &str = "autogen_agentchat.conditions.ExternalTermination";

/// Sets an [`ExternalTermination`] from any task.
#[derive(Debug, Clone, Default)]
pub struct ExternalHandle(Arc<AtomicBool>);

impl ExternalHandle {
    /// Requests termination at the next check.
    pub fn set(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Fires at the first check after [`ExternalHandle::set`].
#[derive(Debug, Default)]
pub struct ExternalTermination {
    requested: ExternalHandle,
    terminated: bool,
}

impl ExternalTermination {
    /// A condition with no request yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A handle to set it from elsewhere.
    pub fn handle(&self) -> ExternalHandle {
        self.requested.clone()
    }

    /// Requests termination (same as `handle().set()`).
    pub fn set(&self) {
        self.requested.set();
    }
}

#[async_trait]
impl TerminationCondition for ExternalTermination {
    fn name(&self) -> &'static str {
        "ExternalTermination"
    }

    fn terminated(&self) -> bool {
        self.terminated
    }

    async fn check(&mut self, _: &[AgentMessage]) -> Result<Option<TextBody>, TerminationError> {
        if self.terminated {
            return Err(already(self.name()));
        }
        if self.requested.0.load(Ordering::SeqCst) {
            self.terminated = true;
            return Ok(stop(self.name(), "External termination requested".into()));
        }
        Ok(None)
    }

    async fn reset(&mut self) {
        self.terminated = false;
        self.requested.0.store(false, Ordering::SeqCst);
    }

    fn dump_component(&self) -> Result<ComponentModel, ComponentError> {
        component(PROVIDER, "termination", 1, &json!({}))
    }
}
