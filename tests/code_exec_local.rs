//! LocalCommandLineCodeExecutor: refuses unless enabled; when enabled runs python and shell on
//! the host with timeout and cancel that kill the whole process group.

use std::path::Path;
use std::time::Duration;

use nix::sys::signal::kill;
use nix::unistd::Pid;
use tokio_util::sync::CancellationToken;
use toolyard::code_executors::{
    CodeBlock, CodeExecutor, CodeExecutorError, LocalCommandLineCodeExecutor, LocalExecutorConfig,
};

fn enabled(work_dir: &Path, timeout: u64) -> LocalExecutorConfig {
    LocalExecutorConfig {
        enabled: true,
        timeout,
        work_dir: Some(work_dir.to_path_buf()),
        ..LocalExecutorConfig::default()
    }
}

/// Whether process `pid` (read from `file`) is still alive (a zombie awaiting its reaper is not).
fn alive(file: &Path) -> bool {
    let pid: i32 = std::fs::read_to_string(file)
        .expect("pid file")
        .trim()
        .parse()
        .expect("pid");
    if kill(Pid::from_raw(pid), None).is_err() {
        return false;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Field 3, after the parenthesised command name, is the state.
    let state = stat
        .rsplit(')')
        .next()
        .and_then(|rest| rest.split_whitespace().next());
    !matches!(state, None | Some("Z") | Some("X"))
}

/// Whether the process in `file` is still alive once SIGKILL has had time to land: a killed
/// process needs a moment to finish exiting, so this polls (bounded) for it to die.
async fn survives(file: &Path) -> bool {
    for _ in 0..500 {
        if !alive(file) {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

async fn wait_for_file(path: &Path) {
    while !path.exists()
        || std::fs::read_to_string(path)
            .unwrap_or_default()
            .trim()
            .is_empty()
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A shell block that starts a background sleeper (pid in bg.pid), marks `started`, and waits.
const HANG: &str = "sleep 3600 &\necho $! > bg.pid\necho started > started\nwait\n";

#[tokio::test]
async fn refuses_unless_enabled() {
    let err = LocalCommandLineCodeExecutor::new(LocalExecutorConfig::default())
        .expect_err("disabled by default");
    assert!(matches!(err, CodeExecutorError::LocalExecutionDisabled));
    assert!(err.to_string().contains("enabled = true"), "{err}");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = enabled(dir.path(), 60);
    config.enabled = false;
    assert!(LocalCommandLineCodeExecutor::new(config).is_err());
}

#[tokio::test]
async fn runs_python_and_shell_in_the_work_dir_when_enabled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let executor = LocalCommandLineCodeExecutor::new(enabled(dir.path(), 60)).expect("enabled");
    let blocks = [
        CodeBlock::new(
            "python",
            "import sys\nprint('py-out')\nprint('py-err', file=sys.stderr)\nopen('made.txt','w').write('7')\n",
        ),
        CodeBlock::new("bash", "echo \"bash ${BASH_VERSINFO[0]}\"\n"),
        CodeBlock::new("sh", "cat made.txt; echo\n"),
    ];
    let result = executor
        .execute_code_blocks(&blocks, &CancellationToken::new())
        .await
        .expect("runs");
    assert_eq!(result.exit_code, 0, "{}", result.output);
    for expected in ["py-out", "py-err", "bash ", "7"] {
        assert!(
            result.output.contains(expected),
            "missing {expected}: {}",
            result.output
        );
    }
    let root = dir.path().canonicalize().expect("dir");
    assert_eq!(result.files_created, vec![root.join("made.txt")]);
    // cleanup_temp_files (default) removed the code files.
    assert_eq!(result.code_files.len(), 3);
    assert!(result.code_files.iter().all(|f| !f.exists()));
    executor.stop().await.expect("stop");
    assert!(root.join("made.txt").exists());
}

#[tokio::test]
async fn non_zero_exit_and_unknown_language_are_results() {
    let dir = tempfile::tempdir().expect("tempdir");
    let executor = LocalCommandLineCodeExecutor::new(enabled(dir.path(), 60)).expect("enabled");
    let failed = executor
        .execute_code_blocks(
            &[
                CodeBlock::new("sh", "echo x; exit 5\n"),
                CodeBlock::new("sh", "touch no\n"),
            ],
            &CancellationToken::new(),
        )
        .await
        .expect("runs");
    assert_eq!(failed.exit_code, 5);
    assert!(!dir.path().join("no").exists());
    let unknown = executor
        .execute_code_blocks(&[CodeBlock::new("cobol", "x")], &CancellationToken::new())
        .await
        .expect("result");
    assert_eq!(unknown.exit_code, 1);
    assert!(unknown.output.contains("unknown language cobol"));
    let outside = executor
        .execute_code_blocks(
            &[CodeBlock::new(
                "python",
                "# filename: ../escape.py\nprint(1)\n",
            )],
            &CancellationToken::new(),
        )
        .await
        .expect("result");
    assert_eq!(outside.exit_code, 1);
    assert!(outside.output.contains("not in the workspace"));
}

#[tokio::test]
async fn timeout_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 3 s: ample for the shell to write its pid file; the block itself waits for an hour.
    let executor = LocalCommandLineCodeExecutor::new(enabled(dir.path(), 3)).expect("enabled");
    let result = executor
        .execute_code_blocks(&[CodeBlock::new("sh", HANG)], &CancellationToken::new())
        .await
        .expect("a timeout is a result");
    assert!(result.timed_out);
    assert_eq!(result.exit_code, 124);
    assert!(dir.path().join("started").exists());
    assert!(
        !survives(&dir.path().join("bg.pid")).await,
        "background child survived the timeout"
    );
}

#[tokio::test]
async fn cancel_mid_run_kills_the_process_group() {
    let dir = tempfile::tempdir().expect("tempdir");
    let executor = LocalCommandLineCodeExecutor::new(enabled(dir.path(), 3600)).expect("enabled");
    let cancel = CancellationToken::new();
    let marker = dir.path().join("started");
    let canceller = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            // The guard only keeps a broken run from hanging the test; the marker is asserted.
            tokio::select! {
                () = wait_for_file(&marker) => {}
                () = tokio::time::sleep(Duration::from_secs(300)) => {}
            }
            cancel.cancel();
        })
    };
    let result = executor
        .execute_code_blocks(&[CodeBlock::new("sh", HANG)], &cancel)
        .await;
    assert!(
        matches!(result, Err(CodeExecutorError::Cancelled)),
        "{result:?}"
    );
    canceller.abort();
    assert!(dir.path().join("started").exists(), "the block never ran");
    assert!(
        !survives(&dir.path().join("bg.pid")).await,
        "background child survived the cancel"
    );
}

#[tokio::test]
async fn background_children_do_not_outlive_a_finished_block() {
    let dir = tempfile::tempdir().expect("tempdir");
    let executor = LocalCommandLineCodeExecutor::new(enabled(dir.path(), 60)).expect("enabled");
    let result = executor
        .execute_code_blocks(
            &[CodeBlock::new(
                "sh",
                "sleep 3600 &\necho $! > bg.pid\necho done\n",
            )],
            &CancellationToken::new(),
        )
        .await
        .expect("runs");
    assert_eq!(result.exit_code, 0);
    assert!(result.output.contains("done"));
    assert!(!survives(&dir.path().join("bg.pid")).await);
}
