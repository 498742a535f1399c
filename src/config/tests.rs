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
        inherit_env,
    } = &everything.transport
    else {
        panic!("stdio expected");
    };
    assert_eq!(command, "npx");
    assert_eq!(args, &["-y", "@modelcontextprotocol/server-everything"]);
    assert_eq!(env.get("LOG_LEVEL").map(String::as_str), Some("info"));
    assert_eq!(cwd.as_deref(), Some(Path::new("/etc/toolyard/.")));
    assert!(!inherit_env);
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

#[test]
fn a_quoted_number_of_seconds_says_what_is_expected_and_where() {
    let message = parse("[servers.a]\ncommand = \"x\"\ntimeout_secs = \"60\"\n")
        .unwrap_err()
        .to_string();
    assert_eq!(
        message,
        "/etc/toolyard/servers.toml:3:16: [servers.a] key `timeout_secs`: expected a number of \
         seconds, found the string \"60\" (write it without quotes: 60)"
    );
    assert_error(
        "[servers.a]\ncommand = \"x\"\nstartup_timeout_secs = true\n",
        &["`startup_timeout_secs`", "expected a number of seconds"],
    );
    assert_error(
        "[servers.a]\ncommand = \"x\"\ntimeout_secs = 0\n",
        &[":3:16", "positive"],
    );
}

#[test]
fn unknown_keys_get_a_hint_when_a_known_key_is_close() {
    assert_error(
        "[servers.a]\ncommand = \"x\"\ncomand = \"y\"\n",
        &[":3:1:", "(did you mean `command`?)"],
    );
    assert_error(
        "[servers.a]\ncommand = \"x\"\ntimeout_sec = 5\n",
        &["`timeout_sec`", "(did you mean `timeout_secs`?)"],
    );
    assert_error(
        "[servers.a]\ncommand = \"x\"\ntools.alow = []\n",
        &["(did you mean `allow`?)"],
    );
    assert_error(
        "[servers.a]\ncommand = \"x\"\ntools.overrides.t = { nam = \"y\" }\n",
        &["tool `t`", "unknown key `nam` (did you mean `name`?)"],
    );
    assert_error(
        "[gateway]\nseperator = \"_\"\n",
        &["(did you mean `separator`?)"],
    );
    assert_error("[serverz.a]\n", &["(did you mean `servers`?)"]);
    let far = parse("[servers.a]\ncommand = \"x\"\nbanana = 1\n")
        .unwrap_err()
        .to_string();
    assert!(
        far.ends_with("[servers.a] key `banana`: unknown key"),
        "{far}"
    );
}

#[test]
fn checks_after_serde_keep_line_and_column() {
    assert_error(
        "[servers.a]\ncommand = \"x\"\n\nurl = \"http://x\"\n",
        &[":4:7:", "`url`", "not both"],
    );
    assert_error(
        "[servers.r]\nurl = \"http://x\"\nheaders = { A = \"${NOPE}\" }\n",
        &[":3:17:", "`headers.A`", "NOPE"],
    );
    assert_error(
        "[servers.a]\ncommand = \"x\"\nargs = [\"ok\", 5]\n",
        &[":3:15:", "`args[1]`", "expected a string"],
    );
    assert_error(
        "[gateway]\nseparator = \"\"\n",
        &[":2:13:", "must not be empty"],
    );
    assert_error("[servers.a\n", &[":1:11:", "invalid TOML"]);
}

#[test]
fn session_defaults_to_shared_with_default_caller_limits() {
    let config = parse("[servers.a]\ncommand = \"x\"\n").unwrap();
    let a = config.server("a").unwrap();
    assert_eq!(a.session, SessionMode::Shared);
    assert_eq!(a.caller_sessions, CallerSessions::default());
    assert_eq!(CallerSessions::default().max, 32);
    assert_eq!(CallerSessions::default().idle, Duration::from_secs(300));
}

#[test]
fn per_caller_sessions_take_their_limits() {
    let config = parse(
        "[servers.a]\ncommand = \"x\"\nsession = \"per_caller\"\n\
         max_callers = 4\ncaller_idle_secs = 2.5\n\
         [servers.b]\ncommand = \"y\"\nsession = \"per_caller\"\n\
         [servers.c]\ncommand = \"z\"\nsession = \"shared\"\n",
    )
    .unwrap();
    let a = config.server("a").unwrap();
    assert_eq!(a.session, SessionMode::PerCaller);
    assert_eq!(
        a.caller_sessions,
        CallerSessions {
            max: 4,
            idle: Duration::from_millis(2500)
        }
    );
    let b = config.server("b").unwrap();
    assert_eq!(b.session, SessionMode::PerCaller);
    assert_eq!(b.caller_sessions, CallerSessions::default());
    assert_eq!(config.server("c").unwrap().session, SessionMode::Shared);
}

