//! The per-call cost of inbound authentication with a cached JWKS: how long `[auth]` adds to a
//! request before it reaches the MCP face, for an API key, for a JWT access token seen for the
//! first time (RS256 and ES256: header decode, key lookup, one signature verification, claim
//! checks) and for a token seen before (what a client sending the same token on every request
//! pays: a SHA-256 and a lookup), next to a baseline that does nothing.
//!
//! Usage: auth_bench [--calls N]   (needs `openssl` on PATH to make the test keys)
//!
//! The keys are served by a JWKS endpoint in this process and fetched once.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, ensure};
use clap::Parser;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use sha2::{Digest, Sha256};
use toolyard::config::{ApiKey, HttpAuth, OAuthSettings};
use toolyard::server::auth::Authenticator;

#[derive(Parser)]
struct Args {
    /// Validations per measurement.
    #[arg(long, default_value_t = 20_000)]
    calls: usize,
}

const ISSUER: &str = "https://idp.bench.example";
const AUDIENCE: &str = "https://mcp.bench.example/mcp";

fn openssl(args: &[&str]) -> Result<Vec<u8>> {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .context("run openssl")?;
    ensure!(out.status.success(), "openssl {args:?} failed");
    Ok(out.stdout)
}

fn b64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
        .collect()
}

/// An RSA key: its encoding key and public JWK.
fn rsa_key(dir: &Path) -> Result<(EncodingKey, serde_json::Value)> {
    let pem = dir.join("rsa.pem");
    let pem_path = pem.to_string_lossy().into_owned();
    openssl(&["genrsa", "-out", &pem_path, "2048"])?;
    let modulus = String::from_utf8(openssl(&["rsa", "-noout", "-modulus", "-in", &pem_path])?)?;
    let n = hex_bytes(modulus.trim().trim_start_matches("Modulus="));
    let key = EncodingKey::from_rsa_pem(&std::fs::read(&pem)?)?;
    let jwk = json!({"kty": "RSA", "kid": "rsa", "alg": "RS256", "n": b64url(&n), "e": "AQAB"});
    Ok((key, jwk))
}

/// A P-256 key: its encoding key and public JWK.
fn ec_key(dir: &Path) -> Result<(EncodingKey, serde_json::Value)> {
    let sec1 = dir.join("ec-sec1.pem");
    let pkcs8 = dir.join("ec.pem");
    let (sec1_path, pkcs8_path) = (sec1.to_string_lossy(), pkcs8.to_string_lossy());
    openssl(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-noout",
        "-out",
        &sec1_path,
    ])?;
    openssl(&[
        "pkcs8",
        "-topk8",
        "-nocrypt",
        "-in",
        &sec1_path,
        "-out",
        &pkcs8_path,
    ])?;
    let der = openssl(&["ec", "-in", &sec1_path, "-pubout", "-outform", "DER"])?;
    // The uncompressed point (0x04 || x || y) ends the SubjectPublicKeyInfo.
    let point = &der[der.len() - 64..];
    let key = EncodingKey::from_ec_pem(&std::fs::read(&pkcs8)?)?;
    let jwk = json!({"kty": "EC", "kid": "ec", "alg": "ES256", "crv": "P-256",
                     "x": b64url(&point[..32]), "y": b64url(&point[32..])});
    Ok((key, jwk))
}

/// `n` distinct tokens (each its own `jti`) signed by `key`.
fn tokens(key: &EncodingKey, alg: Algorithm, kid: &str, n: usize) -> Result<Vec<String>> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let mut header = Header::new(alg);
    header.kid = Some(kid.into());
    (0..n)
        .map(|jti| {
            let claims = json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "bench", "jti": jti,
                                "scope": "mcp:tools", "iat": now, "exp": now + 3600,
                                "client_id": "bench"});
            Ok(jsonwebtoken::encode(&header, &claims, key)?)
        })
        .collect()
}

/// Mean µs per call of `f` over `calls` calls (after a warm-up call).
async fn per_call<F, Fut>(calls: usize, mut f: F) -> Result<f64>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    ensure!(f().await, "the warm-up call was refused");
    let start = Instant::now();
    for _ in 0..calls {
        ensure!(f().await, "a call was refused");
    }
    Ok(start.elapsed().as_secs_f64() * 1e6 / calls as f64)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let dir = tempfile_dir()?;
    let (rsa, rsa_jwk) = rsa_key(&dir)?;
    let (ec, ec_jwk) = ec_key(&dir)?;
    let jwks = json!({"keys": [rsa_jwk, ec_jwk]});
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = axum::Router::new().route(
        "/jwks",
        axum::routing::get(move || {
            let jwks = jwks.clone();
            async move { axum::Json(jwks) }
        }),
    );
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let api_key = "bench-api-key-0123456789";
    let settings = HttpAuth {
        oauth: Some(OAuthSettings {
            issuer: ISSUER.into(),
            audience: AUDIENCE.into(),
            jwks_uri: Some(format!("http://{addr}/jwks").parse()?),
            introspection: None,
        }),
        scopes: vec!["mcp:tools".into()],
        api_keys: vec![ApiKey {
            name: "bench".into(),
            key_sha256: Sha256::digest(api_key.as_bytes()).into(),
            claims: json!({"sub": "bench", "scope": "mcp:tools"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        }],
    };
    let auth: Arc<Authenticator> = Authenticator::new(&settings, "bench")?;
    let calls = args.calls;
    // Tokens seen for the first time: one distinct token per call (signing them takes a while).
    let fresh = calls.min(2_000);
    let rs256 = tokens(&rsa, Algorithm::RS256, "rsa", fresh + 1)?;
    let es256 = tokens(&ec, Algorithm::ES256, "ec", fresh + 1)?;

    println!(
        "auth_bench: µs per request (JWKS fetched once; {calls} calls, {fresh} for first sight)"
    );
    let baseline = per_call(calls, || async { std::hint::black_box(rs256.len()) > 0 }).await?;
    let key = per_call(calls, || async {
        auth.authenticate(api_key, false).await.is_ok()
    })
    .await?;
    let mut next = rs256.iter().cycle();
    let rs = per_call(fresh, || {
        let token = next.next().cloned().unwrap_or_default();
        let auth = Arc::clone(&auth);
        async move { auth.authenticate(&token, false).await.is_ok() }
    })
    .await?;
    let mut next = es256.iter().cycle();
    let es = per_call(fresh, || {
        let token = next.next().cloned().unwrap_or_default();
        let auth = Arc::clone(&auth);
        async move { auth.authenticate(&token, false).await.is_ok() }
    })
    .await?;
    let again = &rs256[0];
    let seen = per_call(calls, || async {
        auth.authenticate(again, false).await.is_ok()
    })
    .await?;
    println!("  {:<48} {baseline:>8.2}", "baseline (no check)");
    println!(
        "  {:<48} {key:>8.2}",
        "API key (SHA-256 + constant-time compare)"
    );
    println!("  {:<48} {rs:>8.2}", "JWT RS256, first sight, cached JWKS");
    println!("  {:<48} {es:>8.2}", "JWT ES256, first sight, cached JWKS");
    println!("  {:<48} {seen:>8.2}", "JWT seen before (SHA-256 + lookup)");
    server.abort();
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// A fresh folder for the keys.
fn tempfile_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("toolyard-auth-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
