//! Team state in AutoGen's `TeamState` shape: one `ChatAgentContainerState` per participant and
//! the manager's state (message thread, turn count, policy fields).

use serde_json::{Map, Value, json};

use super::{GroupChat, Inner};
use crate::messages::{AgentMessage, ChatMessage};
use crate::teams::TeamError;

/// Builds the `TeamState` JSON.
pub(super) async fn save(team: &GroupChat, inner: &Inner) -> Result<Value, TeamError> {
    let mut states = Map::new();
    for (p, buffer) in team.participants.iter().zip(&inner.buffers) {
        let agent_state = p.save_state().await.map_err(|source| TeamError::Agent {
            agent: p.name().to_string(),
            source: Box::new(source),
        })?;
        states.insert(
            p.name().to_string(),
            json!({
                "type": "ChatAgentContainerState",
                "version": "1.0.0",
                "agent_state": agent_state,
                "message_buffer": to_json(team, buffer)?,
            }),
        );
    }
    let mut manager = Map::new();
    manager.insert("type".into(), json!(inner.policy.state_type()));
    manager.insert("version".into(), json!("1.0.0"));
    manager.insert("message_thread".into(), to_json(team, &inner.thread)?);
    manager.insert("current_turn".into(), json!(inner.current_turn));
    manager.extend(inner.policy.save_state());
    states.insert(inner.policy.manager_name().into(), Value::Object(manager));
    Ok(json!({"type": "TeamState", "version": "1.0.0", "agent_states": states}))
}

/// Restores a `TeamState` JSON.
pub(super) async fn load(
    team: &GroupChat,
    inner: &mut Inner,
    value: &Value,
) -> Result<(), TeamError> {
    let bad = |reason: String| TeamError::State {
        team: team.name.clone(),
        reason,
    };
    let states = value
        .get("agent_states")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("missing `agent_states`".into()))?;
    let manager_name = inner.policy.manager_name();
    let manager = states
        .get(manager_name)
        .and_then(Value::as_object)
        .ok_or_else(|| bad(format!("agent state for {manager_name} not found")))?;
    let mut buffers = Vec::with_capacity(team.participants.len());
    for p in &team.participants {
        let container = states
            .get(p.name())
            .ok_or_else(|| bad(format!("agent state for {} not found", p.name())))?;
        let agent_state = container.get("agent_state").unwrap_or(container);
        p.load_state(agent_state)
            .await
            .map_err(|source| TeamError::Agent {
                agent: p.name().to_string(),
                source: Box::new(source),
            })?;
        let buffer: Vec<ChatMessage> = from_json(container.get("message_buffer")).map_err(&bad)?;
        buffers.push(buffer);
    }
    let thread: Vec<AgentMessage> = from_json(manager.get("message_thread")).map_err(&bad)?;
    let current_turn = manager
        .get("current_turn")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    inner.policy.load_state(manager).map_err(&bad)?;
    inner.thread = thread;
    inner.buffers = buffers;
    inner.current_turn = usize::try_from(current_turn).map_err(|e| bad(e.to_string()))?;
    Ok(())
}

fn to_json<T: serde::Serialize>(team: &GroupChat, items: &[T]) -> Result<Value, TeamError> {
    serde_json::to_value(items).map_err(|e| TeamError::State {
        team: team.name.clone(),
        reason: e.to_string(),
    })
}

fn from_json<T: serde::de::DeserializeOwned>(value: Option<&Value>) -> Result<Vec<T>, String> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| e.to_string()),
    }
}
