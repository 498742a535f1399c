//! DockerCommandLineCodeExecutor lifecycle against a real engine: timeout kills the process,
//! cancel mid-run, per-run containers, restart, and no container left after stop or drop.

mod code_exec_support;

use std::path::Path;
use std::time::Duration;

use code_exec_support::{config, containers_of, engine_or_skip};
use tokio_util::sync::CancellationToken;
use toolyard::code_executors::docker::ContainerLifetime;
use toolyard::code_executors::{
    CodeBlock, CodeExecutor, CodeExecutorError, DockerCommandLineCodeExecutor,
};

/// A python block that marks `started`, then sleeps far longer than any test timeout, then
/// marks `finished`.
fn sleeper() -> CodeBlock {
    CodeBlock::new(
        "python",
        "import time\nopen('started', 'w').close()\ntime.sleep(3600)\nopen('finished', 'w').close()\n",
    )
}

/// Waits (without a deadline of its own: the test harness has one) until `path` exists.
async fn wait_for_file(path: &Path) {
    while !path.exists() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Python that prints how many processes in the container run a `tmp_code_` file.
const COUNT_CODE_PROCESSES: &str = "import os\n\
    n = 0\n\
    for p in os.listdir('/proc'):\n    \
        if p.isdigit() and int(p) != os.getpid():\n        \
            try:\n            \
                cmd = open(f'/proc/{p}/cmdline', 'rb').read()\n        \
            except OSError:\n            \
                continue\n        \
            n += b'tmp_code_' in cmd\n\
    print('code processes', n)\n";

#[tokio::test]
async fn timeout_kills_the_process() {
    let Some(docker) = engine_or_skip("timeout_kills_the_process").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    // 3 s: ample for python to write its marker; the block itself sleeps for an hour.
    let executor = DockerCommandLineCodeExecutor::new(config(dir.path(), 3)).expect("config");
    executor.start().await.expect("start");
    let first = executor.live_containers();
    assert_eq!(first.len(), 1);

    let result = executor
        .execute_code_blocks(&[sleeper()], &CancellationToken::new())
        .await
        .expect("a timeout is a result");
    assert!(result.timed_out);
    assert_eq!(result.exit_code, 124);
    assert!(result.output.contains("Timeout"), "{}", result.output);
    assert!(dir.path().join("started").exists(), "the block never ran");
    // The process was stopped by killing its container: the engine no longer has it.
    assert!(
        containers_of(&docker, executor.executor_id())
            .await
            .is_empty()
    );

    // The next run gets a fresh container in which no code process is left.
    let after = executor
        .execute_code_blocks(
            &[CodeBlock::new("python", COUNT_CODE_PROCESSES)],
            &CancellationToken::new(),
        )
        .await
        .expect("runs");
    assert!(
        after.output.contains("code processes 0"),
        "{}",
        after.output
    );
    assert_ne!(executor.live_containers(), first);
    assert!(!dir.path().join("finished").exists());
    executor.stop().await.expect("stop");
    assert!(
        containers_of(&docker, executor.executor_id())
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn cancel_mid_run_kills_the_container() {
    let Some(docker) = engine_or_skip("cancel_mid_run_kills_the_container").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let executor = DockerCommandLineCodeExecutor::new(config(dir.path(), 3600)).expect("config");
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
    let result = executor.execute_code_blocks(&[sleeper()], &cancel).await;
    assert!(
        matches!(result, Err(CodeExecutorError::Cancelled)),
        "{result:?}"
    );
    canceller.abort();
    assert!(dir.path().join("started").exists(), "the block never ran");
    assert!(
        containers_of(&docker, executor.executor_id())
            .await
            .is_empty()
    );
    assert!(!dir.path().join("finished").exists());

    // The executor is still usable.
    let again = executor
        .execute_code_blocks(
            &[CodeBlock::new("sh", "echo alive\n")],
            &CancellationToken::new(),
        )
        .await
        .expect("runs");
    assert!(again.output.contains("alive"));
    executor.stop().await.expect("stop");
    assert!(
        containers_of(&docker, executor.executor_id())
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn per_run_lifetime_leaves_no_container_between_runs() {
    let Some(docker) = engine_or_skip("per_run_lifetime_leaves_no_container_between_runs").await
    else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = config(dir.path(), 60);
    cfg.container_lifetime = ContainerLifetime::Run;
    let executor = DockerCommandLineCodeExecutor::new(cfg).expect("config");
    executor.start().await.expect("start");
    assert!(
        containers_of(&docker, executor.executor_id())
            .await
            .is_empty()
    );
    for round in 0..2 {
        // /tmp does not survive between runs: each run has its own container.
        let code = "import os\nprint('seen' if os.path.exists('/tmp/m') else 'fresh')\nopen('/tmp/m','w')\n";
        let result = executor
            .execute_code_blocks(&[CodeBlock::new("python", code)], &CancellationToken::new())
            .await
            .expect("runs");
        assert!(
            result.output.contains("fresh"),
            "round {round}: {}",
            result.output
        );
        assert!(
            containers_of(&docker, executor.executor_id())
                .await
                .is_empty()
        );
    }
    executor.stop().await.expect("stop");
}

#[tokio::test]
async fn executor_lifetime_keeps_state_until_restart() {
    let Some(docker) = engine_or_skip("executor_lifetime_keeps_state_until_restart").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let executor = DockerCommandLineCodeExecutor::new(config(dir.path(), 60)).expect("config");
    let probe = || {
        CodeBlock::new(
            "python",
            "import os\nprint('seen' if os.path.exists('/tmp/m') else 'fresh')\nopen('/tmp/m','w')\n",
        )
    };
    let run = |b: CodeBlock| {
        let executor = &executor;
        async move {
            executor
                .execute_code_blocks(&[b], &CancellationToken::new())
                .await
                .expect("runs")
                .output
        }
    };
    assert!(run(probe()).await.contains("fresh"));
    assert!(run(probe()).await.contains("seen"));
    let before = executor.live_containers();
    executor.restart().await.expect("restart");
    assert_ne!(executor.live_containers(), before);
    assert_eq!(
        containers_of(&docker, executor.executor_id()).await.len(),
        1
    );
    assert!(run(probe()).await.contains("fresh"));
    executor.stop().await.expect("stop");
    assert!(
        containers_of(&docker, executor.executor_id())
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn drop_without_stop_removes_the_container_and_temp_work_dir() {
    let Some(docker) =
        engine_or_skip("drop_without_stop_removes_the_container_and_temp_work_dir").await
    else {
        return;
    };
    let mut cfg = config(Path::new("/unused"), 60);
    cfg.work_dir = None;
    let executor = DockerCommandLineCodeExecutor::new(cfg).expect("config");
    executor.start().await.expect("start");
    let id = executor.executor_id().to_string();
    let work_dir = executor.work_dir().expect("temporary work dir");
    assert!(work_dir.exists());
    assert_eq!(containers_of(&docker, &id).await.len(), 1);
    drop(executor);
    assert!(containers_of(&docker, &id).await.is_empty());
    assert!(!work_dir.exists());
}

#[tokio::test]
async fn missing_image_is_a_clear_error() {
    let Some(_docker) = engine_or_skip("missing_image_is_a_clear_error").await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = config(dir.path(), 60);
    cfg.image = "toolyard-no-such-image:never".into();
    let executor = DockerCommandLineCodeExecutor::new(cfg).expect("config");
    let err = executor.start().await.expect_err("no such image");
    assert!(
        matches!(err, CodeExecutorError::ImageMissing { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("toolyard-no-such-image:never"));
}

/// Creates a running `sleep` container labelled as executor `executor_id`, owned by `owner`.
async fn labelled_container(docker: &bollard::Docker, executor_id: &str, owner: &str) -> String {
    use bollard::models::{ContainerCreateBody, HostConfig};
    use std::collections::HashMap;
    use toolyard::code_executors::docker::{CONTAINER_LABEL, OWNER_LABEL};
    let body = ContainerCreateBody {
        image: Some(code_exec_support::image()),
        cmd: Some(vec!["sleep".into(), "infinity".into()]),
        labels: Some(HashMap::from([
            (CONTAINER_LABEL.to_string(), executor_id.to_string()),
            (OWNER_LABEL.to_string(), owner.to_string()),
        ])),
        host_config: Some(HostConfig {
            network_mode: Some("none".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let id = docker
        .create_container(None, body)
        .await
        .expect("create")
        .id;
    docker.start_container(&id, None).await.expect("start");
    id
}

#[tokio::test]
async fn start_sweeps_containers_of_dead_processes_only() {
    use bollard::query_parameters::RemoveContainerOptions;
    use toolyard::code_executors::docker::owner_label_value;
    let Some(docker) = engine_or_skip("start_sweeps_containers_of_dead_processes_only").await
    else {
        return;
    };
    // A pid that existed and is gone: a process we ran and reaped.
    let mut child = std::process::Command::new("true").spawn().expect("spawn");
    let dead_pid = child.id();
    child.wait().expect("wait");
    let tag = uuid::Uuid::new_v4().to_string();
    let orphan_of = format!("orphan-{tag}");
    let kept_of = format!("kept-{tag}");
    labelled_container(&docker, &orphan_of, &owner_label_value(dead_pid)).await;
    // PID 1 is alive: its container must survive the sweep.
    let kept = labelled_container(&docker, &kept_of, &owner_label_value(1)).await;

    let dir = tempfile::tempdir().expect("tempdir");
    let executor = DockerCommandLineCodeExecutor::new(config(dir.path(), 60)).expect("config");
    executor.start().await.expect("start");
    assert!(
        containers_of(&docker, &orphan_of).await.is_empty(),
        "orphan not swept"
    );
    assert_eq!(containers_of(&docker, &kept_of).await, vec![kept.clone()]);

    executor.stop().await.expect("stop");
    let force = RemoveContainerOptions {
        force: true,
        ..Default::default()
    };
    docker
        .remove_container(&kept, Some(force))
        .await
        .expect("remove");
}