#[test]
fn caller_limits_need_per_caller_sessions_and_valid_values() {
    let only = "only allowed with session = \"per_caller\"";
    assert_error(
        "[servers.a]\ncommand = \"x\"\nmax_callers = 4\n",
        &["`max_callers`", only],
    );
    assert_error(
        "[servers.a]\ncommand = \"x\"\nsession = \"shared\"\ncaller_idle_secs = 9\n",
        &[":4:20:", "`caller_idle_secs`", only],
    );
    let per_caller = "[servers.a]\ncommand = \"x\"\nsession = \"per_caller\"\n";
    assert_error(
        &format!("{per_caller}max_callers = 0\n"),
        &["`max_callers`", "at least 1"],
    );
    assert_error(
        &format!("{per_caller}max_callers = 2.5\n"),
        &["`max_callers`", "whole number"],
    );
    assert_error(
        &format!("{per_caller}max_callers = \"4\"\n"),
        &["`max_callers`", "expected a whole number", "without quotes"],
    );
    assert_error(
        &format!("{per_caller}caller_idle_secs = 0\n"),
        &["`caller_idle_secs`", "positive"],
    );
    assert_error(
        &format!("{per_caller}caller_idle_secs = \"300\"\n"),
        &["`caller_idle_secs`", "expected a number of seconds"],
    );
    assert_error(
        "[servers.a]\ncommand = \"x\"\nsession = \"per-caller\"\n",
        &["`session`", "per-caller", "`shared` or `per_caller`"],
    );
}

#[test]
fn relative_paths_resolve_against_the_config_folder() {
    let config = Config::parse(
        "[servers.a]\ncommand = \"bin/server\"\ncwd = \"work\"\n",
        Path::new("conf/servers.toml"),
        &env,
    )
    .unwrap();
    let here = std::env::current_dir().unwrap();
    assert_eq!(config.dir, here.join("conf"));
    let TransportConfig::Stdio { command, cwd, .. } = &config.servers[0].transport else {
        panic!("stdio expected")
    };
    assert_eq!(Path::new(command), here.join("conf/bin/server"));
    assert_eq!(cwd.as_deref(), Some(here.join("conf/work").as_path()));
}

/// The bundled config and the container's: loadable as the command line loads them, no
/// server needing cargo, and server-everything's `get-env` (it prints the environment, API
/// keys included) never served.
#[test]
fn bundled_configs_need_no_cargo_and_hide_get_env() {
    let exe = |name: &str| (name == TOOLYARD_EXE).then(|| "/opt/toolyard".to_string());
    for file in ["servers.toml", "deploy/servers.toml"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let config = Config::load_with(&path, &exe).unwrap();
        let everything = config.server("everything").expect("everything is bundled");
        assert!(!everything.tools.admits("get-env"), "{file} serves get-env");
        assert!(everything.tools.admits("echo"), "{file}");
        for server in &config.servers {
            if let TransportConfig::Stdio { command, .. } = &server.transport {
                assert_ne!(command, "cargo", "{file}: {} needs cargo", server.name);
            }
        }
        let demo = config.server("demo").expect("demo is bundled");
        let TransportConfig::Stdio { command, args, .. } = &demo.transport else {
            panic!("stdio expected")
        };
        assert_eq!(
            (command.as_str(), args.as_slice()),
            ("/opt/toolyard", &["demo-server".to_string()][..])
        );
    }
}

#[test]
fn gateway_session_limits_have_defaults_and_take_values() {
    let defaults = parse("").expect("empty config");
    assert_eq!(defaults.gateway.max_sessions, 10_000);
    assert_eq!(
        defaults.gateway.session_idle,
        std::time::Duration::from_secs(1800)
    );
    let set = parse("[gateway]\nsession_idle_secs = 90\nmax_sessions = 3\n").expect("config");
    assert_eq!(set.gateway.max_sessions, 3);
    assert_eq!(set.gateway.session_idle, std::time::Duration::from_secs(90));
    assert_error(
        "[gateway]\nmax_sessions = 0\n",
        &["`max_sessions`", "at least 1"],
    );
    assert_error(
        "[gateway]\nsession_idle_secs = \"1800\"\n",
        &["`session_idle_secs`", "expected a number of seconds"],
    );
}

