//! Upstream stdio servers: spawn the child in its own process group, log its stderr, kill the group.
//!
//! rmcp's `TokioChildProcess` decodes stdout internally; we spawn the child ourselves (the same
//! way, in a new process group) so stdout can pass through a [`TapReader`] into rmcp's
//! `AsyncRwTransport`, which keeps tool fields rmcp's typed structs would drop.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::process_group::ProcessGroup;
use rmcp::RoleClient;
use rmcp::transport::async_rw::AsyncRwTransport;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout};

use super::tap::{RawTap, TapReader};

/// The rmcp transport over a child's stdio.
pub type StdioTransport = AsyncRwTransport<RoleClient, TapReader<ChildStdout>, ChildStdin>;

/// What to run.
#[derive(Debug, Clone)]
pub struct StdioCommand {
    /// Program (looked up in PATH when it has no slash).
    pub command: String,
    /// Arguments.
    pub args: Vec<String>,
    /// Extra environment variables.
    pub env: BTreeMap<String, String>,
    /// Working directory.
    pub cwd: Option<PathBuf>,
    /// Give the child toolyard's whole environment; otherwise only
    /// [`crate::config::MINIMAL_ENV`] (and `env`).
    pub inherit_env: bool,
}

/// How many of a child's last stderr lines are kept for error reports.
const STDERR_TAIL: usize = 12;

/// Owns a spawned child and its process group; killing happens on `shutdown` or drop.
#[derive(Debug)]
pub struct ChildGuard {
    child: Child,
    group: Option<ProcessGroup>,
    stderr: Arc<Mutex<VecDeque<String>>>,
}

impl ChildGuard {
    /// If the child has exited (or exits within `wait`): how, and its last stderr lines.
    pub async fn exit_report(&mut self, wait: Duration) -> Option<(String, Vec<String>)> {
        let status = tokio::time::timeout(wait, self.child.wait())
            .await
            .ok()?
            .ok()?;
        // Let the stderr reader take the last lines the child wrote.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let lines = self
            .stderr
            .lock()
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default();
        Some((status.to_string(), lines))
    }

    /// The child's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Ask the process group to stop (SIGTERM), then kill it after `grace`.
    pub async fn shutdown(&mut self, grace: Duration) {
        if let Some(group) = self.group {
            group.terminate();
        }
        if tokio::time::timeout(grace, self.child.wait())
            .await
            .is_err()
        {
            self.kill_group();
            let _ = self.child.wait().await;
        }
        // Descendants may outlive the leader; make sure the whole group is gone.
        self.kill_group();
    }

    /// Wait for the child to exit.
    pub async fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        self.child.wait().await
    }

    fn kill_group(&mut self) {
        if let Some(group) = self.group {
            group.kill();
        }
        let _ = self.child.start_kill();
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.kill_group();
    }
}

/// Spawn `cmd` with piped stdio in a new process group; stderr lines go to tracing.
pub fn spawn(
    server: &str,
    cmd: &StdioCommand,
    tap: RawTap,
) -> std::io::Result<(StdioTransport, ChildGuard)> {
    let mut command = tokio::process::Command::new(&cmd.command);
    if !cmd.inherit_env {
        command.env_clear();
        for key in crate::config::MINIMAL_ENV {
            if let Some(value) = std::env::var_os(key) {
                command.env(key, value);
            }
        }
    }
    command
        .args(&cmd.args)
        .envs(&cmd.env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(cwd) = &cmd.cwd {
        command.current_dir(cwd);
    }
    let mut child = command.spawn()?;
    let group = ProcessGroup::of(&child);
    let missing = |what: &str| std::io::Error::other(format!("child {what} was not captured"));
    let stdout = child.stdout.take().ok_or_else(|| missing("stdout"))?;
    let stdin = child.stdin.take().ok_or_else(|| missing("stdin"))?;
    let tail = Arc::new(Mutex::new(VecDeque::with_capacity(STDERR_TAIL)));
    if let Some(stderr) = child.stderr.take() {
        let server = server.to_string();
        let tail = Arc::clone(&tail);
        // Ends when the child's stderr closes (the child and its group are gone).
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::info!(target: "toolyard::upstream::stderr", server = %server, "{line}");
                if let Ok(mut tail) = tail.lock() {
                    if tail.len() == STDERR_TAIL {
                        tail.pop_front();
                    }
                    tail.push_back(line);
                }
            }
        });
    }
    let transport = AsyncRwTransport::new_client(TapReader::new(stdout, tap), stdin);
    Ok((
        transport,
        ChildGuard {
            child,
            group,
            stderr: tail,
        },
    ))
}
