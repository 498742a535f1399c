//! Inbound authentication (`[auth]`) of `toolyard serve`, against a real authorization server
//! (tests/peers/oidc: oidc-provider) and real clients: the Python `mcp` SDK's OAuth client through
//! the whole discovery (401 → protected resource metadata → authorization server metadata →
//! authorization code + PKCE → tools), an API key client, the bad-token gauntlet (each refusal
//! with its status and `WWW-Authenticate`, nothing executed), two callers at once with sessions
//! bound to their owner, the authorization server dying while cached keys keep working, opaque
//! tokens by introspection, secure-by-default start-up, and no token ever in the log.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::oidc::{Oidc, b64url, token_checking_upstream};
use common::{ChildGuard, example_bin, free_port, healthz, python_report, spawn_until_healthy};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn toolyard() -> &'static str {
    env!("CARGO_BIN_EXE_toolyard")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("runtime")
}

// --- JWT pieces --------------------------------------------------------------------------------

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("time")
        .as_secs()
}

/// An RSA key of the test's own (openssl), as an encoding key and as a public JWK named `kid`.
struct TestKey {
    encoding: EncodingKey,
    jwk: Value,
}

impl TestKey {
    fn generate(dir: &Path, kid: &str) -> Self {
        let pem = dir.join(format!("{kid}.pem"));
        let status = Command::new("openssl")
            .args(["genrsa", "-out"])
            .arg(&pem)
            .arg("2048")
            .stderr(Stdio::null())
            .status()
            .expect("openssl genrsa");
        assert!(status.success());
        let modulus = Command::new("openssl")
            .args(["rsa", "-noout", "-modulus", "-in"])
            .arg(&pem)
            .output()
            .expect("openssl rsa -modulus");
        let hex = String::from_utf8(modulus.stdout).expect("utf8");
        let hex = hex.trim().trim_start_matches("Modulus=");
        let n: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
            .collect();
        let encoding = EncodingKey::from_rsa_pem(&std::fs::read(&pem).expect("pem")).expect("key");
        let jwk = json!({"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
                         "n": b64url(&n), "e": "AQAB"});
        Self { encoding, jwk }
    }

    fn sign(&self, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.to_string());
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("sign")
    }
}

/// The claims of a token `issuer` would issue for `audience`.
fn claims(issuer: &str, audience: &str, sub: &str) -> Value {
    json!({"iss": issuer, "aud": audience, "sub": sub, "scope": "mcp:tools",
           "iat": now(), "exp": now() + 600, "client_id": "forged"})
}

/// `token` with its payload changed by `edit` and the original signature kept.
fn tampered(token: &str, edit: impl FnOnce(&mut Value)) -> String {
    let data = jsonwebtoken::dangerous::insecure_decode::<Value>(token).expect("decode");
    let mut payload = data.claims;
    edit(&mut payload);
    let parts: Vec<&str> = token.split('.').collect();
    format!(
        "{}.{}.{}",
        parts[0],
        b64url(payload.to_string().as_bytes()),
        parts[2]
    )
}

/// The `kid` of the issuer's RSA key.
fn rsa_kid(jwks: &Value) -> String {
    jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["kty"] == "RSA")
        .and_then(|k| k["kid"].as_str())
        .expect("an RSA key")
        .to_string()
}

// --- toolyard ----------------------------------------------------------------------------------

/// A running `toolyard serve` whose stderr goes to a file.
struct Served {
    guard: Option<ChildGuard>,
    base: String,
    log: PathBuf,
}

impl Served {
    /// `toolyard serve` on `port` with the demo upstream and `auth` (TOML) in its config.
    fn start(dir: &Path, port: u16, auth: &str, env: &[(&str, &str)]) -> Self {
        let config = dir.join(format!("servers-{port}.toml"));
        let text = format!(
            "[servers.demo]\ncommand = \"{}\"\n\n{auth}\n",
            example_bin("demo_server").display()
        );
        std::fs::write(&config, text).expect("write config");
        let log = dir.join(format!("toolyard-{port}.log"));
        let stderr = std::fs::File::create(&log).expect("log file");
        let mut command = Command::new(toolyard());
        command
            .args(["serve", "--config"])
            .arg(&config)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "info,rmcp=warn,toolyard::server=debug")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(stderr);
        let (guard, base) = spawn_until_healthy(&mut command, port);
        Self {
            guard: Some(guard),
            base,
            log,
        }
    }

    fn audience(&self) -> String {
        format!("{}/mcp", self.base)
    }

    /// The log so far.
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stop it and return its whole log.
    fn stop(&mut self) -> String {
        self.guard.take();
        self.log()
    }
}

