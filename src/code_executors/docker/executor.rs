//! The Docker executor: lifecycle (start / stop / restart / drop) and the per-block runner.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use async_trait::async_trait;
use bollard::Docker;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use super::config::{ContainerLifetime, DockerExecutorConfig};
use super::engine::{self, ExecResult, WORKSPACE};
use super::orphans;
use crate::code_executors::component::{self, DOCKER_PROVIDER};
use crate::code_executors::error::CodeExecutorError;
use crate::code_executors::executor::{CodeBlock, CodeExecutor, CodeResult};
use crate::code_executors::language::Language;
use crate::code_executors::output::OutputBuffer;
use crate::code_executors::run::{BlockOutcome, BlockRunner, RunLimits, run_blocks};
use crate::code_executors::workspace::WorkDir;
use crate::component::ComponentModel;

/// Runs code blocks in a sandboxed Docker container (AutoGen `DockerCommandLineCodeExecutor`).
///
/// `execute_code_blocks` starts the executor on first use; call [`CodeExecutor::stop`] when
/// done. Dropping a started executor removes its containers too (blocking briefly), so none is
/// left behind even when `stop` was never called.
pub struct DockerCommandLineCodeExecutor {
    config: DockerExecutorConfig,
    /// Unique id, the value of the [`engine::CONTAINER_LABEL`] label.
    id: String,
    /// Engine connection and the executor-lifetime container; also serialises runs.
    state: Mutex<State>,
    work_dir: StdMutex<Option<WorkDir>>,
    /// Every container created and not yet removed (for stop and drop).
    live: Arc<StdMutex<BTreeSet<String>>>,
}

#[derive(Default)]
struct State {
    docker: Option<Docker>,
    /// The executor-lifetime container, when one is running.
    container: Option<String>,
}

impl std::fmt::Debug for DockerCommandLineCodeExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerCommandLineCodeExecutor")
            .field("id", &self.id)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl DockerCommandLineCodeExecutor {
    /// An executor for `config` (validated; nothing is contacted until `start`).
    pub fn new(config: DockerExecutorConfig) -> Result<Self, CodeExecutorError> {
        config.validate()?;
        Ok(Self {
            config,
            id: uuid::Uuid::new_v4().to_string(),
            state: Mutex::new(State::default()),
            work_dir: StdMutex::new(None),
            live: Arc::new(StdMutex::new(BTreeSet::new())),
        })
    }

    /// The config.
    pub fn config(&self) -> &DockerExecutorConfig {
        &self.config
    }

    /// This executor's id: the value of the `toolyard.code-executor` label on its containers.
    pub fn executor_id(&self) -> &str {
        &self.id
    }

    /// Ids of the containers this executor has running now.
    pub fn live_containers(&self) -> Vec<String> {
        lock(&self.live).iter().cloned().collect()
    }

    /// Connects, checks the image and prepares the work dir (under the state lock).
    async fn start_locked(
        &self,
        state: &mut State,
    ) -> Result<(Docker, WorkDir), CodeExecutorError> {
        let docker = match &state.docker {
            Some(d) => d.clone(),
            None => {
                let d = engine::connect(self.config.docker_host.as_deref()).await?;
                engine::check_image(&d, &self.config.image).await?;
                orphans::sweep(&d).await;
                state.docker = Some(d.clone());
                d
            }
        };
        let dir = self.ensure_work_dir()?;
        if self.config.container_lifetime == ContainerLifetime::Executor
            && state.container.is_none()
        {
            state.container = Some(self.create(&docker, &dir).await?);
        }
        Ok((docker, dir))
    }

    fn ensure_work_dir(&self) -> Result<WorkDir, CodeExecutorError> {
        let mut slot = lock(&self.work_dir);
        if let Some(dir) = slot.as_ref() {
            return Ok(dir.clone());
        }
        let dir = WorkDir::prepare(self.config.work_dir.as_deref())?;
        self.give_work_dir_to_sandbox_user(dir.path())?;
        *slot = Some(dir.clone());
        Ok(dir)
    }

    /// When running as root with a numeric sandbox user, makes the work dir (not its contents)
    /// owned by that user so code can write there.
    fn give_work_dir_to_sandbox_user(&self, dir: &Path) -> Result<(), CodeExecutorError> {
        if self.config.bind_dir.is_some() || !nix::unistd::geteuid().is_root() {
            return Ok(());
        }
        let user = self.config.effective_user();
        let mut ids = user.splitn(2, ':').map(|p| p.parse::<u32>().ok());
        let (Some(Some(uid)), gid) = (ids.next(), ids.next().flatten()) else {
            return Ok(());
        };
        nix::unistd::chown(
            dir,
            Some(nix::unistd::Uid::from_raw(uid)),
            gid.map(nix::unistd::Gid::from_raw),
        )
        .map_err(|e| CodeExecutorError::io(dir, std::io::Error::from(e)))
    }

    /// Creates and starts a container for `dir`, recording it as live.
    async fn create(&self, docker: &Docker, dir: &WorkDir) -> Result<String, CodeExecutorError> {
        let bind = self.config.bind_dir.as_deref().unwrap_or(dir.path());
        let name = match &self.config.container_name {
            Some(n) => n.clone(),
            None => format!("toolyard-code-exec-{}", uuid::Uuid::new_v4()),
        };
        let id = engine::create_container(docker, &self.config, bind, &name, &self.id).await?;
        lock(&self.live).insert(id.clone());
        Ok(id)
    }

    /// Kills and removes container `id`.
    async fn destroy(&self, docker: &Docker, id: &str) {
        engine::remove_container(docker, id).await;
        lock(&self.live).remove(id);
    }

    /// Removes every live container.
    async fn destroy_all(&self, docker: &Docker) {
        for id in self.live_containers() {
            self.destroy(docker, &id).await;
        }
    }
}

