//! Upstream stdio servers: spawn the child in its own process group, log its stderr, kill the group.
//!
//! rmcp's `TokioChildProcess` decodes stdout internally; we spawn the child ourselves (the same
//! way, in a new process group) so stdout can pass through a [`TapReader`] into rmcp's
//! `AsyncRwTransport`, which keeps tool fields rmcp's typed structs would drop.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
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
}

/// Owns a spawned child and its process group; killing happens on `shutdown` or drop.
#[derive(Debug)]
pub struct ChildGuard {
    child: Child,
    pgid: Option<i32>,
}

impl ChildGuard {
    /// The child's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Ask the process group to stop (SIGTERM), then kill it after `grace`.
    pub async fn shutdown(&mut self, grace: Duration) {
        if let Some(pgid) = self.pgid {
            let _ = killpg(Pid::from_raw(pgid), Signal::SIGTERM);
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
        if let Some(pgid) = self.pgid {
            let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
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
    let pgid = child.id().and_then(|id| i32::try_from(id).ok());
    let missing = |what: &str| std::io::Error::other(format!("child {what} was not captured"));
    let stdout = child.stdout.take().ok_or_else(|| missing("stdout"))?;
    let stdin = child.stdin.take().ok_or_else(|| missing("stdin"))?;
    if let Some(stderr) = child.stderr.take() {
        let server = server.to_string();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::info!(target: "toolyard::upstream::stderr", server = %server, "{line}");
            }
        });
    }
    let transport = AsyncRwTransport::new_client(TapReader::new(stdout, tap), stdin);
    Ok((transport, ChildGuard { child, pgid }))
}
