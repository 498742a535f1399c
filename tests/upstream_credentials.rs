//! Tokens toolyard sends to HTTP upstreams (`[servers.NAME.auth]`), against a real authorization
//! server (oidc-provider, tests/peers/oidc) and an upstream that is a real OAuth resource server
//! (the Python SDK's bearer auth, verifying signatures against the JWKS): client credentials
//! for toolyard itself, RFC 8693 token exchange for each caller — two callers at once, and the
//! caller's own token never reaches the upstream.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::oidc::{Oidc, token_checking_upstream};
use rmcp::model::CallToolResult;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use toolyard::config::Config;
use toolyard::gateway::Gateway;
use toolyard::workbench::{
    AuthMethod, CallContext, CallerInfo, Principal, Workbench, WorkbenchError,
};

/// The audience of the callers' own tokens: toolyard's resource identifier.
const TOOLYARD_RESOURCE: &str = "http://toolyard.test/mcp";

fn claims_of(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("claims")
}

fn caller(token: &str) -> CallContext {
    let claims = claims_of(token)
        .as_object()
        .cloned()
        .expect("claims object");
    let principal = Principal::new(AuthMethod::Bearer, claims).with_token(token);
    CallContext {
        caller: CallerInfo {
            principal: Some(Arc::new(principal)),
            ..CallerInfo::default()
        },
        ..CallContext::default()
    }
}

fn gateway(issuer: &str, upstream: &str) -> Arc<Gateway> {
    let auth = |grant: &str| {
        format!(
            "grant = \"{grant}\"\nclient_id = \"toolyard-ci\"\nclient_secret_env = \"UPSTREAM_SECRET\"\n\
             token_url = \"{issuer}/token\"\nscopes = [\"mcp:tools\"]\n"
        )
    };
    let toml = format!(
        "[servers.own]\nurl = \"{upstream}\"\n[servers.own.auth]\n{}\
         [servers.acting]\nurl = \"{upstream}\"\nsession = \"per_caller\"\n\
         [servers.acting.auth]\n{}",
        auth("client_credentials"),
        auth("token_exchange"),
    );
    let env = |var: &str| (var == "UPSTREAM_SECRET").then(|| "toolyard-ci-secret".to_string());
    let config = Config::parse(&toml, Path::new("/tmp/servers.toml"), &env)
        .unwrap_or_else(|e| panic!("config: {e}\n{toml}"));
    Gateway::from_config(&config, CancellationToken::new())
}

fn text(result: &CallToolResult) -> String {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect()
}

async fn whoami(gw: &Gateway, tool: &str, ctx: CallContext) -> Result<Value, WorkbenchError> {
    let result = gw.call_tool(tool, None, ctx).await?;
    assert_ne!(result.is_error, Some(true), "{}", text(&result));
    Ok(serde_json::from_str(&text(&result)).expect("whoami JSON"))
}