#[test]
fn upstream_auth_is_for_streamable_http_and_keeps_its_secret_out_of_sight() {
    let table = "[servers.a.auth]\nclient_id = \"ci\"\ntoken_url = \"https://idp.test/token\"\n";
    let config = parse(&format!(
        "[servers.a]\nurl = \"https://mcp.test/mcp\"\nsession = \"per_caller\"\n{table}scopes = [\"mcp:tools\"]\n\
         client_secret_env = \"REMOTE_TOKEN\"\ngrant = \"token_exchange\"\n"
    ))
    .expect("valid");
    let auth = config.servers[0].auth.as_ref().expect("auth");
    assert_eq!(auth.grant, crate::config::UpstreamGrant::TokenExchange);
    assert_eq!(
        auth.resource, "https://mcp.test/mcp",
        "the server's url by default"
    );
    assert_eq!(auth.scopes, ["mcp:tools"]);
    let secret = auth.client_secret.as_ref().expect("secret");
    assert!(!format!("{config:?}").contains(secret.expose()));
    assert_error(
        &format!("[servers.a]\ncommand = \"x\"\n{table}"),
        &["`auth`", "only streamable HTTP servers"],
    );
    assert_error(
        &format!("[servers.a]\nurl = \"http://h/sse\"\ntransport = \"sse\"\n{table}"),
        &["`auth`", "only streamable HTTP servers"],
    );
    assert_error(
        &format!(
            "[servers.a]\nurl = \"http://h/mcp\"\nheaders = {{ Authorization = \"x\" }}\n{table}"
        ),
        &["`auth`", "headers.Authorization"],
    );
    assert_error(
        &format!(
            "[servers.a]\nurl = \"http://h/mcp\"\n{table}client_secret_env = \"NOPE_NOT_SET\"\n"
        ),
        &["`auth.client_secret_env`", "NOPE_NOT_SET", "not set"],
    );
    assert_error(
        &format!("[servers.a]\nurl = \"http://h/mcp\"\n{table}grant = \"token_exchange\"\n"),
        &["`auth`", "needs session = \"per_caller\""],
    );
    assert_error(
        &format!("[servers.a]\nurl = \"http://h/mcp\"\n{table}grant = \"password\"\n"),
        &["grant", "password"],
    );
    assert_error(
        &format!("[servers.a]\nurl = \"http://h/mcp\"\n{table}client_secret = \"x\"\n"),
        &["`auth.client_secret`", "client_secret_env"],
    );
}

const POLICY: &str = r#"
[policy]
default = "allow"
[[policy.rules]]
allow = 'jwt.sub == "alice"'
[[policy.rules]]
deny = """
mcp.tool.name == "x"
"""
[policy.rate_limit]
per_minute = 120
[policy.rate_limit.tools]
"everything__echo" = 10

[audit]
path = "audit.jsonl"
include_arguments = true
"#;

#[test]
fn policy_and_audit_parse_with_rule_positions() {
    let config = parse(POLICY).unwrap();
    let policy = config.policy.unwrap();
    assert_eq!(policy.default, Effect::Allow);
    assert_eq!(policy.rules.len(), 2);
    assert_eq!(policy.rules[0].effect, Effect::Allow);
    assert_eq!(
        policy.rules[0].at,
        Location {
            line: 5,
            column: 10
        }
    );
    assert_eq!(policy.rules[1].effect, Effect::Deny);
    assert_eq!(policy.rules[1].expression, "mcp.tool.name == \"x\"\n");
    assert_eq!(policy.rules[1].at, Location { line: 8, column: 1 });
    assert_eq!(policy.rate_limit.per_minute.map(|n| n.get()), Some(120));
    assert_eq!(policy.rate_limit.tools["everything__echo"].get(), 10);
    let audit = config.audit.unwrap();
    assert_eq!(
        audit.path.as_deref(),
        Some(Path::new("/etc/toolyard/audit.jsonl"))
    );
    assert!(audit.include_arguments);
}

#[test]
fn policy_defaults_to_deny_and_audit_to_stderr() {
    let config = parse("[policy]\n[audit]\npath = \"-\"\n").unwrap();
    assert_eq!(config.policy.unwrap().default, Effect::Deny);
    assert_eq!(config.audit.unwrap().path, None);
    let config = parse("").unwrap();
    assert!(config.policy.is_none() && config.audit.is_none());
}