fn auth_table(issuer: &str, audience: &str, extra: &str) -> String {
    format!(
        "[auth]\nissuer = \"{issuer}\"\naudience = \"{audience}\"\nscopes = [\"mcp:tools\"]\n{extra}"
    )
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

/// A POST to `/mcp` with the streamable HTTP headers and `token` as bearer (if any).
fn post(base: &str, token: Option<&str>) -> reqwest::RequestBuilder {
    let request = http()
        .post(format!("{base}/mcp"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25");
    match token {
        Some(token) => request.bearer_auth(token),
        None => request,
    }
}

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "auth-test", "version": "1"}}})
}

fn echo(id: u64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": "demo__echo", "arguments": {"message": message}}})
}

/// A JSON-RPC message from a JSON or SSE response body.
fn jsonrpc(text: &str) -> Value {
    if let Ok(v) = serde_json::from_str(text) {
        return v;
    }
    text.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str(d.trim()).ok())
        .next()
        .unwrap_or(Value::Null)
}

/// Open a 2025 session with `token`; its id.
async fn open_session(base: &str, token: &str) -> String {
    let response = post(base, Some(token))
        .json(&initialize())
        .send()
        .await
        .expect("initialize");
    assert_eq!(response.status(), StatusCode::OK);
    let id = response.headers()["mcp-session-id"]
        .to_str()
        .expect("ascii")
        .to_string();
    let _ = response.text().await;
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let response = post(base, Some(token))
        .header("mcp-session-id", &id)
        .json(&initialized)
        .send()
        .await
        .expect("initialized");
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    id
}

/// Call `demo__echo` in `session` with `token`; the echoed text.
async fn echo_in(base: &str, token: &str, session: &str, message: &str) -> String {
    let response = post(base, Some(token))
        .header("mcp-session-id", session)
        .json(&echo(2, message))
        .send()
        .await
        .expect("echo");
    assert_eq!(response.status(), StatusCode::OK);
    let reply = jsonrpc(&response.text().await.expect("body"));
    reply["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no echo: {reply}"))
        .to_string()
}

/// A refusal: the status, the `WWW-Authenticate` value and the JSON body.
async fn refusal(response: reqwest::Response) -> (StatusCode, String, Value) {
    let status = response.status();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().expect("ascii").to_string())
        .unwrap_or_default();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, challenge, body)
}

/// How many calls reached the workbench (each logs "call for" with its caller).
fn calls_for(log: &str, caller: &str) -> usize {
    log.lines()
        .filter(|l| l.contains("call for") && l.contains(&format!("caller={caller}")))
        .count()
}

// --- the tests ---------------------------------------------------------------------------------

