//! Runs one code file as a host process in its own process group, with timeout and cancel.

use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use crate::process_group::ProcessGroup;
use tokio::io::AsyncReadExt;
use tokio::net::unix::pipe;
use tokio_util::sync::CancellationToken;

use crate::code_executors::error::CodeExecutorError;
use crate::code_executors::output::OutputBuffer;
use crate::code_executors::run::BlockOutcome;

/// How the wait ended.
enum Ending {
    Exited(ExitStatus),
    TimedOut,
    Cancelled,
}

/// Runs `program file` in `dir`; stdout and stderr share one pipe, so output keeps its order.
/// The whole process group is killed on timeout, on cancel, and after the program exits (so
/// background children do not outlive the block).
pub(super) async fn run_program(
    program: &str,
    file: &Path,
    dir: &Path,
    output: &mut OutputBuffer,
    timeout: Duration,
    cancel: &CancellationToken,
) -> Result<BlockOutcome, CodeExecutorError> {
    let spawn_err = |source| CodeExecutorError::Spawn {
        program: program.to_string(),
        source,
    };
    let (reader, writer) = std::io::pipe().map_err(spawn_err)?;
    let mut command = tokio::process::Command::new(program);
    command
        .arg(file)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(writer.try_clone().map_err(spawn_err)?)
        .stderr(writer)
        .process_group(0)
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(spawn_err)?;
    // The Command holds the pipe's write ends: drop it so EOF arrives when the group exits.
    drop(command);
    let group = ProcessGroup::of(&child);
    let mut receiver = pipe::Receiver::from_owned_fd(OwnedFd::from(reader)).map_err(spawn_err)?;

    let ending = tokio::select! {
        (_, status) = async {
            // Once the program exits, its group is killed, which closes the pipe for `drain`.
            let wait = async {
                let status = child.wait().await;
                kill_group(group);
                status
            };
            tokio::join!(drain(&mut receiver, output), wait)
        } => Ending::Exited(status.map_err(spawn_err)?),
        () = tokio::time::sleep(timeout) => Ending::TimedOut,
        () = cancel.cancelled() => Ending::Cancelled,
    };
    kill_group(group);
    let _ = child.wait().await;
    match ending {
        Ending::Exited(status) => Ok(BlockOutcome::Exited(exit_code(status))),
        Ending::TimedOut => Ok(BlockOutcome::TimedOut),
        Ending::Cancelled => Err(CodeExecutorError::Cancelled),
    }
}

/// Kill the program's whole process group (if it was spawned).
fn kill_group(group: Option<ProcessGroup>) {
    if let Some(group) = group {
        group.kill();
    }
}

async fn drain(receiver: &mut pipe::Receiver, output: &mut OutputBuffer) {
    let mut chunk = vec![0u8; 8192];
    loop {
        match receiver.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => output.push(&chunk[..n]),
        }
    }
}

/// The exit code, or 128 + signal number when killed by a signal (as a shell reports it).
fn exit_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1)
}
