//! Talking to the Docker engine: connect, create the sandbox container, exec a file, remove.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use bollard::container::LogOutput;
use bollard::errors::Error as BollardError;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{CreateContainerOptions, RemoveContainerOptions};
use bollard::{API_DEFAULT_VERSION, Docker};
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use super::config::DockerExecutorConfig;
use super::orphans::{self, OWNER_LABEL};
use crate::code_executors::error::CodeExecutorError;
use crate::code_executors::output::OutputBuffer;
use crate::code_executors::run::BlockOutcome;

/// Label set on every container this executor creates (value: the executor's id).
pub const CONTAINER_LABEL: &str = "toolyard.code-executor";
/// Where the work dir is mounted inside the container.
pub const WORKSPACE: &str = "/workspace";
/// Seconds an engine call may take before bollard gives up.
const ENGINE_TIMEOUT_SECS: u64 = 120;

/// Connects to `host` (or `DOCKER_HOST` / the default socket) and agrees on an API version.
pub(super) async fn connect(host: Option<&str>) -> Result<Docker, CodeExecutorError> {
    let shown = host
        .unwrap_or("(DOCKER_HOST or default socket)")
        .to_string();
    let connect_err = |source| CodeExecutorError::DockerConnect {
        host: shown.clone(),
        source,
    };
    let docker = match host {
        Some(h) if h.starts_with("unix://") || h.starts_with('/') => {
            Docker::connect_with_unix(h, ENGINE_TIMEOUT_SECS, API_DEFAULT_VERSION)
        }
        Some(h) => Docker::connect_with_http(h, ENGINE_TIMEOUT_SECS, API_DEFAULT_VERSION),
        None => Docker::connect_with_local_defaults(),
    }
    .map_err(connect_err)?;
    let docker = docker.negotiate_version().await.map_err(connect_err)?;
    docker.ping().await.map_err(connect_err)?;
    Ok(docker)
}

/// Fails with [`CodeExecutorError::ImageMissing`] when `image` is not in the engine.
pub(super) async fn check_image(docker: &Docker, image: &str) -> Result<(), CodeExecutorError> {
    docker
        .inspect_image(image)
        .await
        .map(|_| ())
        .map_err(|source| CodeExecutorError::ImageMissing {
            image: image.to_string(),
            source,
        })
}

/// The container spec: sandbox settings from `config`, the work dir `bind` at [`WORKSPACE`].
fn container_body(
    config: &DockerExecutorConfig,
    bind: &Path,
    executor_id: &str,
) -> ContainerCreateBody {
    let mut tmpfs = HashMap::new();
    tmpfs.insert(
        "/tmp".to_string(),
        format!("rw,nosuid,nodev,size={}", config.tmpfs_size),
    );
    let host_config = HostConfig {
        binds: Some(vec![format!("{}:{WORKSPACE}:rw", bind.display())]),
        network_mode: Some(config.network_mode.clone()),
        memory: config.memory_bytes,
        memory_swap: config.memory_bytes,
        nano_cpus: config.cpus.map(|c| (c * 1e9) as i64),
        pids_limit: config.pids_limit,
        readonly_rootfs: Some(config.read_only_root),
        tmpfs: Some(tmpfs),
        cap_drop: Some(vec!["ALL".into()]),
        security_opt: Some(vec!["no-new-privileges".into()]),
        auto_remove: Some(config.auto_remove),
        init: Some(config.init),
        ..Default::default()
    };
    ContainerCreateBody {
        image: Some(config.image.clone()),
        cmd: Some(vec!["sleep".into(), "infinity".into()]),
        user: Some(config.effective_user()),
        working_dir: Some(WORKSPACE.into()),
        env: Some(vec![
            "HOME=/tmp".into(),
            "PYTHONUNBUFFERED=1".into(),
            "PYTHONDONTWRITEBYTECODE=1".into(),
        ]),
        network_disabled: Some(config.network_mode == "none"),
        labels: Some(HashMap::from([
            (CONTAINER_LABEL.to_string(), executor_id.to_string()),
            (OWNER_LABEL.to_string(), orphans::this_owner()),
        ])),
        host_config: Some(host_config),
        ..Default::default()
    }
}