#[test]
fn the_python_sdk_oauth_client_discovers_the_server_signs_in_and_calls_tools() {
    let dir = tempfile::tempdir().expect("tempdir");
    let oidc = Oidc::start(&[]);
    let port = free_port();
    let audience = format!("http://127.0.0.1:{port}/mcp");
    let mut served = Served::start(
        dir.path(),
        port,
        &auth_table(&oidc.issuer, &audience, ""),
        &[],
    );

    let report = python_report(
        "oauth_client.py",
        [served.audience().as_str(), "--user", "bob"],
    );
    let tools: Vec<&str> = report["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(tools.contains(&"demo__echo"), "{report}");
    assert_eq!(report["echo"], "hello from bob", "{report}");
    // The discovery the MCP authorization spec prescribes, in order.
    let exchanges: Vec<String> = report["exchanges"]
        .as_array()
        .expect("exchanges")
        .iter()
        .map(|e| {
            format!(
                "{} {} {}",
                e["method"],
                e["url"].as_str().unwrap_or_default(),
                e["status"]
            )
        })
        .collect();
    let position = |needle: &str| {
        exchanges
            .iter()
            .position(|e| e.contains(needle))
            .unwrap_or_else(|| panic!("no {needle} in {exchanges:#?}"))
    };
    let unauthorized = position("/mcp 401");
    let resource_metadata = position("/.well-known/oauth-protected-resource/mcp 200");
    let server_metadata = position(&format!("{}/.well-known/", oidc.issuer));
    let token = position(&format!("{}/token 200", oidc.issuer));
    let served_call = exchanges
        .iter()
        .rposition(|e| e.contains("/mcp 200"))
        .expect("an answered MCP request");
    assert!(
        unauthorized < resource_metadata
            && resource_metadata < server_metadata
            && server_metadata < token
            && token < served_call,
        "{exchanges:#?}"
    );
    let log = served.stop();
    assert!(calls_for(&log, "bob") >= 1, "{log}");
}

#[test]
fn an_api_key_client_calls_tools_and_wrong_keys_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let key = format!("ci-key-{}", uuid::Uuid::new_v4().simple());
    let auth = "[auth]\nscopes = [\"mcp:tools\"]\n\n[[auth.api_keys]]\nname = \"ci-bot\"\n\
                key_env = \"TEST_CI_BOT_KEY\"\nclaims = { sub = \"ci-bot\", scope = \"mcp:tools\" }\n";
    let mut served = Served::start(dir.path(), port, auth, &[("TEST_CI_BOT_KEY", &key)]);
    let report = python_report(
        "oauth_client.py",
        [
            served.audience().as_str(),
            "--api-key",
            &key,
            "--user",
            "ci",
        ],
    );
    assert_eq!(report["echo"], "hello from ci", "{report}");
    runtime().block_on(async {
        // X-API-Key works too.
        let response = http()
            .post(format!("{}/mcp", served.base))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("x-api-key", &key)
            .json(&initialize())
            .send()
            .await
            .expect("initialize");
        assert_eq!(response.status(), StatusCode::OK);
        for wrong in [&key[..key.len() - 1], "ci-key", ""] {
            let response = post(&served.base, Some(wrong))
                .json(&initialize())
                .send()
                .await
                .expect("initialize");
            let (status, challenge, _) = refusal(response).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{wrong}");
            // API keys only: no authorization server to point at.
            assert!(challenge.starts_with("Bearer "), "{challenge}");
            assert!(!challenge.contains("resource_metadata"), "{challenge}");
        }
        // /healthz is open and shows no secret.
        let health = http()
            .get(format!("{}/healthz", served.base))
            .send()
            .await
            .expect("healthz")
            .text()
            .await
            .expect("healthz body");
        assert!(health.contains("\"status\":\"ok\""), "{health}");
        assert!(
            !health.contains(&key) && !health.contains("TEST_CI_BOT_KEY"),
            "{health}"
        );
        // No metadata without an issuer.
        let metadata = http()
            .get(format!(
                "{}/.well-known/oauth-protected-resource",
                served.base
            ))
            .send()
            .await
            .expect("metadata");
        assert_ne!(metadata.status(), StatusCode::OK);
    });
    let log = served.stop();
    assert!(calls_for(&log, "ci-bot") >= 1, "{log}");
    assert!(!log.contains(&key), "the API key is in the log");
}

