//! DockerCommandLineCodeExecutor against a real engine: languages, output, exit codes, the
//! sandbox (network, memory, user, read-only root) and the work dir; no container left behind.

mod code_exec_support;

use code_exec_support::{config, containers_of, engine_or_skip};
use tokio_util::sync::CancellationToken;
use toolyard::code_executors::{CodeBlock, CodeExecutor, DockerCommandLineCodeExecutor};

fn blocks(list: &[(&str, &str)]) -> Vec<CodeBlock> {
    list.iter().map(|(l, c)| CodeBlock::new(*l, *c)).collect()
}

/// Stops `executor` and asserts the engine lists none of its containers.
async fn stop_and_check(executor: &DockerCommandLineCodeExecutor, docker: &bollard::Docker) {
    executor.stop().await.expect("stop");
    assert!(
        containers_of(docker, executor.executor_id())
            .await
            .is_empty(),
        "containers left after stop"
    );
}

#[tokio::test]
async fn python_bash_and_sh_blocks_capture_stdout_and_stderr() {
    let Some(docker) = engine_or_skip("python_bash_and_sh_blocks_capture_stdout_and_stderr").await
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let executor = DockerCommandLineCodeExecutor::new(config(dir.path(), 60)).expect("config");
    let result = executor
        .execute_code_blocks(
            &blocks(&[
                (
                    "python",
                    "import sys\nprint('py-out')\nprint('py-err', file=sys.stderr)\n",
                ),
                (
                    "bash",
                    "echo \"bash-out ${BASH_VERSINFO[0]}\"\necho bash-err >&2\n",
                ),
                ("sh", "echo sh-out\n"),
                ("shell", "echo shell-out\n"),
            ]),
            &CancellationToken::new(),
        )
        .await
        .expect("runs");
    assert_eq!(result.exit_code, 0, "{}", result.output);
    for expected in [
        "py-out",
        "py-err",
        "bash-out 5",
        "bash-err",
        "sh-out",
        "shell-out",
    ] {
        assert!(
            result.output.contains(expected),
            "missing {expected}: {}",
            result.output
        );
    }
    assert!(
        result.output.find("py-out") < result.output.find("bash-out"),
        "blocks out of order: {}",
        result.output
    );
    assert_eq!(result.code_files.len(), 4);
    assert!(
        result
            .code_files
            .iter()
            .all(|f| f.starts_with(dir.path().canonicalize().expect("dir")))
    );
    assert!(!result.timed_out);
    stop_and_check(&executor, &docker).await;
}

#[tokio::test]
async fn non_zero_exit_stops_the_run() {
    let Some(docker) = engine_or_skip("non_zero_exit_stops_the_run").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let executor = DockerCommandLineCodeExecutor::new(config(dir.path(), 60)).expect("config");
    let result = executor
        .execute_code_blocks(
            &blocks(&[
                ("python", "print('before')\nraise SystemExit(3)\n"),
                ("sh", "touch second-block-ran\n"),
            ]),
            &CancellationToken::new(),
        )
        .await
        .expect("runs");
    assert_eq!(result.exit_code, 3, "{}", result.output);
    assert!(result.output.contains("before"));
    assert!(!dir.path().join("second-block-ran").exists());
    assert_eq!(result.code_files.len(), 1);

    let traceback = executor
        .execute_code_blocks(&blocks(&[("py", "1/0\n")]), &CancellationToken::new())
        .await
        .expect("runs");
    assert_eq!(traceback.exit_code, 1);
    assert!(
        traceback.output.contains("ZeroDivisionError"),
        "{}",
        traceback.output
    );
    stop_and_check(&executor, &docker).await;
}

#[tokio::test]
async fn unknown_language_is_an_error_result() {
    let Some(docker) = engine_or_skip("unknown_language_is_an_error_result").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let executor = DockerCommandLineCodeExecutor::new(config(dir.path(), 60)).expect("config");
    let result = executor
        .execute_code_blocks(
            &blocks(&[
                ("sh", "echo first\n"),
                ("Rust", "fn main() {}\n"),
                ("sh", "touch after\n"),
            ]),
            &CancellationToken::new(),
        )
        .await
        .expect("an unknown language is a result, not an error");
    assert_eq!(result.exit_code, 1);
    assert!(result.output.contains("first"));
    assert!(
        result.output.contains("unknown language rust"),
        "{}",
        result.output
    );
    assert!(!dir.path().join("after").exists());
    stop_and_check(&executor, &docker).await;
}

