//! What `toolyard run` runs: the agent or team of a workbench file or component file (AutoGen's
//! JSON, or the same structure in TOML; an AgentTool / TeamTool file runs what it wraps), with
//! its models and upstream tools resolved through servers.toml.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use futures::StreamExt;
use futures::stream::BoxStream;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use toolyard::agents::{RunItem, Task, console_input, prompt_input};
use toolyard::config::Config;
use toolyard::gateway::Gateway;
use toolyard::workbenches::prepare::{Built, Mode, Reference, build, references};
use toolyard::workbenches::{GatewayHandle, ModelTable, RunEnv, WorkbenchFile};

use super::model_table;

/// An agent or a team, run the same way, with what it needs kept alive.
pub struct Runner {
    what: Built,
    /// The models table (its scripted servers run while the runner lives).
    _models: Arc<ModelTable>,
    /// The gateway over servers.toml, when the file's agents use upstream tools.
    gateway: Option<Arc<Gateway>>,
}

impl Runner {
    /// Streams a run.
    pub fn run_stream(
        &self,
        task: Task,
        cancel: CancellationToken,
    ) -> BoxStream<'_, anyhow::Result<RunItem>> {
        match &self.what {
            Built::Agent(a) => a
                .run_stream(task, cancel)
                .map(|i| i.map_err(anyhow::Error::from))
                .boxed(),
            Built::Team(t) => t
                .run_stream(task, cancel)
                .map(|i| i.map_err(anyhow::Error::from))
                .boxed(),
        }
    }

    /// The state (AutoGen's shape).
    pub async fn save_state(&self) -> anyhow::Result<Value> {
        Ok(match &self.what {
            Built::Agent(a) => a.save_state().await?,
            Built::Team(t) => t.save_state().await?,
        })
    }

    /// Restores a saved state.
    pub async fn load_state(&self, state: &Value) -> anyhow::Result<()> {
        match &self.what {
            Built::Agent(a) => a.load_state(state).await?,
            Built::Team(t) => t.load_state(state).await?,
        }
        Ok(())
    }

    /// Stops the upstream servers the run used.
    pub async fn shutdown(&self) {
        if let Some(g) = &self.gateway {
            g.shutdown().await;
        }
    }
}

/// Loads the agent or team a file declares: a workbench file, or an agent / team / AgentTool /
/// TeamTool component (AutoGen's JSON, or the same structure in TOML). Model names resolve
/// through `[models.NAME]` of `config`; `workbench = [...]` lists start the gateway over
/// `config`'s servers; a `UserProxyAgent` asks on the terminal.
pub async fn load_runner(file: &Path, config: &Path) -> anyhow::Result<Runner> {
    let wb = WorkbenchFile::load(file)?;
    let refs = references(&wb);
    let needs_models = refs.iter().any(|r| matches!(r, Reference::Model { .. }));
    let needs_views = refs.iter().any(|r| matches!(r, Reference::View { .. }));
    let config = if config.exists() {
        Some(Config::load(config)?)
    } else if needs_models || needs_views {
        anyhow::bail!(
            "{} names models or servers, but the config {} does not exist",
            file.display(),
            config.display()
        );
    } else {
        None
    };
    let models = Arc::new(match &config {
        Some(c) => model_table(c, needs_models).await?,
        None => ModelTable::default(),
    });
    let handle = GatewayHandle::default();
    let gateway = match (&config, needs_views) {
        (Some(c), true) => {
            let g = Gateway::from_config(c, CancellationToken::new());
            // Agents' views wait for the upstreams they name when they first list their tools.
            handle.bind(&g);
            Some(g)
        }
        _ => None,
    };
    let env = RunEnv::default();
    let mode = Mode::Run {
        models: &models,
        gateway: &handle,
        env: &env,
    };
    let what = build(&wb, &mode, prompt_input(console_input()))
        .with_context(|| format!("cannot load {}", file.display()))?;
    Ok(Runner {
        what,
        _models: models,
        gateway,
    })
}
