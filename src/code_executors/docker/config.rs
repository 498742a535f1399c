//! Config of the Docker executor (AutoGen `DockerCommandLineCodeExecutorConfig` plus limits).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::code_executors::error::CodeExecutorError;

/// How long a container lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContainerLifetime {
    /// One container from `start` to `stop` (state in `/tmp` survives between runs).
    #[default]
    Executor,
    /// A fresh container for each `execute_code_blocks` call, removed at its end.
    Run,
}

/// Config of [`super::DockerCommandLineCodeExecutor`]. AutoGen's fields keep their names; fields
/// AutoGen has and we do not use (`extra_volumes`, `extra_hosts`, `init_command`,
/// `functions_module`) are ignored when loading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DockerExecutorConfig {
    /// Image to run; it must already be in the engine (nothing is pulled).
    #[serde(default = "default_image")]
    pub image: String,
    /// Container name; `toolyard-code-exec-<uuid>` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    /// Per-block timeout in seconds (at least 1).
    #[serde(default = "default_timeout")]
    pub timeout: u64,
    /// Host work dir; a temporary dir (removed on stop) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_dir: Option<PathBuf>,
    /// The work dir as the engine's host sees it (Docker-in-Docker); `work_dir` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind_dir: Option<PathBuf>,
    /// Let the engine remove the container when it stops.
    #[serde(default = "default_true")]
    pub auto_remove: bool,
    /// Remove the container on `stop()` and drop; `false` leaves it running for inspection.
    #[serde(default = "default_true")]
    pub stop_container: bool,
    /// Delete the code files after each run.
    #[serde(default)]
    pub delete_tmp_files: bool,
    /// Container per executor life or per run.
    #[serde(default)]
    pub container_lifetime: ContainerLifetime,
    /// Engine address (`unix:///path.sock`, `tcp://host:port`); `DOCKER_HOST` or the default
    /// socket when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_host: Option<String>,
    /// Docker network mode; `none` (no network at all) by default.
    #[serde(default = "default_network")]
    pub network_mode: String,
    /// Memory limit in bytes (swap included: no extra swap); `None` for no limit.
    #[serde(default = "default_memory")]
    pub memory_bytes: Option<i64>,
    /// CPU limit in CPUs (e.g. 1.5); `None` for no limit.
    #[serde(default = "default_cpus")]
    pub cpus: Option<f64>,
    /// Most processes in the container; `None` for no limit.
    #[serde(default = "default_pids")]
    pub pids_limit: Option<i64>,
    /// `uid:gid` to run as; this process's ids when not root, else `65534:65534` (nobody).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Mount the image's root filesystem read-only (writable: `/workspace` and a `/tmp` tmpfs).
    #[serde(default = "default_true")]
    pub read_only_root: bool,
    /// Size of the `/tmp` tmpfs (Docker size syntax, e.g. `64m`).
    #[serde(default = "default_tmpfs")]
    pub tmpfs_size: String,
    /// Run an init process as PID 1 (reaps orphans; needs `docker-init` in the engine).
    #[serde(default = "default_true")]
    pub init: bool,
    /// Python interpreter inside the container.
    #[serde(default = "default_python")]
    pub python: String,
    /// Most output bytes kept per run.
    #[serde(default = "default_max_output")]
    pub max_output_bytes: usize,
}

fn default_image() -> String {
    "python:3-slim".into()
}
fn default_timeout() -> u64 {
    60
}
fn default_true() -> bool {
    true
}
fn default_network() -> String {
    "none".into()
}
fn default_memory() -> Option<i64> {
    Some(512 << 20)
}
fn default_cpus() -> Option<f64> {
    Some(1.0)
}
fn default_pids() -> Option<i64> {
    Some(256)
}
fn default_tmpfs() -> String {
    "64m".into()
}
fn default_python() -> String {
    "python3".into()
}
fn default_max_output() -> usize {
    1 << 20
}

impl Default for DockerExecutorConfig {
    fn default() -> Self {
        Self {
            image: default_image(),
            container_name: None,
            timeout: default_timeout(),
            work_dir: None,
            bind_dir: None,
            auto_remove: true,
            stop_container: true,
            delete_tmp_files: false,
            container_lifetime: ContainerLifetime::default(),
            docker_host: None,
            network_mode: default_network(),
            memory_bytes: default_memory(),
            cpus: default_cpus(),
            pids_limit: default_pids(),
            user: None,
            read_only_root: true,
            tmpfs_size: default_tmpfs(),
            init: true,
            python: default_python(),
            max_output_bytes: default_max_output(),
        }
    }
}

impl DockerExecutorConfig {
    /// Checks the values.
    pub fn validate(&self) -> Result<(), CodeExecutorError> {
        let bad = |reason: &str| {
            Err(CodeExecutorError::Config {
                reason: reason.into(),
            })
        };
        if self.timeout < 1 {
            return bad("timeout must be at least 1 second");
        }
        if self.image.trim().is_empty() {
            return bad("image is empty");
        }
        if self.memory_bytes.is_some_and(|m| m < 6 << 20) {
            return bad("memory_bytes must be at least 6 MiB (Docker's minimum)");
        }
        if self.cpus.is_some_and(|c| !c.is_finite() || c <= 0.0) {
            return bad("cpus must be a positive number");
        }
        if self.pids_limit.is_some_and(|p| p < 1) {
            return bad("pids_limit must be positive");
        }
        Ok(())
    }

    /// The user the container runs as.
    pub fn effective_user(&self) -> String {
        if let Some(user) = &self.user {
            return user.clone();
        }
        let uid = nix::unistd::geteuid();
        if uid.is_root() {
            "65534:65534".into()
        } else {
            format!("{}:{}", uid, nix::unistd::getegid())
        }
    }
}
