//! Child processes in their own process group, signalled as a group so that nothing a child
//! started outlives it (stdio MCP servers, local code execution).

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// The process group led by a child spawned with `process_group(0)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessGroup(Pid);

impl ProcessGroup {
    /// The group `child` leads; `None` once it has been reaped.
    pub fn of(child: &tokio::process::Child) -> Option<Self> {
        let id = i32::try_from(child.id()?).ok()?;
        Some(Self(Pid::from_raw(id)))
    }

    /// Ask every process of the group to stop (SIGTERM).
    pub fn terminate(self) {
        self.signal(Signal::SIGTERM);
    }

    /// Kill every process of the group (SIGKILL).
    pub fn kill(self) {
        self.signal(Signal::SIGKILL);
    }

    fn signal(self, signal: Signal) {
        // ESRCH (the group is gone already) is the normal case after a clean exit.
        let _ = killpg(self.0, signal);
    }
}
