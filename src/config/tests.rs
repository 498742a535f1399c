//! Unit tests of servers.toml parsing: the documented example, and each kind of bad input.

use super::*;

fn env(name: &str) -> Option<String> {
    (name == "REMOTE_TOKEN").then(|| "s3cret".to_string())
}

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("/etc/toolyard/servers.toml"), &env)
}

const EXAMPLE: &str = r#"
[gateway]
separator = "__"
prefix = "always"

[servers.everything]
command = "npx"
args = ["-y", "@modelcontextprotocol/server-everything"]
env = { LOG_LEVEL = "info" }
cwd = "."
timeout_secs = 60
tools.allow = ["echo", "add"]
tools.overrides.echo = { name = "say", description = "Repeat a message" }

[servers.remote]
url = "https://example.com/mcp"
headers = { Authorization = "Bearer ${REMOTE_TOKEN}" }

[servers.legacy]
url = "http://127.0.0.1:9000/sse"
transport = "sse"
"#;

#[test]
fn documented_example_parses() {
    let config = parse(EXAMPLE).unwrap();
    assert_eq!(config.gateway.separator, "__");
    assert_eq!(config.gateway.prefix, PrefixMode::Always);
    let names: Vec<_> = config.servers.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["everything", "remote", "legacy"]);

    let everything = config.server("everything").unwrap();
    let TransportConfig::Stdio {
        command,
        args,
        env,
        cwd,
    } = &everything.transport
    else {
        panic!("stdio expected");
    };
    assert_eq!(command, "npx");
    assert_eq!(args, &["-y", "@modelcontextprotocol/server-everything"]);
    assert_eq!(env.get("LOG_LEVEL").map(String::as_str), Some("info"));
    assert_eq!(cwd.as_deref(), Some(Path::new("/etc/toolyard/.")));
    assert_eq!(everything.timeout, Duration::from_secs(60));
    assert!(everything.tools.admits("echo") && !everything.tools.admits("printEnv"));
    let ov = &everything.tools.overrides["echo"];
    assert_eq!(ov.name.as_deref(), Some("say"));
    assert_eq!(ov.description.as_deref(), Some("Repeat a message"));

    let remote = config.server("remote").unwrap();
    let TransportConfig::StreamableHttp { url, headers } = &remote.transport else {
        panic!("streamable http expected");
    };
    assert_eq!(url.as_str(), "https://example.com/mcp");
    assert_eq!(headers["Authorization"], "Bearer s3cret");
    assert_eq!(remote.timeout, DEFAULT_TIMEOUT);

    assert_eq!(config.server("legacy").unwrap().transport.kind(), "sse");
}

#[track_caller]
fn assert_error(text: &str, expected: &[&str]) {
    let message = parse(text).unwrap_err().to_string();
    for part in expected {
        assert!(
            message.contains(part),
            "`{message}` should contain `{part}`"
        );
    }
    assert!(message.contains("/etc/toolyard/servers.toml"), "{message}");
}

#[test]
fn unknown_server_key_names_file_server_and_key() {
    assert_error(
        "[servers.a]\ncommand = \"x\"\ncomand = \"y\"\n",
        &["[servers.a]", "`comand`", "unknown key"],
    );
}

#[test]
fn unknown_nested_and_gateway_keys() {
    assert_error(
        "[servers.a]\ncommand = \"x\"\ntools.alow = []\n",
        &["`tools.alow`"],
    );
    assert_error(
        "[servers.a]\ncommand = \"x\"\ntools.overrides.t = { nam = \"y\" }\n",
        &["`tools.overrides`", "nam"],
    );
    assert_error(
        "[gateway]\nseperator = \"_\"\n",
        &["[gateway]", "`seperator`"],
    );
    assert_error(
        "[gateway]\nprefix = \"sometimes\"\n",
        &["`prefix`", "sometimes"],
    );
    assert_error("[serverz.a]\n", &["`serverz`"]);
}

#[test]
fn missing_environment_variable_is_named() {
    assert_error(
        "[servers.r]\nurl = \"https://x/mcp\"\nheaders = { A = \"${NOT_SET_ANYWHERE}\" }\n",
        &["[servers.r]", "`headers.A`", "NOT_SET_ANYWHERE"],
    );
}

#[test]
fn bad_urls_are_rejected() {
    assert_error(
        "[servers.r]\nurl = \"not a url\"\n",
        &["[servers.r]", "`url`", "not a valid URL"],
    );
    assert_error(
        "[servers.r]\nurl = \"ftp://x/y\"\n",
        &["`url`", "http or https"],
    );
}

#[test]
fn transport_shape_errors() {
    assert_error("[servers.a]\n", &["`command`", "needs"]);
    assert_error(
        "[servers.a]\ncommand = \"x\"\nurl = \"http://x\"\n",
        &["not both"],
    );
    assert_error(
        "[servers.a]\ncommand = \"x\"\ntransport = \"sse\"\n",
        &["`transport`"],
    );
    assert_error(
        "[servers.a]\nurl = \"http://x\"\ntransport = \"websocket\"\n",
        &["websocket"],
    );
    assert_error("[servers.a]\nurl = \"http://x\"\nargs = []\n", &["`args`"]);
    assert_error(
        "[servers.a]\ncommand = \"x\"\nheaders = {}\n",
        &["`headers`"],
    );
    assert_error(
        "[servers.a]\ncommand = \"x\"\ntimeout_secs = -1\n",
        &["`timeout_secs`", "positive"],
    );
    assert_error("[servers.a]\ncommand = \"x\"\nargs = \"-y\"\n", &["`args`"]);
    assert_error(
        "[servers.a]\ncommand = \"x\"\ntools.allow = [\"a\"]\ntools.deny = [\"b\"]\n",
        &["`tools.deny`"],
    );
}

#[test]
fn invalid_toml_names_file() {
    assert_error("[servers.a\n", &["invalid TOML"]);
}

#[test]
fn relative_command_paths_resolve_against_the_config_dir() {
    let config =
        parse("[servers.a]\ncommand = \"./bin/server\"\n[servers.b]\ncommand = \"node\"\n")
            .unwrap();
    let TransportConfig::Stdio { command, .. } = &config.servers[0].transport else {
        panic!()
    };
    assert_eq!(command, "/etc/toolyard/./bin/server");
    let TransportConfig::Stdio { command, .. } = &config.servers[1].transport else {
        panic!()
    };
    assert_eq!(command, "node");
}