#[test]
fn the_bad_token_gauntlet_is_refused_with_the_right_status_and_challenge() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rt = runtime();
    let oidc = Oidc::start(&[]);
    let port = free_port();
    let audience = format!("http://127.0.0.1:{port}/mcp");
    // toolyard trusts the issuer's keys plus one test key, from a JWKS the test serves: tokens
    // it cannot get from oidc-provider (expired, not yet valid, another issuer) are signed by it.
    let test_key = TestKey::generate(dir.path(), "test-key");
    let stranger = TestKey::generate(dir.path(), "stranger");
    let mut jwks = rt.block_on(oidc.jwks());
    let rsa_kid = rsa_kid(&jwks);
    jwks["keys"]
        .as_array_mut()
        .expect("keys")
        .push(test_key.jwk.clone());
    let shutdown = tokio_util::sync::CancellationToken::new();
    let jwks_app = axum::Router::new().route(
        "/jwks",
        axum::routing::get(move || {
            let jwks = jwks.clone();
            async move { axum::Json(jwks) }
        }),
    );
    let jwks_addr = rt.block_on(common::serve_until(jwks_app, shutdown.clone()));
    let auth = auth_table(
        &oidc.issuer,
        &audience,
        &format!("jwks_uri = \"http://{jwks_addr}/jwks\"\n"),
    );
    let mut served = Served::start(dir.path(), port, &auth, &[]);
    let base = served.base.clone();
    let metadata_url = format!("http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp");

    let mut tokens = Vec::new();
    rt.block_on(async {
        let alice = oidc.user_token("alice", &audience).await;
        let bob = oidc.user_token("bob", &audience).await;
        let other_audience = oidc
            .client_token("http://127.0.0.1:1/other", Some("mcp:tools"))
            .await;
        let no_scope = oidc.client_token(&audience, None).await;
        let forged = |edit: &dyn Fn(&mut Value)| -> String {
            let mut c = claims(&oidc.issuer, &audience, "mallory");
            edit(&mut c);
            test_key.sign("test-key", &c)
        };
        let valid_forged = forged(&|_: &mut Value| {});
        let expired = forged(&|c: &mut Value| {
            c["iat"] = json!(now() - 7200);
            c["exp"] = json!(now() - 3600);
        });
        let not_yet = forged(&|c: &mut Value| c["nbf"] = json!(now() + 3600));
        let other_issuer =
            forged(&|c: &mut Value| c["iss"] = json!("https://idp.elsewhere.example"));
        let forged_no_scope = forged(&|c: &mut Value| c["scope"] = json!("openid"));
        let unknown_kid = stranger.sign("stranger", &claims(&oidc.issuer, &audience, "mallory"));
        let signature_tampered = tampered(&alice, |c| c["sub"] = json!("bob"));
        let alg_none = format!(
            "{}.{}.",
            b64url(br#"{"alg":"none","typ":"JWT"}"#),
            b64url(
                claims(&oidc.issuer, &audience, "mallory")
                    .to_string()
                    .as_bytes()
            )
        );
        let hs256 = {
            let mut header = Header::new(Algorithm::HS256);
            header.kid = Some(rsa_kid.clone());
            let public = serde_json::to_vec(&oidc.jwks().await["keys"][0]).expect("jwk");
            jsonwebtoken::encode(
                &header,
                &claims(&oidc.issuer, &audience, "mallory"),
                &EncodingKey::from_secret(&public),
            )
            .expect("hs256")
        };

        // Valid tokens get in (the issuer's, and the test key's).
        for token in [&alice, &valid_forged] {
            let response = post(&base, Some(token.as_str()))
                .json(&initialize())
                .send()
                .await
                .expect("ok");
            assert_eq!(response.status(), StatusCode::OK);
        }

        let missing = post(&base, None)
            .json(&echo(1, "x"))
            .send()
            .await
            .expect("missing");
        let (status, challenge, body) = refusal(missing).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            challenge,
            format!("Bearer resource_metadata=\"{metadata_url}\", scope=\"mcp:tools\"")
        );
        assert_eq!(body["error"], "invalid_request", "{body}");

        let invalid: [(&str, &str); 10] = [
            ("garbage", "not-a-token"),
            ("three garbage parts", "a.b.c"),
            ("expired", &expired),
            ("not yet valid", &not_yet),
            ("wrong aud", &other_audience),
            ("wrong iss", &other_issuer),
            ("unknown kid", &unknown_kid),
            ("tampered signature", &signature_tampered),
            ("alg none", &alg_none),
            ("HS256 with the public key", &hs256),
        ];
        for (case, token) in invalid {
            let response = post(&base, Some(token))
                .json(&echo(1, case))
                .send()
                .await
                .expect(case);
            let (status, challenge, body) = refusal(response).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{case}: {body}");
            assert_eq!(
                challenge,
                format!(
                    "Bearer resource_metadata=\"{metadata_url}\", scope=\"mcp:tools\", \
                     error=\"invalid_token\""
                ),
                "{case}"
            );
            assert_eq!(body["error"], "invalid_token", "{case}: {body}");
        }
        for (case, token) in [
            ("no scope", &no_scope),
            ("forged without scope", &forged_no_scope),
        ] {
            let response = post(&base, Some(token.as_str()))
                .json(&echo(1, case))
                .send()
                .await
                .expect(case);
            let (status, challenge, body) = refusal(response).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{case}: {body}");
            assert!(
                challenge.contains("error=\"insufficient_scope\""),
                "{case}: {challenge}"
            );
            assert!(
                challenge.contains("scope=\"mcp:tools\""),
                "{case}: {challenge}"
            );
        }

        // Every HTTP face is behind it: /sse and /messages too.
        let sse = http()
            .get(format!("{base}/sse"))
            .header("accept", "text/event-stream")
            .send()
            .await
            .expect("sse");
        let (status, challenge, _) = refusal(sse).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(challenge.contains("resource_metadata"), "{challenge}");
        let messages = http()
            .post(format!("{base}/messages?sessionId=abc"))
            .bearer_auth(&expired)
            .json(&echo(1, "x"))
            .send()
            .await
            .expect("messages");
        let (status, challenge, _) = refusal(messages).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");

        // A session is bound to the caller that opened it: bob cannot use alice's.
        let session = open_session(&base, &alice).await;
        let hijack = post(&base, Some(bob.as_str()))
            .header("mcp-session-id", &session)
            .json(&echo(3, "hijack"))
            .send()
            .await
            .expect("hijack");
        assert_eq!(hijack.status(), StatusCode::NOT_FOUND);
        let delete = http()
            .delete(format!("{base}/mcp"))
            .bearer_auth(&bob)
            .header("mcp-session-id", &session)
            .send()
            .await
            .expect("delete");
        assert_eq!(delete.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            echo_in(&base, &alice, &session, "still mine").await,
            "still mine"
        );

        // The same binding on the legacy SSE face: alice's /messages endpoint is not bob's.
        let mut stream = http()
            .get(format!("{base}/sse"))
            .bearer_auth(&alice)
            .header("accept", "text/event-stream")
            .send()
            .await
            .expect("alice's SSE stream");
        assert_eq!(stream.status(), StatusCode::OK);
        let mut events = String::new();
        let endpoint = loop {
            let chunk = stream.chunk().await.expect("SSE chunk").expect("SSE open");
            events.push_str(&String::from_utf8_lossy(&chunk));
            if let Some(line) = events
                .lines()
                .find(|l| l.starts_with("data:") && l.contains("sessionId"))
            {
                break line.trim_start_matches("data:").trim().to_string();
            }
        };
        let to_messages = |token: &str| {
            http()
                .post(format!("{base}{endpoint}"))
                .bearer_auth(token)
                .json(&initialize())
        };
        let bobs = to_messages(&bob).send().await.expect("bob's POST");
        assert_eq!(bobs.status(), StatusCode::NOT_FOUND);
        let alices = to_messages(&alice).send().await.expect("alice's POST");
        assert_eq!(alices.status(), StatusCode::ACCEPTED);
        drop(stream);

        // The protected resource metadata, unauthenticated, at both addresses.
        for path in [
            "/.well-known/oauth-protected-resource/mcp",
            "/.well-known/oauth-protected-resource",
        ] {
            let metadata: Value = http()
                .get(format!("{base}{path}"))
                .send()
                .await
                .expect("metadata")
                .json()
                .await
                .expect("metadata JSON");
            assert_eq!(metadata["resource"], audience.as_str(), "{metadata}");
            assert_eq!(
                metadata["authorization_servers"],
                json!([oidc.issuer]),
                "{metadata}"
            );
            assert_eq!(
                metadata["scopes_supported"],
                json!(["mcp:tools"]),
                "{metadata}"
            );
        }

        tokens.extend([
            alice,
            bob,
            other_audience,
            no_scope,
            expired,
            not_yet,
            other_issuer,
        ]);
        tokens.extend([
            unknown_kid,
            signature_tampered,
            hs256,
            valid_forged,
            forged_no_scope,
        ]);
    });
    // /healthz stays open and says nothing about auth.
    let health = healthz(&base);
    assert_eq!(health["status"], "ok", "{health}");
    let log = served.stop();
    shutdown.cancel();
    // Nothing but the valid calls reached the workbench: only alice's one echo.
    assert_eq!(calls_for(&log, "alice"), 1, "{log}");
    assert_eq!(calls_for(&log, "bob"), 0, "{log}");
    assert_eq!(calls_for(&log, "mallory"), 0, "{log}");
    // Each refusal was logged with its reason, and no token was.
    for reason in [
        "expired",
        "not yet valid",
        "wrong audience",
        "wrong issuer",
        "unknown key",
        "bad signature",
        "signature algorithm not allowed",
        "not a valid token",
    ] {
        assert!(
            log.lines()
                .any(|l| l.contains("request not authenticated") && l.contains(reason)),
            "no refusal logged for {reason}:\n{log}"
        );
    }
    assert_no_token_in(&log, &tokens);
}