fn lock<T>(m: &StdMutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs the files of one `execute_code_blocks` call, making a container when there is none.
struct ContainerRunner<'a> {
    executor: &'a DockerCommandLineCodeExecutor,
    docker: Docker,
    dir: WorkDir,
    container: Mutex<Option<String>>,
}

impl ContainerRunner<'_> {
    async fn container(&self) -> Result<String, CodeExecutorError> {
        let mut slot = self.container.lock().await;
        if let Some(id) = slot.as_ref() {
            return Ok(id.clone());
        }
        let id = self.executor.create(&self.docker, &self.dir).await?;
        *slot = Some(id.clone());
        Ok(id)
    }

    /// Kills the current container (the only way to stop an exec); the next block gets a new one.
    async fn kill(&self) {
        if let Some(id) = self.container.lock().await.take() {
            self.executor.destroy(&self.docker, &id).await;
        }
    }
}

#[async_trait]
impl BlockRunner for ContainerRunner<'_> {
    async fn run_file(
        &self,
        language: Language,
        file: &Path,
        output: &mut OutputBuffer,
        timeout: Duration,
        cancel: &CancellationToken,
    ) -> Result<BlockOutcome, CodeExecutorError> {
        let id = self.container().await?;
        // Creating a container takes a while (seconds with the vfs driver): honour a cancel that
        // arrived meanwhile before starting the code.
        if cancel.is_cancelled() {
            self.kill().await;
            return Err(CodeExecutorError::Cancelled);
        }
        let program = match language {
            Language::Python => self.executor.config.python.clone(),
            other => other.default_interpreter().to_string(),
        };
        let path = Path::new(WORKSPACE)
            .join(file)
            .to_string_lossy()
            .into_owned();
        match engine::exec(
            &self.docker,
            &id,
            vec![program, path],
            output,
            timeout,
            cancel,
        )
        .await?
        {
            ExecResult::Ended(BlockOutcome::TimedOut) => {
                self.kill().await;
                Ok(BlockOutcome::TimedOut)
            }
            ExecResult::Ended(outcome) => Ok(outcome),
            ExecResult::Cancelled => {
                self.kill().await;
                Err(CodeExecutorError::Cancelled)
            }
        }
    }
}

#[async_trait]
impl CodeExecutor for DockerCommandLineCodeExecutor {
    async fn execute_code_blocks(
        &self,
        blocks: &[CodeBlock],
        cancel: &CancellationToken,
    ) -> Result<CodeResult, CodeExecutorError> {
        let mut state = self.state.lock().await;
        let (docker, dir) = self.start_locked(&mut state).await?;
        let runner = ContainerRunner {
            executor: self,
            docker,
            dir: dir.clone(),
            container: Mutex::new(state.container.take()),
        };
        let limits = RunLimits {
            timeout: Duration::from_secs(self.config.timeout),
            max_output_bytes: self.config.max_output_bytes,
        };
        let result = run_blocks(&runner, dir.path(), blocks, limits, cancel).await;
        match self.config.container_lifetime {
            ContainerLifetime::Executor => state.container = runner.container.into_inner(),
            ContainerLifetime::Run => runner.kill().await,
        }
        if self.config.delete_tmp_files
            && let Ok(result) = &result
        {
            for file in &result.code_files {
                let _ = std::fs::remove_file(file);
            }
        }
        result
    }

    async fn start(&self) -> Result<(), CodeExecutorError> {
        let mut state = self.state.lock().await;
        self.start_locked(&mut state).await.map(|_| ())
    }

    async fn stop(&self) -> Result<(), CodeExecutorError> {
        let mut state = self.state.lock().await;
        state.container = None;
        if let Some(docker) = state.docker.take()
            && self.config.stop_container
        {
            self.destroy_all(&docker).await;
        }
        if let Some(dir) = lock(&self.work_dir).take() {
            dir.remove_if_temp();
        }
        Ok(())
    }

    async fn restart(&self) -> Result<(), CodeExecutorError> {
        let mut state = self.state.lock().await;
        if let (Some(docker), Some(id)) = (state.docker.clone(), state.container.take()) {
            self.destroy(&docker, &id).await;
        }
        self.start_locked(&mut state).await.map(|_| ())
    }

    fn work_dir(&self) -> Option<PathBuf> {
        lock(&self.work_dir)
            .as_ref()
            .map(|d| d.path().to_path_buf())
            .or_else(|| self.config.work_dir.clone())
    }

    fn dump_component(&self) -> Result<ComponentModel, CodeExecutorError> {
        component::dump(
            DOCKER_PROVIDER,
            "DockerCommandLineCodeExecutor",
            &self.config,
        )
    }
}

impl Drop for DockerCommandLineCodeExecutor {
    /// Backstop for a missing `stop()`: removes live containers from a helper thread with its
    /// own runtime (joined, so they are gone when drop returns) and a temporary work dir.
    fn drop(&mut self) {
        let ids = self.live_containers();
        if self.config.stop_container && !ids.is_empty() {
            let host = self.config.docker_host.clone();
            let cleanup = std::thread::spawn(move || {
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                runtime.block_on(async move {
                    match engine::connect(host.as_deref()).await {
                        Ok(docker) => {
                            for id in ids {
                                engine::remove_container(&docker, &id).await;
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "cannot remove containers on drop"),
                    }
                });
            });
            let _ = cleanup.join();
        }
        if let Some(dir) = lock(&self.work_dir).take() {
            dir.remove_if_temp();
        }
    }
}
