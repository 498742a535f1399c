//! What `toolyard run` runs: the agent or team of a workbench file or component file (AutoGen's
//! JSON, or the same structure in TOML; an AgentTool / TeamTool file runs what it wraps), with
//! its models and upstream tools resolved through servers.toml, and the MCP servers of its
//! `McpWorkbench` entries started for the run and stopped when it ends.

use std::path::Path;
use std::sync::Arc;

use futures::StreamExt;
use futures::stream::BoxStream;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use toolyard::agents::{RunItem, Task, console_input, prompt_input};
use toolyard::compose::prepare::{Built, Mode, Reference, build, references};
use toolyard::compose::{GatewayHandle, McpServers, ModelTable, RunEnv, WorkbenchFile};
use toolyard::config::Config;
use toolyard::gateway::Gateway;

use super::model_table;

/// An agent or a team, run the same way, with what it needs kept alive.
pub struct Runner {
    what: Built,
    /// The models table (its scripted servers run while the runner lives).
    _models: Arc<ModelTable>,
    /// The gateway over servers.toml, when the file's agents use upstream tools.
    gateway: Option<Arc<Gateway>>,
    /// The MCP servers of the file's `McpWorkbench` entries.
    servers: McpServers,
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

    /// Stops the upstream servers and the McpWorkbench servers the run used, and waits until
    /// their child processes are gone.
    pub async fn shutdown(&self) {
        self.servers.shutdown().await;
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
    let servers = McpServers::default();
    let mode = Mode::Run {
        models: &models,
        gateway: &handle,
        env: &env,
        servers: &servers,
    };
    let built = build(&wb, &mode, prompt_input(console_input()));
    let runner = Runner {
        what: match built {
            Ok(what) => what,
            Err(e) => {
                stop(&servers, gateway.as_deref()).await;
                return Err(
                    anyhow::Error::new(e).context(format!("cannot load {}", file.display()))
                );
            }
        },
        _models: models,
        gateway,
        servers,
    };
    // A server that cannot start (e.g. its command does not exist) fails the run before it
    // begins, naming the server and the reason.
    if let Err(e) = runner.servers.wait_ready().await {
        runner.shutdown().await;
        return Err(anyhow::Error::new(e).context(format!(
            "an McpWorkbench server of {} did not start",
            file.display()
        )));
    }
    Ok(runner)
}

async fn stop(servers: &McpServers, gateway: Option<&Gateway>) {
    servers.shutdown().await;
    if let Some(g) = gateway {
        g.shutdown().await;
    }
}
