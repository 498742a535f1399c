//! Policy cost benchmark: what `[policy]` (ten CEL rules, deny-overrides), a rate limit and the
//! audit log add to one tool call, measured in one process against the same upstream.
//!
//! Figures:
//!   decide: one decision alone (the caller's claims converted and ten rules evaluated; the
//!           deciding rule is the last one, so every rule runs), p50 and p99;
//!   admit:  the guard's whole part of a call (decision, rate limit, audit line queued);
//!   call:   `demo__echo` through a Gateway over the demo server over stdio, without a guard
//!           (baseline), with the ten rules and a rate limit, and with those plus an audit
//!           file; p50 and p99, interleaved so all three see the same machine.
//!
//! Usage: policy_bench --demo PATH [--calls N]   (see bench/policy.sh)

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Parser;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use toolyard::config::Config;
use toolyard::gateway::Gateway;
use toolyard::policy::{Guard, Request};
use toolyard::workbench::{
    AuthMethod, CallContext, CallerInfo, CallerSession, Principal, Workbench,
};

#[derive(Parser)]
struct Args {
    /// The demo_server example binary.
    #[arg(long)]
    demo: PathBuf,
    /// Calls (and decisions) per measurement.
    #[arg(long, default_value_t = 5000)]
    calls: usize,
}

/// Ten rules of the kinds a deployment writes; none holds for the benchmark's caller except the
/// last, so each decision evaluates all ten.
const RULES: &str = r#"
[policy]
default = "deny"
[[policy.rules]]
deny = 'mcp.tool.name == "demo__crash" && jwt.sub != "admin"'
[[policy.rules]]
deny = 'mcp.tool.name.startsWith("fs__") && !("fs:write" in jwt.scope.split(" "))'
[[policy.rules]]
deny = 'jwt.sub in ["mallory", "eve"]'
[[policy.rules]]
deny = 'mcp.method == "resources/read" && !mcp.resource.uri.startsWith("demo://")'
[[policy.rules]]
allow = 'jwt.sub == "admin"'
[[policy.rules]]
allow = 'mcp.tool.server == "everything" && "mcp:tools" in jwt.scope.split(" ")'
[[policy.rules]]
allow = 'mcp.prompt.name == "demo__greet"'
[[policy.rules]]
allow = 'jwt.groups.exists(g, g == "ops") && mcp.tool.server == "fs"'
[[policy.rules]]
allow = 'mcp.tool.name.endsWith("__hang") && jwt.sub == "tester"'
[[policy.rules]]
allow = 'mcp.tool.server == "demo" && "mcp:tools" in jwt.scope.split(" ")'
[policy.rate_limit]
per_minute = 100000000
"#;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len().saturating_sub(1))]
}

fn report(label: &str, mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    let (p50, p99) = (percentile(&samples, 0.5), percentile(&samples, 0.99));
    println!(
        "{label:34} p50 {:>9.2} µs   p99 {:>9.2} µs",
        p50.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6
    );
    p50
}

/// A config over the demo server: `rules` adds [`RULES`], `audit` an audit file.
fn write_config(dir: &Path, demo: &Path, rules: bool, audit: bool) -> Result<Config> {
    let mut text = format!("[servers.demo]\ncommand = \"{}\"\n", demo.display());
    if rules {
        text.push_str(RULES);
    }
    if audit {
        text.push_str("[audit]\npath = \"audit.jsonl\"\n");
    }
    let path = dir.join(format!("servers-{rules}-{audit}.toml"));
    std::fs::write(&path, text)?;
    Config::load(&path).context("config")
}

fn caller() -> CallerInfo {
    let claims = json!({"sub": "bench", "scope": "openid mcp:tools", "groups": ["dev"]});
    let claims = claims.as_object().cloned().unwrap_or_default();
    CallerInfo {
        session: Some(CallerSession::new()),
        principal: Some(Arc::new(Principal::new(AuthMethod::Bearer, claims))),
        ..CallerInfo::default()
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let dir = std::env::temp_dir().join(format!("toolyard-policy-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let baseline_config = write_config(&dir, &args.demo, false, false)?;
    let rules_config = write_config(&dir, &args.demo, true, false)?;
    let audited_config = write_config(&dir, &args.demo, true, true)?;
    let guard = Guard::from_config(&rules_config)?.context("a guard")?;
    let audited_guard = Guard::from_config(&audited_config)?;
    let who = caller();

    // One decision alone.
    let request = Request::tool("demo__echo", "demo");
    let mut decide = Vec::with_capacity(args.calls);
    for _ in 0..args.calls {
        let started = Instant::now();
        let decision = guard.decide(&Guard::claims(&who), request);
        decide.push(started.elapsed());
        anyhow::ensure!(decision.allowed, "the benchmark caller must be allowed");
    }
    println!(
        "policy: ten rules, every one evaluated per decision; {} samples",
        args.calls
    );
    let decided = report("decide (claims + 10 rules)", decide);

    // The guard's whole part of one call: decision, rate limit, audit line queued.
    let audited_guard = audited_guard.context("an audited guard")?;
    let mut admitted = Vec::with_capacity(args.calls);
    for _ in 0..args.calls {
        let started = Instant::now();
        let pass = audited_guard.admit(&who, request, None).await?;
        audited_guard
            .finish(&who, request, &pass, toolyard::policy::Outcome::Ok)
            .await;
        admitted.push(started.elapsed());
    }
    let guarded_part = report("admit + rate limit + audit line", admitted);

    // Whole calls, baseline and guarded, interleaved.
    let shutdown = CancellationToken::new();
    let baseline = Gateway::from_config(&baseline_config, shutdown.child_token());
    let guarded = Gateway::from_config_guarded(
        &rules_config,
        Vec::new(),
        Some(Arc::clone(&guard)),
        shutdown.child_token(),
    );
    let audited = Gateway::from_config_guarded(
        &audited_config,
        Vec::new(),
        Some(Arc::clone(&audited_guard)),
        shutdown.child_token(),
    );
    for gw in [&baseline, &guarded, &audited] {
        anyhow::ensure!(
            gw.wait_ready(Duration::from_secs(30)).await,
            "demo not ready"
        );
    }
    let arguments = json!({"message": "hi"}).as_object().cloned();
    let ctx = CallContext {
        caller: who.clone(),
        ..CallContext::default()
    };
    let (mut plain, mut checked, mut written) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..args.calls + 200 {
        let runs = [
            (&audited, &mut written),
            (&guarded, &mut checked),
            (&baseline, &mut plain),
        ];
        for (gw, samples) in runs {
            let started = Instant::now();
            gw.call_tool("demo__echo", arguments.clone(), ctx.clone())
                .await
                .context("echo")?;
            if i >= 200 {
                samples.push(started.elapsed());
            }
        }
    }
    println!(
        "call: demo__echo over stdio, {} calls each (after 200 warm-up)",
        args.calls
    );
    let p50_plain = report("  no policy (baseline)", plain);
    let p50_checked = report("  10 rules + rate limit", checked);
    let p50_written = report("  10 rules + rate limit + audit", written);
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "policy cost per call (goal ≤ 20 µs p50): decision {:.2} µs, the guard's whole part {:.2} µs; \
         call p50 vs baseline (noisy): rules + limit {:+.2} µs, with audit {:+.2} µs",
        micros(decided),
        micros(guarded_part),
        micros(p50_checked) - micros(p50_plain),
        micros(p50_written) - micros(p50_plain),
    );
    for gw in [&baseline, &guarded, &audited] {
        gw.shutdown().await;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
