//! toolyard's table of component config keys (src/compose/keys.rs), against which workbench
//! files are checked for unknown keys, knows every key AutoGen 0.7.5's own config models have
//! (tests/fixtures/agentchat/config_keys.py asks AutoGen), under AutoGen's provider names: an
//! AutoGen or AutoGen Studio dump never trips the check.

use serde_json::Value;
use toolyard::compose::keys::{TOOL_OVERRIDE, known, server_params_keys};

fn autogen_keys() -> Value {
    let python = std::env::var_os("TOOLYARD_AUTOGEN_PYTHON")
        .expect("TOOLYARD_AUTOGEN_PYTHON is not set: run `eval \"$(bash .ci/setup)\"`");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/agentchat/config_keys.py"
    );
    let out = std::process::Command::new(python)
        .arg(script)
        .output()
        .expect("run the AutoGen python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("keys json")
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .expect("a list")
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

#[test]
fn every_autogen_config_key_is_a_known_key() {
    let theirs = autogen_keys();
    let components = theirs["components"].as_object().expect("components");
    assert!(components.len() > 30, "{theirs}");
    for (provider, keys) in components {
        let ours = known(provider).unwrap_or_else(|| panic!("`{provider}` is not known"));
        assert_eq!(ours.name, provider, "AutoGen's provider name");
        let our_keys = ours.keys.expect("keys are checked");
        for key in strings(keys) {
            assert!(
                our_keys.contains(&key),
                "`{provider}` config key `{key}` is missing"
            );
        }
    }
    for (kind, keys) in theirs["server_params"].as_object().expect("params") {
        let ours = server_params_keys(kind).unwrap_or_else(|| panic!("`{kind}` is not known"));
        assert_eq!(ours, strings(keys).as_slice(), "{kind}");
    }
    assert_eq!(TOOL_OVERRIDE, strings(&theirs["tool_override"]).as_slice());
}