/// No token (nor its signature part) appears in `log`.
fn assert_no_token_in(log: &str, tokens: &[String]) {
    for token in tokens {
        let signature = token.rsplit('.').next().unwrap_or(token);
        assert!(!log.contains(token.as_str()), "a token is in the log");
        assert!(
            signature.len() < 16 || !log.contains(signature),
            "a token's signature is in the log"
        );
    }
}

#[test]
fn two_callers_at_once_each_get_their_own_principal_and_sessions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rt = runtime();
    let oidc = Oidc::start(&[]);
    let port = free_port();
    let audience = format!("http://127.0.0.1:{port}/mcp");
    let mut served = Served::start(
        dir.path(),
        port,
        &auth_table(&oidc.issuer, &audience, ""),
        &[],
    );
    let base = served.base.clone();
    let tokens = rt.block_on(async {
        let (alice, bob) = tokio::join!(
            oidc.user_token("alice", &audience),
            oidc.user_token("bob", &audience)
        );
        let caller = |token: String, who: &'static str| {
            let base = base.clone();
            async move {
                let session = open_session(&base, &token).await;
                for i in 0..5 {
                    let said = echo_in(&base, &token, &session, &format!("{who} {i}")).await;
                    assert_eq!(said, format!("{who} {i}"));
                }
                (token, session)
            }
        };
        let ((alice, a_session), (bob, b_session)) =
            tokio::join!(caller(alice, "alice"), caller(bob, "bob"));
        // Each session stays its owner's.
        for (token, session) in [(&alice, &b_session), (&bob, &a_session)] {
            let response = post(&base, Some(token.as_str()))
                .header("mcp-session-id", session.as_str())
                .json(&echo(9, "not mine"))
                .send()
                .await
                .expect("other's session");
            assert_eq!(response.status(), StatusCode::NOT_FOUND);
        }
        vec![alice, bob]
    });
    let log = served.stop();
    assert_eq!(calls_for(&log, "alice"), 5, "{log}");
    assert_eq!(calls_for(&log, "bob"), 5, "{log}");
    assert_no_token_in(&log, &tokens);
}

