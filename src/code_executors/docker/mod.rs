//! `DockerCommandLineCodeExecutor`: runs code blocks in a locked-down Docker container (bollard).
//!
//! The container gets the work dir bind-mounted at `/workspace`, no network (by default), memory,
//! CPU and process limits, a non-root user, a read-only root filesystem with a small `/tmp`
//! tmpfs, no capabilities and `no-new-privileges`. A block that outlives its timeout, or whose
//! run is cancelled, is stopped by killing the container (a fresh one is made for the next
//! block). `stop()` (and, as a backstop, dropping the executor) removes the container; containers
//! left by a process that died are swept when the next executor on the host starts.

mod config;
mod engine;
mod executor;
mod orphans;

pub use config::{ContainerLifetime, DockerExecutorConfig};
pub use engine::{CONTAINER_LABEL, WORKSPACE};
pub use executor::DockerCommandLineCodeExecutor;
pub use orphans::{OWNER_LABEL, owner_label_value};
