//! The real servers of tests/peers/*.sh (PostgreSQL, Redis, HAProxy, Prometheus, Phoenix) for
//! tests: start one, read its JSON line, stop it (with its temp dir) when dropped.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

use super::ChildGuard;

/// A running tests/peers script and what its first stdout line said.
pub struct Peer {
    _guard: ChildGuard,
    info: Value,
}

impl Peer {
    /// Runs `tests/peers/{script} args...` and waits for its JSON line. Panics with the script's
    /// own message (on the test's stderr) when it cannot start the server: under CI a missing
    /// server is a failure, not a skip.
    pub fn start(script: &str, args: &[&str]) -> Self {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/peers")
            .join(script);
        let mut command = Command::new("bash");
        command
            .arg(&path)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut guard = ChildGuard::spawn(&mut command);
        let stdout = guard.child_mut().stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap_or_else(|e| panic!("{script}: reading its first line: {e}"));
        let info: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("{script} did not start (first line {line:?}): {e}"));
        Self {
            _guard: guard,
            info,
        }
    }

    /// A string field of the JSON line, e.g. `url`.
    pub fn get(&self, key: &str) -> &str {
        self.info[key]
            .as_str()
            .unwrap_or_else(|| panic!("the peer's JSON line has no `{key}`: {}", self.info))
    }
}