#[tokio::test]
async fn network_is_unreachable_inside() {
    let Some(docker) = engine_or_skip("network_is_unreachable_inside").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let executor = DockerCommandLineCodeExecutor::new(config(dir.path(), 60)).expect("config");
    let code = "import os, socket\n\
                print('interfaces', sorted(os.listdir('/sys/class/net')))\n\
                for host in [('1.1.1.1', 53), ('10.0.0.1', 80)]:\n    \
                    try:\n        \
                        socket.create_connection(host, timeout=5)\n        \
                        print('connected', host)\n    \
                    except OSError as e:\n        \
                        print('unreachable', host, e.errno)\n";
    let result = executor
        .execute_code_blocks(&blocks(&[("python", code)]), &CancellationToken::new())
        .await
        .expect("runs");
    assert_eq!(result.exit_code, 0, "{}", result.output);
    assert!(
        result.output.contains("interfaces ['lo']"),
        "{}",
        result.output
    );
    assert!(!result.output.contains("connected"), "{}", result.output);
    assert_eq!(
        result.output.matches("unreachable").count(),
        2,
        "{}",
        result.output
    );
    stop_and_check(&executor, &docker).await;
}

#[tokio::test]
async fn memory_limit_is_enforced() {
    let Some(docker) = engine_or_skip("memory_limit_is_enforced").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = config(dir.path(), 60);
    cfg.memory_bytes = Some(64 << 20);
    let executor = DockerCommandLineCodeExecutor::new(cfg).expect("config");
    let result = executor
        .execute_code_blocks(
            &blocks(&[
                ("python", "small = bytearray(8 << 20)\nprint('small ok')\n"),
                ("python", "big = bytearray(256 << 20)\nprint('big ok')\n"),
            ]),
            &CancellationToken::new(),
        )
        .await
        .expect("runs");
    assert!(result.output.contains("small ok"), "{}", result.output);
    assert!(!result.output.contains("big ok"), "{}", result.output);
    // Killed by the OOM killer (SIGKILL: 137) or a MemoryError (1): never success.
    assert!(
        result.exit_code == 137 || result.output.contains("MemoryError"),
        "exit {}: {}",
        result.exit_code,
        result.output
    );
    stop_and_check(&executor, &docker).await;
}

#[tokio::test]
async fn sandbox_is_non_root_with_read_only_root_and_writable_tmp() {
    let Some(docker) =
        engine_or_skip("sandbox_is_non_root_with_read_only_root_and_writable_tmp").await
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let executor = DockerCommandLineCodeExecutor::new(config(dir.path(), 60)).expect("config");
    let code = "import os\n\
                print('uid', os.getuid())\n\
                try:\n    open('/etc/owned', 'w')\n    print('root fs writable')\n\
                except OSError as e:\n    print('root fs read-only', e.errno)\n\
                open('/tmp/scratch', 'w').write('x')\n\
                print('tmp ok')\n";
    let result = executor
        .execute_code_blocks(&blocks(&[("python", code)]), &CancellationToken::new())
        .await
        .expect("runs");
    assert_eq!(result.exit_code, 0, "{}", result.output);
    assert!(
        !result.output.contains("uid 0\n"),
        "runs as root: {}",
        result.output
    );
    assert!(
        result.output.contains("root fs read-only 30"),
        "{}",
        result.output
    );
    assert!(result.output.contains("tmp ok"));
    stop_and_check(&executor, &docker).await;
}

#[tokio::test]
async fn file_written_in_work_dir_is_visible_on_host() {
    let Some(docker) = engine_or_skip("file_written_in_work_dir_is_visible_on_host").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let executor = DockerCommandLineCodeExecutor::new(config(dir.path(), 60)).expect("config");
    let result = executor
        .execute_code_blocks(
            &blocks(&[
                ("python", "open('result.txt', 'w').write('42')\n"),
                ("sh", "mkdir -p out && echo done > out/log.txt\n"),
            ]),
            &CancellationToken::new(),
        )
        .await
        .expect("runs");
    assert_eq!(result.exit_code, 0, "{}", result.output);
    let root = dir.path().canonicalize().expect("dir");
    assert_eq!(
        std::fs::read_to_string(root.join("result.txt")).expect("file"),
        "42"
    );
    assert_eq!(
        result.files_created,
        vec![root.join("out/log.txt"), root.join("result.txt")]
    );
    assert_eq!(executor.work_dir(), Some(root));
    stop_and_check(&executor, &docker).await;
    assert!(
        dir.path().join("result.txt").exists(),
        "a configured work dir is kept"
    );
}
