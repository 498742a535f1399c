//! `OrTermination` (any condition fires) and `AndTermination` (all have fired).

use async_trait::async_trait;
use serde_json::json;

use super::{Termination, TerminationCondition, TerminationError, already};
use crate::component::{ComponentError, ComponentModel, component};
use crate::messages::{AgentMessage, TextBody};

/// AutoGen's provider names.
pub const OR_PROVIDER: &str = "autogen_agentchat.base.OrTerminationCondition";
/// AutoGen's provider name for AND.
pub const AND_PROVIDER: &str = "autogen_agentchat.base.AndTerminationCondition";

fn join(stops: &[TextBody]) -> TextBody {
    let content: Vec<&str> = stops.iter().map(|s| s.content.as_str()).collect();
    let source: Vec<&str> = stops.iter().map(|s| s.meta.source.as_str()).collect();
    TextBody::new(source.join(", "), content.join(", "))
}

fn dump(provider: &str, conditions: &[Termination]) -> Result<ComponentModel, ComponentError> {
    let list = conditions
        .iter()
        .map(|c| c.dump_component())
        .collect::<Result<Vec<_>, _>>()?;
    component(provider, "termination", 1, &json!({ "conditions": list }))
}

/// Fires when any condition fires; every condition sees every delta.
#[derive(Debug)]
pub struct OrTermination {
    conditions: Vec<Termination>,
}

impl OrTermination {
    /// OR of these conditions.
    pub fn new(conditions: Vec<Termination>) -> Self {
        Self { conditions }
    }
}

#[async_trait]
impl TerminationCondition for OrTermination {
    fn name(&self) -> &'static str {
        "OrTerminationCondition"
    }

    fn terminated(&self) -> bool {
        self.conditions.iter().any(|c| c.terminated())
    }

    async fn check(
        &mut self,
        messages: &[AgentMessage],
    ) -> Result<Option<TextBody>, TerminationError> {
        if self.terminated() {
            return Err(already(self.name()));
        }
        let mut stops = Vec::new();
        for condition in &mut self.conditions {
            if let Some(s) = condition.check(messages).await? {
                stops.push(s);
            }
        }
        Ok((!stops.is_empty()).then(|| join(&stops)))
    }

    async fn reset(&mut self) {
        for c in &mut self.conditions {
            c.reset().await;
        }
    }

    fn dump_component(&self) -> Result<ComponentModel, ComponentError> {
        dump(OR_PROVIDER, &self.conditions)
    }
}

/// Fires once every condition has fired (each may fire on a different delta).
#[derive(Debug)]
pub struct AndTermination {
    conditions: Vec<Termination>,
    stops: Vec<TextBody>,
}

impl AndTermination {
    /// AND of these conditions.
    pub fn new(conditions: Vec<Termination>) -> Self {
        Self {
            conditions,
            stops: Vec::new(),
        }
    }
}

#[async_trait]
impl TerminationCondition for AndTermination {
    fn name(&self) -> &'static str {
        "AndTerminationCondition"
    }

    fn terminated(&self) -> bool {
        self.conditions.iter().all(|c| c.terminated())
    }

    async fn check(
        &mut self,
        messages: &[AgentMessage],
    ) -> Result<Option<TextBody>, TerminationError> {
        if self.terminated() {
            return Err(already(self.name()));
        }
        let mut all_fired = true;
        for condition in self.conditions.iter_mut().filter(|c| !c.terminated()) {
            match condition.check(messages).await? {
                Some(s) => self.stops.push(s),
                None => all_fired = false,
            }
        }
        Ok(all_fired.then(|| join(&self.stops)))
    }

    async fn reset(&mut self) {
        for c in &mut self.conditions {
            c.reset().await;
        }
        self.stops.clear();
    }

    fn dump_component(&self) -> Result<ComponentModel, ComponentError> {
        dump(AND_PROVIDER, &self.conditions)
    }
}
