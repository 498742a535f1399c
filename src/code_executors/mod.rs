//! Code executors: run code blocks (python, bash, sh) in a sandbox and report exit code and output.
//!
//! The layer under `CodeExecutorAgent` (AutoGen's `autogen_core.code_executor` and
//! `autogen_ext.code_executors`):
//!
//! - [`CodeExecutor`]: the trait (execute blocks with a cancellation token; start / stop /
//!   restart; a work dir).
//! - [`DockerCommandLineCodeExecutor`]: runs blocks in a locked-down Docker container (bollard).
//! - [`LocalCommandLineCodeExecutor`]: runs blocks on the host; refuses unless explicitly enabled.
//! - [`extract_code_blocks`]: pulls fenced code blocks out of markdown.
//! - [`component`]: AutoGen-compatible component configs for both executors.
//!
//! See `docs/code_execution.md` for the security model of each executor.

pub mod component;
pub mod docker;
pub mod error;
pub mod executor;
pub mod extract;
pub mod language;
pub mod local;
mod output;
mod run;
pub mod workspace;

pub use docker::{DockerCommandLineCodeExecutor, DockerExecutorConfig};
pub use error::CodeExecutorError;
pub use executor::{CodeBlock, CodeExecutor, CodeResult};
pub use extract::{DEFAULT_LANGUAGES, extract_code_blocks, extract_code_blocks_with};
pub use language::Language;
pub use local::{LocalCommandLineCodeExecutor, LocalExecutorConfig};
