//! The test authorization server (tests/peers/oidc: oidc-provider) and an upstream that is an
//! OAuth resource server of it (tests/py/token_checking_upstream.py), for the tests of inbound
//! authentication and upstream credentials: starting them, tokens for users (authorization code +
//! PKCE, consent automated) and for the client `toolyard-ci` (client credentials).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{ChildGuard, free_port, node22, python, wait_for_port};

/// A running tests/peers/oidc server.
pub struct Oidc {
    guard: Option<ChildGuard>,
    pub issuer: String,
}

impl Oidc {
    pub fn start(env: &[(&str, &str)]) -> Self {
        let server = std::env::var_os("TOOLYARD_OIDC_SERVER")
            .expect("TOOLYARD_OIDC_SERVER is not set: run `eval \"$(bash .ci/setup)\"`");
        let mut command = Command::new(node22());
        command
            .arg(server)
            .args(["--port", "0"])
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut guard = ChildGuard::spawn(&mut command);
        let stdout = guard.child_mut().stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("oidc server's first line");
        let started: Value = serde_json::from_str(&line).expect("oidc server's JSON line");
        Self {
            guard: Some(guard),
            issuer: started["issuer"].as_str().expect("issuer").to_string(),
        }
    }

    /// Stop it (SIGKILL of its process group): a peer that dies.
    pub fn kill(&mut self) {
        self.guard.take();
    }

    pub fn http() -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client")
    }

    /// A client-credentials access token of `toolyard-ci` for `resource`.
    pub async fn client_token(&self, resource: &str, scope: Option<&str>) -> String {
        let mut form = vec![("grant_type", "client_credentials"), ("resource", resource)];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        let answer: Value = Self::http()
            .post(format!("{}/token", self.issuer))
            .basic_auth("toolyard-ci", Some("toolyard-ci-secret"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(&form))
            .send()
            .await
            .expect("token request")
            .json()
            .await
            .expect("token JSON");
        answer["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access token: {answer}"))
            .to_string()
    }

    /// `user`'s access token for `resource` (scope `mcp:tools`) through the authorization code
    /// flow with PKCE, as the public client `toolyard-ide` (consent is automated).
    pub async fn user_token(&self, user: &str, resource: &str) -> String {
        let redirect = "http://127.0.0.1:5555/callback";
        let verifier = format!("verifier-{user}-{}", uuid::Uuid::new_v4().simple());
        let challenge = b64url(&Sha256::digest(verifier.as_bytes()));
        let http = Self::http();
        let mut url = reqwest::Url::parse_with_params(
            &format!("{}/auth", self.issuer),
            [
                ("client_id", "toolyard-ide"),
                ("response_type", "code"),
                ("redirect_uri", redirect),
                ("scope", "openid mcp:tools"),
                ("resource", resource),
                ("login_hint", user),
                ("state", "xyz"),
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
            ],
        )
        .expect("authorization URL");
        let mut cookies: BTreeMap<String, String> = BTreeMap::new();
        for _ in 0..10 {
            if url.as_str().starts_with(redirect) {
                break;
            }
            let cookie = cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            let response = http
                .get(url.clone())
                .header("cookie", cookie)
                .send()
                .await
                .expect("authorization step");
            for set in response.headers().get_all("set-cookie") {
                let set = set.to_str().expect("ascii cookie");
                let pair = set.split(';').next().unwrap_or_default();
                if let Some((name, value)) = pair.split_once('=') {
                    match value.is_empty() {
                        true => cookies.remove(name),
                        false => cookies.insert(name.to_string(), value.to_string()),
                    };
                }
            }
            let location = response.headers()["location"].to_str().expect("location");
            url = url.join(location).expect("redirect URL");
        }
        let code = url
            .query_pairs()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.to_string())
            .unwrap_or_else(|| panic!("no code in {url}"));
        let answer: Value = http
            .post(format!("{}/token", self.issuer))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(&[
                ("grant_type", "authorization_code"),
                ("client_id", "toolyard-ide"),
                ("code", code.as_str()),
                ("code_verifier", verifier.as_str()),
                ("redirect_uri", redirect),
            ]))
            .send()
            .await
            .expect("token request")
            .json()
            .await
            .expect("token JSON");
        answer["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no access token: {answer}"))
            .to_string()
    }

    pub async fn jwks(&self) -> Value {
        reqwest::get(format!("{}/jwks", self.issuer))
            .await
            .expect("jwks")
            .json()
            .await
            .expect("jwks JSON")
    }
}

/// An `application/x-www-form-urlencoded` body.
pub fn form_body(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// Base64url without padding (JWT segments, PKCE challenges).
pub fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Starts tests/py/token_checking_upstream.py (an OAuth resource server for `issuer`); its URL.
pub fn token_checking_upstream(issuer: &str) -> (ChildGuard, String) {
    let port = free_port();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/py/token_checking_upstream.py"
    );
    let guard = ChildGuard::spawn(Command::new(python()).args([script, &port.to_string(), issuer]));
    wait_for_port(
        format!("127.0.0.1:{port}").parse().expect("addr"),
        Duration::from_secs(30),
    );
    (guard, format!("http://127.0.0.1:{port}/mcp"))
}
