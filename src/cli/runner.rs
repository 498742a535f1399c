//! What `toolyard run` runs: an agent or a team loaded from a component file (AutoGen's JSON, or
//! the same structure in TOML; an AgentTool / TeamTool file runs the agent or team inside it).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use futures::StreamExt;
use futures::stream::BoxStream;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use toolyard::agents::{ChatAgent, LoadOptions, RunItem, Task, load_agent};
use toolyard::component::{ComponentModel, short_provider};
use toolyard::teams::{GroupChat, load_team};

/// An agent or a team, run the same way.
pub enum Runner {
    /// One agent.
    Agent(Arc<dyn ChatAgent>),
    /// A team.
    Team(Box<GroupChat>),
}

impl Runner {
    /// Streams a run.
    pub fn run_stream(
        &self,
        task: Task,
        cancel: CancellationToken,
    ) -> BoxStream<'_, anyhow::Result<RunItem>> {
        match self {
            Self::Agent(a) => a
                .run_stream(task, cancel)
                .map(|i| i.map_err(anyhow::Error::from))
                .boxed(),
            Self::Team(t) => t
                .run_stream(task, cancel)
                .map(|i| i.map_err(anyhow::Error::from))
                .boxed(),
        }
    }

    /// The state (AutoGen's shape).
    pub async fn save_state(&self) -> anyhow::Result<Value> {
        Ok(match self {
            Self::Agent(a) => a.save_state().await?,
            Self::Team(t) => t.save_state().await?,
        })
    }

    /// Restores a saved state.
    pub async fn load_state(&self, state: &Value) -> anyhow::Result<()> {
        match self {
            Self::Agent(a) => a.load_state(state).await?,
            Self::Team(t) => t.load_state(state).await?,
        }
        Ok(())
    }

    /// Stops what the runner started.
    pub async fn shutdown(&self) {}
}

/// Reads a component file (`.json`, or `.toml` with the same structure).
pub fn read_component(path: &Path) -> anyhow::Result<ComponentModel> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let value: Value = if path.extension().is_some_and(|e| e == "toml") {
        let table: toml::Table = toml::from_str(&text)
            .with_context(|| format!("{} is not valid TOML", path.display()))?;
        serde_json::to_value(table)?
    } else {
        serde_json::from_str(&text)
            .with_context(|| format!("{} is not valid JSON", path.display()))?
    };
    serde_json::from_value(value)
        .with_context(|| format!("{} is not a component config", path.display()))
}

/// Loads the agent or team a file declares.
pub async fn load_runner(file: &Path, _config: &Path) -> anyhow::Result<Runner> {
    let mut model = read_component(file)?;
    // An AgentTool / TeamTool file: run what it wraps.
    let inner = match short_provider(&model.provider) {
        "AgentTool" => Some("agent"),
        "TeamTool" => Some("team"),
        _ => None,
    };
    if let Some(key) = inner {
        let wrapped = model
            .config
            .get(key)
            .cloned()
            .with_context(|| format!("{}: `config.{key}` is missing", file.display()))?;
        model = serde_json::from_value(wrapped)
            .with_context(|| format!("{}: `config.{key}` is not a component", file.display()))?;
    }
    let options = LoadOptions::default();
    let what = || format!("cannot load {}", file.display());
    if model.component_type.as_deref() == Some("agent") {
        Ok(Runner::Agent(
            load_agent(&model, &options).with_context(what)?,
        ))
    } else {
        Ok(Runner::Team(Box::new(
            load_team(&model, &options).with_context(what)?,
        )))
    }
}
