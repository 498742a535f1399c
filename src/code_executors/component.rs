//! AutoGen-compatible component configs for the executors (`component_type: code_executor`).

use std::sync::Arc;

use serde::Serialize;

use super::docker::{DockerCommandLineCodeExecutor, DockerExecutorConfig};
use super::error::CodeExecutorError;
use super::executor::CodeExecutor;
use super::local::{LocalCommandLineCodeExecutor, LocalExecutorConfig};
use crate::component::ComponentModel;

/// AutoGen provider name of the Docker executor.
pub const DOCKER_PROVIDER: &str = "autogen_ext.code_executors.docker.DockerCommandLineCodeExecutor";
/// AutoGen provider name of the local executor.
pub const LOCAL_PROVIDER: &str = "autogen_ext.code_executors.local.LocalCommandLineCodeExecutor";
/// The component type of code executors.
pub const COMPONENT_TYPE: &str = "code_executor";

/// Which executor a provider name selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutorKind {
    /// [`DockerCommandLineCodeExecutor`].
    Docker,
    /// [`LocalCommandLineCodeExecutor`].
    Local,
}

/// Maps a provider name (AutoGen class path, any module path ending in the class name, or the
/// bare class name) to an executor kind.
pub fn executor_kind(provider: &str) -> Option<ExecutorKind> {
    match provider.rsplit('.').next().unwrap_or(provider) {
        "DockerCommandLineCodeExecutor" => Some(ExecutorKind::Docker),
        "LocalCommandLineCodeExecutor" => Some(ExecutorKind::Local),
        _ => None,
    }
}

/// The component for `provider` with `config` serialised.
pub(crate) fn dump(
    provider: &str,
    label: &str,
    config: &impl Serialize,
) -> Result<ComponentModel, CodeExecutorError> {
    let config = serde_json::to_value(config).map_err(|e| CodeExecutorError::Component {
        reason: format!("config of {label} does not serialise: {e}"),
    })?;
    Ok(ComponentModel {
        provider: provider.to_string(),
        component_type: Some(COMPONENT_TYPE.to_string()),
        version: Some(1),
        component_version: Some(1),
        description: Some(format!("Code executor ({label})")),
        label: Some(label.to_string()),
        config,
    })
}

/// Builds an executor from its component. The local executor refuses unless its config has
/// `enabled: true` (AutoGen's own configs never do, so loading one fails clearly).
pub fn load_code_executor(
    component: &ComponentModel,
) -> Result<Arc<dyn CodeExecutor>, CodeExecutorError> {
    if let Some(kind) = component.component_type.as_deref()
        && kind != COMPONENT_TYPE
    {
        return Err(CodeExecutorError::Component {
            reason: format!("component_type is `{kind}`, expected `{COMPONENT_TYPE}`"),
        });
    }
    let bad_config = |e: serde_json::Error| CodeExecutorError::Component {
        reason: format!("bad config for {}: {e}", component.provider),
    };
    match executor_kind(&component.provider) {
        Some(ExecutorKind::Docker) => {
            let config: DockerExecutorConfig =
                serde_json::from_value(component.config.clone()).map_err(bad_config)?;
            Ok(Arc::new(DockerCommandLineCodeExecutor::new(config)?))
        }
        Some(ExecutorKind::Local) => {
            let config: LocalExecutorConfig =
                serde_json::from_value(component.config.clone()).map_err(bad_config)?;
            Ok(Arc::new(LocalCommandLineCodeExecutor::new(config)?))
        }
        None => Err(CodeExecutorError::Component {
            reason: format!("unknown code executor provider `{}`", component.provider),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn component(provider: &str, config: serde_json::Value) -> ComponentModel {
        ComponentModel {
            provider: provider.into(),
            component_type: Some("code_executor".into()),
            version: Some(1),
            component_version: Some(1),
            description: None,
            label: None,
            config,
        }
    }

    #[test]
    fn autogen_docker_config_loads_and_dumps_back() {
        // As AutoGen 0.7.5 dumps it (extra fields ignored).
        let c = component(
            DOCKER_PROVIDER,
            json!({"image": "toolyard-python:bookworm", "container_name": null, "timeout": 30,
                   "work_dir": "/tmp/x", "bind_dir": null, "auto_remove": true,
                   "stop_container": true, "functions_module": "functions", "extra_volumes": {},
                   "extra_hosts": {}, "init_command": null, "delete_tmp_files": false}),
        );
        let executor = load_code_executor(&c).expect("loads");
        let dumped = executor.dump_component().expect("dumps");
        assert_eq!(dumped.provider, DOCKER_PROVIDER);
        assert_eq!(dumped.config["image"], "toolyard-python:bookworm");
        assert_eq!(dumped.config["timeout"], 30);
        assert_eq!(dumped.config["network_mode"], "none");
        let again = load_code_executor(&dumped).expect("reloads");
        assert_eq!(again.dump_component().expect("dumps"), dumped);
    }

    #[test]
    fn autogen_local_config_is_refused_until_enabled() {
        let config = json!({"timeout": 60, "work_dir": null, "functions_module": "functions",
                            "cleanup_temp_files": true});
        let err = load_code_executor(&component(LOCAL_PROVIDER, config)).err();
        assert!(
            matches!(err, Some(CodeExecutorError::LocalExecutionDisabled)),
            "{err:?}"
        );
        let enabled = component("LocalCommandLineCodeExecutor", json!({"enabled": true}));
        let executor = load_code_executor(&enabled).expect("enabled loads");
        assert_eq!(
            executor.dump_component().expect("dumps").config["enabled"],
            true
        );
    }

    #[test]
    fn unknown_provider_and_bad_values_are_errors() {
        assert!(load_code_executor(&component("x.Jupyter", json!({}))).is_err());
        assert!(load_code_executor(&component(DOCKER_PROVIDER, json!({"timeout": 0}))).is_err());
        assert!(load_code_executor(&component(DOCKER_PROVIDER, json!({"cpus": -1.0}))).is_err());
    }
}
