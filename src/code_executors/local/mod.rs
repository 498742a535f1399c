//! `LocalCommandLineCodeExecutor`: runs code blocks as host processes. Dangerous; opt-in only.
//!
//! Code runs with this process's user, environment, file system and network: a model (or whoever
//! controls the model's input, e.g. a prompt injection in a fetched web page) can read secrets,
//! delete files or reach internal services. The executor therefore refuses to exist unless its
//! config says `enabled = true`. Prefer the Docker executor.

mod config;
mod executor;
mod process;

pub use config::LocalExecutorConfig;
pub use executor::LocalCommandLineCodeExecutor;
