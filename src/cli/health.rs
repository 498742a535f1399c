//! `toolyard health`: asks a running gateway's `/healthz`, for container and orchestrator health
//! checks: exit 0 when every upstream is ready, 1 (with the reason) when degraded or unreachable.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;
use url::Url;

/// Options of `toolyard health`.
#[derive(Debug, clap::Args)]
pub struct HealthArgs {
    /// The gateway: its base URL, its `/mcp` URL or its `/healthz` URL.
    #[arg(
        long,
        value_name = "URL",
        default_value = "http://127.0.0.1:8080/healthz"
    )]
    url: Url,
    /// Give up after this many seconds without an answer.
    #[arg(long, default_value_t = 5.0)]
    timeout_secs: f64,
}

/// What `/healthz` answers.
#[derive(Debug, Deserialize)]
struct Health {
    status: String,
    #[serde(default)]
    servers: Vec<Server>,
}

#[derive(Debug, Deserialize)]
struct Server {
    name: String,
    state: String,
    #[serde(default)]
    error: Option<String>,
}

/// Print one line about the gateway's health; exit 0 only when it says `ok`.
pub async fn run(args: HealthArgs) -> anyhow::Result<ExitCode> {
    let url = healthz_url(&args.url);
    let timeout = Duration::try_from_secs_f64(args.timeout_secs)
        .ok()
        .filter(|t| !t.is_zero())
        .context("--timeout-secs must be a positive number")?;
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .context("cannot build the HTTP client")?;
    let response = client
        .get(url.clone())
        .send()
        .await
        .with_context(|| format!("unhealthy: no answer from {url}"))?;
    let status = response.status();
    let body = response
        .text()
        .await
        .with_context(|| format!("unhealthy: {url} answered {status} without a body"))?;
    let health: Health = serde_json::from_str(&body)
        .with_context(|| format!("unhealthy: {url} answered {status}: {}", first_line(&body)))?;
    let ready = health.servers.iter().filter(|s| s.state == "ready").count();
    if health.status == "ok" {
        println!("ok: {ready} of {} server(s) ready", health.servers.len());
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{}: {ready} of {} server(s) ready",
        health.status,
        health.servers.len()
    );
    for s in health.servers.iter().filter(|s| s.state != "ready") {
        let detail = s.error.as_deref().unwrap_or("no detail");
        println!("server `{}` is {}: {detail}", s.name, s.state);
    }
    Ok(ExitCode::FAILURE)
}

/// `/healthz` of the gateway that `url` names (base, `/mcp`, `/sse` or `/healthz` itself).
fn healthz_url(url: &Url) -> Url {
    let mut url = url.clone();
    let path = url.path().trim_end_matches('/').to_string();
    let base = ["/healthz", "/mcp", "/sse", "/messages"]
        .iter()
        .find_map(|suffix| path.strip_suffix(suffix))
        .unwrap_or(&path)
        .to_string();
    url.set_path(&format!("{base}/healthz"));
    url.set_query(None);
    url
}

fn first_line(body: &str) -> &str {
    body.lines().next().unwrap_or("").trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_gateway_url_leads_to_healthz() {
        for given in [
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/",
            "http://127.0.0.1:8080/mcp",
            "http://127.0.0.1:8080/healthz",
            "http://127.0.0.1:8080/sse?x=1",
        ] {
            let url = Url::parse(given).expect("url");
            assert_eq!(
                healthz_url(&url).as_str(),
                "http://127.0.0.1:8080/healthz",
                "{given}"
            );
        }
        let behind = Url::parse("https://h.example/toolyard/mcp").expect("url");
        assert_eq!(
            healthz_url(&behind).as_str(),
            "https://h.example/toolyard/healthz"
        );
    }
}
