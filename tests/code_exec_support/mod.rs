//! Shared helpers for the code-executor tests: reaching the Docker engine (or skipping visibly),
//! listing an executor's containers, and a sandbox config for the test image.
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::HashMap;
use std::path::Path;

use bollard::query_parameters::ListContainersOptions;
use bollard::{API_DEFAULT_VERSION, Docker};
use toolyard::code_executors::docker::{CONTAINER_LABEL, DockerExecutorConfig};

/// The engine address tests use: `TOOLYARD_DOCKER_HOST` (set by `.ci/docker`), else
/// `DOCKER_HOST`, else the default socket.
pub fn docker_host() -> Option<String> {
    std::env::var("TOOLYARD_DOCKER_HOST")
        .ok()
        .or_else(|| std::env::var("DOCKER_HOST").ok())
        .filter(|h| !h.is_empty())
}

/// The image tests run code in (`TOOLYARD_DOCKER_IMAGE`, default `toolyard-python:bookworm`).
pub fn image() -> String {
    std::env::var("TOOLYARD_DOCKER_IMAGE")
        .ok()
        .filter(|i| !i.is_empty())
        .unwrap_or_else(|| "toolyard-python:bookworm".into())
}

async fn connect() -> Result<Docker, String> {
    let docker = match docker_host() {
        Some(h) if h.starts_with("unix://") || h.starts_with('/') => {
            Docker::connect_with_unix(&h, 60, API_DEFAULT_VERSION)
        }
        Some(h) => Docker::connect_with_http(&h, 60, API_DEFAULT_VERSION),
        None => Docker::connect_with_local_defaults(),
    }
    .map_err(|e| e.to_string())?;
    let docker = docker
        .negotiate_version()
        .await
        .map_err(|e| e.to_string())?;
    docker.ping().await.map_err(|e| e.to_string())?;
    Ok(docker)
}

/// A client for the test engine, or `None` after printing a visible SKIP line when no engine
/// can be reached. With `TOOLYARD_REQUIRE_DOCKER=1` (set by `.ci/run`) a missing engine fails.
pub async fn engine_or_skip(test: &str) -> Option<Docker> {
    match connect().await {
        Ok(docker) => Some(docker),
        Err(e) => {
            assert!(
                std::env::var("TOOLYARD_REQUIRE_DOCKER").as_deref() != Ok("1"),
                "TOOLYARD_REQUIRE_DOCKER=1 but no Docker engine is reachable: {e}"
            );
            eprintln!(
                "SKIPPED {test}: no Docker engine reachable ({e}); run `eval \"$(bash .ci/docker)\"`"
            );
            None
        }
    }
}

/// A sandbox config for the test image with `work_dir` and a `timeout` in seconds.
pub fn config(work_dir: &Path, timeout: u64) -> DockerExecutorConfig {
    DockerExecutorConfig {
        image: image(),
        docker_host: docker_host(),
        work_dir: Some(work_dir.to_path_buf()),
        timeout,
        ..DockerExecutorConfig::default()
    }
}

/// Ids of all containers (running or not) labelled as belonging to executor `executor_id`.
pub async fn containers_of(docker: &Docker, executor_id: &str) -> Vec<String> {
    let filters = HashMap::from([(
        "label".to_string(),
        vec![format!("{CONTAINER_LABEL}={executor_id}")],
    )]);
    let options = ListContainersOptions {
        all: true,
        filters: Some(filters),
        ..Default::default()
    };
    docker
        .list_containers(Some(options))
        .await
        .expect("list containers")
        .into_iter()
        .filter_map(|c| c.id)
        .collect()
}