#[test]
fn cached_keys_keep_valid_tokens_working_when_the_authorization_server_dies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rt = runtime();
    let mut oidc = Oidc::start(&[]);
    let port = free_port();
    let audience = format!("http://127.0.0.1:{port}/mcp");
    // No jwks_uri: the keys are found through the issuer's metadata.
    let mut served = Served::start(
        dir.path(),
        port,
        &auth_table(&oidc.issuer, &audience, ""),
        &[],
    );
    let base = served.base.clone();
    let stranger = TestKey::generate(dir.path(), "stranger");
    let (alice, bob) = rt.block_on(async {
        let alice = oidc.user_token("alice", &audience).await;
        let bob = oidc.user_token("bob", &audience).await;
        let session = open_session(&base, &alice).await;
        assert_eq!(echo_in(&base, &alice, &session, "before").await, "before");
        (alice, bob)
    });
    oidc.kill();
    rt.block_on(async {
        // The issuer is gone: alice's token, already accepted, goes on; bob's, never seen
        // before, is checked against the cached keys.
        let session = open_session(&base, &alice).await;
        assert_eq!(echo_in(&base, &alice, &session, "after").await, "after");
        let bobs = open_session(&base, &bob).await;
        assert_eq!(echo_in(&base, &bob, &bobs, "bob after").await, "bob after");
        // A token naming a key nobody knows makes toolyard fetch the keys again, at most once
        // per 10 s: past that, the refetch fails at once (nobody listens) and the token is
        // refused, and again without a refetch (rate-limited), while alice goes on.
        tokio::time::sleep(Duration::from_secs(11)).await;
        let unknown = stranger.sign("stranger", &claims(&oidc.issuer, &audience, "mallory"));
        for _ in 0..2 {
            let response = post(&base, Some(unknown.as_str()))
                .json(&initialize())
                .send()
                .await
                .expect("unknown");
            let (status, challenge, _) = refusal(response).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
            assert!(challenge.contains("invalid_token"), "{challenge}");
        }
        assert_eq!(echo_in(&base, &alice, &session, "still").await, "still");
    });
    // The healthy upstream next to the dead peer is still ready.
    assert_eq!(healthz(&base)["status"], "ok");
    let log = served.stop();
    assert!(
        log.contains("cannot fetch the issuer's signing keys"),
        "{log}"
    );
    assert_no_token_in(&log, &[alice]);
}

#[test]
fn opaque_tokens_are_checked_by_introspection() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rt = runtime();
    let oidc = Oidc::start(&[("OIDC_ACCESS_TOKEN_FORMAT", "opaque")]);
    let port = free_port();
    let audience = format!("http://127.0.0.1:{port}/mcp");
    let extra = format!(
        "introspection_endpoint = \"{}/token/introspection\"\nintrospection_client_id = \"toolyard-ci\"\n\
         introspection_client_secret_env = \"TEST_INTROSPECTION_SECRET\"\n",
        oidc.issuer
    );
    let mut served = Served::start(
        dir.path(),
        port,
        &auth_table(&oidc.issuer, &audience, &extra),
        &[("TEST_INTROSPECTION_SECRET", "toolyard-ci-secret")],
    );
    let base = served.base.clone();
    let tokens = rt.block_on(async {
        let token = oidc.client_token(&audience, Some("mcp:tools")).await;
        assert!(!token.contains('.'), "not an opaque token: {token}");
        let session = open_session(&base, &token).await;
        assert_eq!(echo_in(&base, &token, &session, "opaque").await, "opaque");
        let elsewhere = oidc
            .client_token("http://127.0.0.1:1/other", Some("mcp:tools"))
            .await;
        for bad in [&elsewhere, &format!("{token}x")] {
            let response = post(&base, Some(bad.as_str()))
                .json(&initialize())
                .send()
                .await
                .expect("bad");
            let (status, challenge, _) = refusal(response).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
            assert!(challenge.contains("invalid_token"), "{challenge}");
        }
        vec![token, elsewhere]
    });
    let log = served.stop();
    assert_eq!(calls_for(&log, "toolyard-ci"), 1, "{log}");
    assert_no_token_in(&log, &tokens);
    assert!(!log.contains("toolyard-ci-secret"));
}