/// Creates and starts a sandbox container; returns its id. A container that fails to start is
/// removed.
pub(super) async fn create_container(
    docker: &Docker,
    config: &DockerExecutorConfig,
    bind: &Path,
    name: &str,
    executor_id: &str,
) -> Result<String, CodeExecutorError> {
    let options = CreateContainerOptions {
        name: Some(name.to_string()),
        ..Default::default()
    };
    let created = docker
        .create_container(Some(options), container_body(config, bind, executor_id))
        .await
        .map_err(|e| CodeExecutorError::docker("create container", e))?;
    if let Err(e) = docker.start_container(&created.id, None).await {
        remove_container(docker, &created.id).await;
        return Err(CodeExecutorError::docker("start container", e));
    }
    tracing::debug!(container = %created.id, name, "code execution container started");
    Ok(created.id)
}

/// Kills and removes `id`, waiting until the engine no longer lists it. Errors are logged: this
/// is cleanup, and "already gone" is success.
pub(super) async fn remove_container(docker: &Docker, id: &str) {
    let options = RemoveContainerOptions {
        force: true,
        v: true,
        ..Default::default()
    };
    match docker.remove_container(id, Some(options)).await {
        Ok(())
        | Err(BollardError::DockerResponseServerError {
            status_code: 404, ..
        }) => {}
        // 409: auto-remove already in progress; wait for it below.
        Err(BollardError::DockerResponseServerError {
            status_code: 409, ..
        }) => {}
        Err(e) => tracing::warn!(container = %id, error = %e, "could not remove container"),
    }
    // Removal by auto-remove is asynchronous: poll until the container is gone (bounded).
    for _ in 0..100 {
        match docker.inspect_container(id, None).await {
            Err(BollardError::DockerResponseServerError {
                status_code: 404, ..
            }) => return,
            Err(e) => {
                tracing::warn!(container = %id, error = %e, "could not inspect container");
                return;
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    tracing::warn!(container = %id, "container still listed after removal");
}

/// How an exec ended before the engine reported an exit code.
enum ExecEnding {
    Finished,
    TimedOut,
    Cancelled,
}

/// Runs `argv` in container `id`, appending stdout and stderr to `output` as they arrive.
/// On timeout or cancel the caller must kill the container (an exec cannot be killed alone).
pub(super) async fn exec(
    docker: &Docker,
    id: &str,
    argv: Vec<String>,
    output: &mut OutputBuffer,
    timeout: Duration,
    cancel: &CancellationToken,
) -> Result<ExecResult, CodeExecutorError> {
    let options = CreateExecOptions {
        cmd: Some(argv),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        working_dir: Some(WORKSPACE.to_string()),
        ..Default::default()
    };
    let created = docker
        .create_exec(id, options)
        .await
        .map_err(|e| CodeExecutorError::docker("create exec", e))?;
    let started = docker
        .start_exec(&created.id, None)
        .await
        .map_err(|e| CodeExecutorError::docker("start exec", e))?;
    let StartExecResults::Attached {
        output: mut stream, ..
    } = started
    else {
        return Err(CodeExecutorError::Config {
            reason: "the engine detached an attached exec".into(),
        });
    };
    let ending = tokio::select! {
        () = async {
            while let Some(item) = stream.next().await {
                match item {
                    Ok(LogOutput::StdOut { message } | LogOutput::StdErr { message }
                        | LogOutput::Console { message }) => output.push(&message),
                    Ok(LogOutput::StdIn { .. }) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "exec output stream broke");
                        break;
                    }
                }
            }
        } => ExecEnding::Finished,
        () = tokio::time::sleep(timeout) => ExecEnding::TimedOut,
        () = cancel.cancelled() => ExecEnding::Cancelled,
    };
    match ending {
        ExecEnding::TimedOut => Ok(ExecResult::Ended(BlockOutcome::TimedOut)),
        ExecEnding::Cancelled => Ok(ExecResult::Cancelled),
        ExecEnding::Finished => {
            let code = exit_code(docker, &created.id).await?;
            Ok(ExecResult::Ended(BlockOutcome::Exited(code)))
        }
    }
}

/// What [`exec`] saw.
pub(super) enum ExecResult {
    /// The exec exited (`Exited`), or timed out (`TimedOut`: the caller must kill the container).
    Ended(BlockOutcome),
    /// The token fired; the caller must kill the container.
    Cancelled,
}

/// The exit code of a finished exec (the engine may report it a moment after the stream ends).
async fn exit_code(docker: &Docker, exec_id: &str) -> Result<i32, CodeExecutorError> {
    for _ in 0..100 {
        let inspected = docker
            .inspect_exec(exec_id)
            .await
            .map_err(|e| CodeExecutorError::docker("inspect exec", e))?;
        if inspected.running != Some(true)
            && let Some(code) = inspected.exit_code
        {
            return Ok(i32::try_from(code).unwrap_or(1));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(1)
}
