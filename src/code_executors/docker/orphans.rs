//! Sweeping containers whose owning toolyard process died before it could remove them.
//!
//! Every container carries [`OWNER_LABEL`] = `<hostname>/<boot id>:<pid>` of the process that
//! created it. When an executor starts, containers owned by a process of this host and boot that
//! no longer exists (a crash, a SIGKILL: no `stop()`, no drop) are removed.

use std::collections::HashMap;

use bollard::Docker;
use bollard::query_parameters::ListContainersOptions;
use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::Pid;

use super::engine;

/// Label naming the process that owns a container (`<hostname>/<boot id>:<pid>`).
pub const OWNER_LABEL: &str = "toolyard.code-executor.owner";

/// The owner label value for process `pid` of this host and boot.
pub fn owner_label_value(pid: u32) -> String {
    format!("{}:{pid}", host_id())
}

/// The owner label value for this process.
pub(super) fn this_owner() -> String {
    owner_label_value(std::process::id())
}

/// `<hostname>/<boot id>`: pids are only comparable within one host and boot.
fn host_id() -> String {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    format!(
        "{}/{}",
        read("/proc/sys/kernel/hostname"),
        read("/proc/sys/kernel/random/boot_id")
    )
}

/// Whether `pid` names a live process (EPERM: it exists but is not ours).
fn pid_alive(pid: i32) -> bool {
    matches!(kill(Pid::from_raw(pid), None), Ok(()) | Err(Errno::EPERM))
}

/// The pid in `owner` when it belongs to this host and boot.
fn local_pid(owner: &str, host: &str) -> Option<i32> {
    let (owner_host, pid) = owner.rsplit_once(':')?;
    (owner_host == host).then(|| pid.parse().ok()).flatten()
}

/// Removes containers whose owner process on this host is gone; returns how many. Failures are
/// logged: the sweep is best effort and never blocks starting an executor.
pub(super) async fn sweep(docker: &Docker) -> usize {
    let options = ListContainersOptions {
        all: true,
        filters: Some(HashMap::from([(
            "label".to_string(),
            vec![OWNER_LABEL.to_string()],
        )])),
        ..Default::default()
    };
    let containers = match docker.list_containers(Some(options)).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "could not list containers to sweep orphans");
            return 0;
        }
    };
    let host = host_id();
    let mut removed = 0;
    for container in containers {
        let (Some(id), Some(labels)) = (container.id, container.labels) else {
            continue;
        };
        let Some(pid) = labels.get(OWNER_LABEL).and_then(|o| local_pid(o, &host)) else {
            continue;
        };
        if pid_alive(pid) {
            continue;
        }
        tracing::info!(container = %id, owner_pid = pid, "removing orphaned code execution container");
        engine::remove_container(docker, &id).await;
        removed += 1;
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_hosts_pids_are_considered() {
        let host = host_id();
        assert_eq!(local_pid(&owner_label_value(42), &host), Some(42));
        assert_eq!(local_pid("other/boot:42", &host), None);
        assert_eq!(local_pid("garbage", &host), None);
        assert!(pid_alive(i32::try_from(std::process::id()).expect("pid")));
    }
}