#[test]
fn bad_policy_tables_name_their_key() {
    let err = parse("[policy]\ndefault = \"maybe\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains(":2:11: [policy] key `default`"), "{err}");
    let err = parse("[policy]\n[[policy.rules]]\nalow = 'true'\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("[policy] key `rules[0].alow`: unknown key"),
        "{err}"
    );
    assert!(err.contains("allow"), "a hint: {err}");
    let err = parse("[policy]\n[[policy.rules]]\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("[policy.rules[0]]: a rule needs"), "{err}");
    let err = parse("[policy.rate_limit]\nper_minute = 0\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("[policy] key `rate_limit.per_minute`"),
        "{err}"
    );
    let err = parse("[audit]\nfile = \"x\"\n").unwrap_err().to_string();
    assert!(err.contains("[audit] key `file`: unknown key"), "{err}");
}

#[test]
fn store_urls_resolve_and_the_ttl_defaults_to_a_week() {
    let config = parse("").unwrap();
    assert_eq!(config.store, StoreConfig::default());
    assert_eq!(
        config.store.conversation_ttl,
        std::time::Duration::from_secs(604_800)
    );
    let config =
        parse("[store]\nurl = \"sqlite://.toolyard/state.db\"\nconversation_ttl_secs = 60\n")
            .unwrap();
    assert_eq!(
        config.store.url,
        Some(StoreUrl::Sqlite(PathBuf::from(
            "/etc/toolyard/.toolyard/state.db"
        )))
    );
    assert_eq!(config.store.conversation_ttl.as_secs(), 60);
    let config = parse("[store]\nurl = \"sqlite:///var/lib/toolyard.db\"\n").unwrap();
    assert_eq!(
        config.store.url,
        Some(StoreUrl::Sqlite(PathBuf::from("/var/lib/toolyard.db")))
    );
    let config = parse("[store]\nurl = \"memory://\"\n").unwrap();
    assert_eq!(config.store.url, Some(StoreUrl::Memory));
    let pg = "postgres://toolyard:secret@db.internal:5432/toolyard";
    let config = parse(&format!("[store]\nurl = \"{pg}\"\n")).unwrap();
    let url = config.store.url.unwrap();
    assert_eq!(url, StoreUrl::Postgres(pg.into()));
    assert_eq!(
        url.to_string(),
        "postgres://toolyard:***@db.internal:5432/toolyard",
        "the password is never shown"
    );
}

#[test]
fn telemetry_table_reads_its_keys_and_defaults_when_absent() {
    assert_eq!(parse("").unwrap().telemetry, TelemetryConfig::default());
    let config = parse(
        r#"
[telemetry]
endpoint = "http://127.0.0.1:4318"
protocol = "grpc"
service_name = "gateway-eu"
sample_ratio = 0.25
capture_content = true
"#,
    )
    .unwrap();
    assert_eq!(
        config.telemetry,
        TelemetryConfig {
            endpoint: Some("http://127.0.0.1:4318".into()),
            protocol: Some(OtlpProtocol::Grpc),
            service_name: Some("gateway-eu".into()),
            sample_ratio: Some(0.25),
            capture_content: Some(true),
        }
    );
}

#[test]
fn bad_store_tables_name_their_key() {
    let err = parse("[store]\nurl = \"mysql://x\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(":2:7: [store] key `url`: `mysql://x` is not a store URL"),
        "{err}"
    );
    let err = parse("[store]\nconversation_ttl = 5\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("[store] key `conversation_ttl`: unknown key"),
        "{err}"
    );
    assert!(err.contains("conversation_ttl_secs"), "a hint: {err}");
    let err = parse("[store]\nconversation_ttl_secs = 0\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("[store] key `conversation_ttl_secs`: must be a positive"),
        "{err}"
    );
    let err = parse("[store]\nurl = \"sqlite://\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("needs a file path"), "{err}");
}

#[test]
fn telemetry_table_refuses_unknown_keys_bad_ratios_bad_endpoints_and_protocols() {
    let unknown = parse("[telemetry]\nendpointt = \"http://x\"\n").unwrap_err();
    assert!(unknown.to_string().contains("endpointt"), "{unknown}");
    let ratio = parse("[telemetry]\nsample_ratio = 1.5\n").unwrap_err();
    assert!(ratio.to_string().contains("sample_ratio"), "{ratio}");
    assert!(ratio.to_string().contains("between 0.0 and 1.0"), "{ratio}");
    let endpoint = parse("[telemetry]\nendpoint = \"not a url\"\n").unwrap_err();
    assert!(endpoint.to_string().contains("endpoint"), "{endpoint}");
    let protocol = parse("[telemetry]\nprotocol = \"http/json\"\n").unwrap_err();
    assert!(protocol.to_string().contains("http/json"), "{protocol}");
}