#[tokio::test]
async fn client_credentials_and_token_exchange_for_two_callers_at_once() {
    let mut oidc = Oidc::start(&[]);
    let issuer = oidc.issuer.clone();
    let (_upstream, upstream) = token_checking_upstream(&issuer);
    let (alice, bob) = tokio::join!(
        oidc.user_token("alice", TOOLYARD_RESOURCE),
        oidc.user_token("bob", TOOLYARD_RESOURCE)
    );
    let gw = gateway(&issuer, &upstream);
    assert!(
        gw.wait_ready(Duration::from_secs(60)).await,
        "both servers connect with client credentials: {:?}",
        gw.statuses()
    );

    // Toolyard's own identity on the client-credentials server.
    let own = whoami(&gw, "own__whoami", CallContext::default())
        .await
        .expect("own");
    assert_eq!(own["sub"], "toolyard-ci");
    assert_eq!(own["aud"], upstream.as_str());

    // Alice and Bob at once, each many times, on the token-exchange server: each call reaches
    // the upstream as its own caller, with toolyard as the actor.
    let calls = (0..6).map(|i| {
        let (gw, token, user) = match i % 2 {
            0 => (Arc::clone(&gw), alice.clone(), "alice"),
            _ => (Arc::clone(&gw), bob.clone(), "bob"),
        };
        tokio::spawn(async move {
            let me = whoami(&gw, "acting__whoami", caller(&token))
                .await
                .expect("acting");
            (user, me)
        })
    });
    for call in futures::future::join_all(calls).await {
        let (user, me) = call.expect("task");
        assert_eq!(me["sub"], user, "{me}");
        assert_eq!(me["act"]["sub"], "toolyard-ci", "{me}");
        assert_eq!(me["aud"], upstream.as_str(), "{me}");
    }

    // A caller without a token of its own cannot act through the exchange server.
    let err = whoami(&gw, "acting__whoami", CallContext::default())
        .await
        .expect_err("no caller token");
    assert!(
        err.to_string().contains("did not sign in with a token"),
        "{err}"
    );

    // The callers' own tokens (audience: toolyard) never reached the upstream.
    let seen = gw
        .call_tool("own__tokens_seen", None, CallContext::default())
        .await
        .expect("tokens_seen");
    let seen: Vec<Value> = serde_json::from_str(&text(&seen)).expect("seen JSON");
    assert!(!seen.is_empty());
    for claims in &seen {
        assert_ne!(
            claims["aud"], TOOLYARD_RESOURCE,
            "a caller's token reached the upstream"
        );
        assert_eq!(claims["aud"], upstream.as_str(), "{claims}");
    }
    // Tokens are cached: far fewer token requests than calls (one own token, one per caller).
    let distinct: std::collections::HashSet<_> =
        seen.iter().map(|c| c["jti"].to_string()).collect();
    assert!(
        distinct.len() <= 4,
        "{} distinct tokens for {} requests",
        distinct.len(),
        seen.len()
    );

    // The authorization server dies: cached tokens keep working; a caller whose token has not
    // been exchanged yet gets a clear error at once, not a hang.
    oidc.kill();
    let me = whoami(&gw, "acting__whoami", caller(&alice))
        .await
        .expect("cached");
    assert_eq!(me["sub"], "alice");
    let carol = format!("{alice}x"); // another token: not exchanged before
    let started = Instant::now();
    let err = whoami(&gw, "acting__whoami", caller(&carol))
        .await
        .expect_err("the token endpoint is gone");
    assert!(err.to_string().contains("token request"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    let own = whoami(&gw, "own__whoami", CallContext::default())
        .await
        .expect("own, cached");
    assert_eq!(own["sub"], "toolyard-ci");
    gw.shutdown().await;
}

#[tokio::test]
async fn a_refused_client_secret_is_reported_and_never_shown() {
    let oidc = Oidc::start(&[]);
    let issuer = oidc.issuer.clone();
    let (_upstream, upstream) = token_checking_upstream(&issuer);
    let toml = format!(
        "[servers.own]\nurl = \"{upstream}\"\nstartup_timeout_secs = 10\n[servers.own.auth]\n\
         client_id = \"toolyard-ci\"\nclient_secret_env = \"UPSTREAM_SECRET\"\n\
         token_url = \"{issuer}/token\"\n"
    );
    let wrong = "not-the-secret-4711";
    let env = |var: &str| (var == "UPSTREAM_SECRET").then(|| wrong.to_string());
    let config = Config::parse(&toml, Path::new("/tmp/servers.toml"), &env).expect("config");
    assert!(
        !format!("{config:?}").contains(wrong),
        "the secret shows in Debug"
    );
    let gw = Gateway::from_config(&config, CancellationToken::new());
    let started = Instant::now();
    let error = loop {
        let status = gw.statuses().into_iter().next().expect("status");
        if let Some(error) = status.error {
            break error;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no error reported"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(error.contains("token endpoint refused (401)"), "{error}");
    assert!(error.contains("invalid_client"), "{error}");
    assert!(!error.contains(wrong), "{error}");
    gw.shutdown().await;

    // A missing secret variable is a config error naming it.
    let err = Config::parse(&toml, Path::new("/tmp/servers.toml"), &|_| None)
        .expect_err("secret variable not set");
    assert!(err.to_string().contains("UPSTREAM_SECRET"), "{err}");
}