/// Run `toolyard serve ARGS` until it exits or prints that it serves; (exited, stderr).
fn serve_outcome(config: &Path, args: &[&str]) -> (Option<std::process::ExitStatus>, String) {
    let mut command = Command::new(toolyard());
    command
        .args(["serve", "--config"])
        .arg(config)
        .args(args)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut guard = ChildGuard::spawn(&mut command);
    let mut stderr = guard.child_mut().stderr.take().expect("stderr");
    let mut text = String::new();
    let mut buffer = [0u8; 4096];
    loop {
        let n = stderr.read(&mut buffer).unwrap_or(0);
        if n == 0 {
            break;
        }
        text.push_str(&String::from_utf8_lossy(&buffer[..n]));
        if text.contains("serving MCP at") {
            return (None, text);
        }
    }
    let status = guard.child_mut().wait().expect("wait");
    (Some(status), text)
}

#[test]
fn serving_beyond_loopback_without_auth_needs_no_auth_spelled_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("servers.toml");
    std::fs::write(
        &config,
        format!(
            "[servers.demo]\ncommand = \"{}\"\n",
            example_bin("demo_server").display()
        ),
    )
    .expect("config");
    let (exited, stderr) = serve_outcome(&config, &["--listen", "0.0.0.0:0"]);
    let status = exited.expect("serve should refuse to start");
    assert!(!status.success());
    assert!(
        stderr.contains("refusing to serve on 0.0.0.0:0 without authentication"),
        "{stderr}"
    );
    assert!(
        stderr.contains("[auth]") && stderr.contains("--no-auth"),
        "{stderr}"
    );
    let (exited, stderr) = serve_outcome(&config, &["--listen", "0.0.0.0:0", "--no-auth"]);
    assert!(exited.is_none(), "serve --no-auth did not start: {stderr}");
    assert!(
        stderr.contains("without authentication (--no-auth)"),
        "{stderr}"
    );
    // An API key whose variable is missing is a clear start-up error, with its place.
    std::fs::write(
        &config,
        "[[auth.api_keys]]\nname = \"ci\"\nkey_env = \"TOOLYARD_TEST_UNSET_KEY\"\n",
    )
    .expect("config");
    let (exited, stderr) = serve_outcome(&config, &["--listen", "0.0.0.0:0"]);
    assert!(!exited.expect("refused").success());
    assert!(
        stderr.contains(":3:11: [auth] key `api_keys[0].key_env`")
            && stderr.contains("TOOLYARD_TEST_UNSET_KEY"),
        "{stderr}"
    );
}

/// Call `demo__echo` through `toolyard serve --stdio` with `auth` in the config; its stderr.
fn stdio_call_log(dir: &Path, auth: &str) -> String {
    use std::io::Write;
    let config = dir.join("stdio.toml");
    let text = format!(
        "[servers.demo]\ncommand = \"{}\"\n\n{auth}\n",
        example_bin("demo_server").display()
    );
    std::fs::write(&config, text).expect("config");
    let log = dir.join("stdio.log");
    let mut command = Command::new(toolyard());
    command
        .args(["serve", "--stdio", "--config"])
        .arg(&config)
        .env("RUST_LOG", "info,rmcp=warn,toolyard::server=debug")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).expect("log"));
    let mut guard = ChildGuard::spawn(&mut command);
    let mut stdin = guard.child_mut().stdin.take().expect("stdin");
    let stdout = guard.child_mut().stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    for message in [initialize(), initialized, echo(2, "from stdio")] {
        writeln!(stdin, "{message}").expect("write");
    }
    let answer = lines
        .by_ref()
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_str::<Value>(&l).ok())
        .find(|m| m["id"] == 2)
        .expect("an answer");
    assert_eq!(
        answer["result"]["content"][0]["text"], "from stdio",
        "{answer}"
    );
    drop(stdin);
    let _ = guard.child_mut().wait();
    std::fs::read_to_string(&log).expect("log")
}

#[test]
fn the_stdio_caller_is_local_or_what_auth_stdio_says() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = stdio_call_log(dir.path(), "");
    assert_eq!(calls_for(&log, "local"), 1, "{log}");
    let log = stdio_call_log(
        dir.path(),
        "[auth.stdio]\nsub = \"dev\"\nrole = \"admin\"\n",
    );
    assert_eq!(calls_for(&log, "dev"), 1, "{log}");
    assert!(log.contains("method=Stdio"), "{log}");
}

/// One JSON-RPC request in `session` with `token`; the reply.
async fn request_in(base: &str, token: &str, session: &str, body: Value) -> Value {
    let response = post(base, Some(token))
        .header("mcp-session-id", session)
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    jsonrpc(&response.text().await.expect("body"))
}

/// The whole caller path at once, as two signed-in users use it over HTTP: `[auth]` makes the
/// token a principal, `[policy]` decides what each may see and call, and an upstream with
/// `grant = "token_exchange"` is reached as that user (toolyard as actor), never with the user's
/// own token.
#[test]
fn signed_in_callers_get_their_policy_and_reach_upstreams_as_themselves() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rt = runtime();
    let oidc = Oidc::start(&[]);
    let (_upstream, upstream) = token_checking_upstream(&oidc.issuer);
    let port = free_port();
    let audience = format!("http://127.0.0.1:{port}/mcp");
    let rest = format!(
        r#"
[servers.acting]
url = "{upstream}"
session = "per_caller"
[servers.acting.auth]
grant = "token_exchange"
client_id = "toolyard-ci"
client_secret_env = "UPSTREAM_SECRET"
token_url = "{issuer}/token"
scopes = ["mcp:tools"]

[policy]
default = "allow"
[[policy.rules]]
deny = 'mcp.tool.name == "demo__echo" && jwt.sub == "bob"'
"#,
        issuer = oidc.issuer
    );
    let mut served = Served::start(
        dir.path(),
        port,
        &format!("{}\n{rest}", auth_table(&oidc.issuer, &audience, "")),
        &[("UPSTREAM_SECRET", "toolyard-ci-secret")],
    );
    let base = served.base.clone();
    let tokens = rt.block_on(async {
        let (alice, bob) = tokio::join!(
            oidc.user_token("alice", &audience),
            oidc.user_token("bob", &audience)
        );
        let caller = |token: String, who: &'static str| {
            let base = base.clone();
            async move {
                let session = open_session(&base, &token).await;
                let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
                let tools: Vec<String> = request_in(&base, &token, &session, list).await["result"]
                    ["tools"]
                    .as_array()
                    .expect("tools")
                    .iter()
                    .filter_map(|t| t["name"].as_str().map(str::to_string))
                    .collect();
                assert!(
                    tools.contains(&"acting__whoami".to_string()),
                    "{who}: {tools:?}"
                );
                assert_eq!(
                    tools.contains(&"demo__echo".to_string()),
                    who == "alice",
                    "{who}: {tools:?}"
                );
                let whoami = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                    "params": {"name": "acting__whoami", "arguments": {}}});
                let reply = request_in(&base, &token, &session, whoami).await;
                let text = reply["result"]["content"][0]["text"]
                    .as_str()
                    .unwrap_or_default();
                let seen: Value = serde_json::from_str(text).unwrap_or_else(|_| panic!("{reply}"));
                assert_eq!(seen["sub"], who, "{seen}");
                assert_eq!(seen["act"]["sub"], "toolyard-ci", "{seen}");
                let reply = request_in(&base, &token, &session, echo(4, who)).await;
                if who == "alice" {
                    assert_eq!(reply["result"]["content"][0]["text"], "alice", "{reply}");
                } else {
                    let message = reply["error"]["message"].as_str().unwrap_or_default();
                    assert!(message.contains("not permitted"), "{reply}");
                }
                token
            }
        };
        let (alice, bob) = tokio::join!(caller(alice, "alice"), caller(bob, "bob"));
        vec![alice, bob]
    });
    // What reached the upstream: only tokens made for it, none of the users' own.
    let seen = rt.block_on(async {
        let token = &tokens[0];
        let session = open_session(&base, token).await;
        let body = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
            "params": {"name": "acting__tokens_seen", "arguments": {}}});
        let reply = request_in(&base, token, &session, body).await;
        let text = reply["result"]["content"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        serde_json::from_str::<Vec<Value>>(&text).unwrap_or_else(|_| panic!("{reply}"))
    });
    assert!(!seen.is_empty());
    for claims in &seen {
        assert_eq!(claims["aud"], upstream.as_str(), "{claims}");
    }
    let log = served.stop();
    assert_no_token_in(&log, &tokens);
}
