//! `toolyard check`: validate the config, connect to every upstream, report each server.

use std::process::ExitCode;

use toolyard::compose::{Kind, Known, check_folder};
use toolyard::config::Config;
use toolyard::policy::RuleSet;

use super::{
    ConfigArgs, WorkbenchArgs, init_logging, model_table, start_gateway, wait_for_upstreams,
};

/// Options of `toolyard check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    workbenches: WorkbenchArgs,
}

/// Report status, protocol version and tool count per server; fail if any is not ready.
pub async fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    init_logging("error");
    let (config, gateway, _shutdown) = start_gateway(&args.config)?;
    println!(
        "config {}: {} server(s)",
        config.path.display(),
        config.servers.len()
    );
    let mut failed = !check_policy(&config);
    wait_for_upstreams(&gateway).await;
    for s in gateway.statuses() {
        let ok = s.state == "ready";
        failed |= !ok;
        println!(
            "{} {:16} {:16} {:8} protocol={} tools={}{}",
            if ok { "ok  " } else { "FAIL" },
            s.name,
            s.transport,
            s.state,
            s.protocol_version.as_deref().unwrap_or("-"),
            s.tools,
            s.error.map(|e| format!(" error={e}")).unwrap_or_default()
        );
    }
    for c in gateway.collisions().await {
        failed = true;
        println!(
            "FAIL name collision: `{}` is offered by `{}` and `{}` (prefix = \"never\")",
            c.name, c.kept, c.dropped
        );
    }
    let folder = args.workbenches.folder(&config)?;
    if folder.is_none() {
        println!(
            "workbenches: none ({} does not exist; name a folder with --workbenches)",
            config.dir.join("workbenches").display()
        );
    }
    if let Some(dir) = folder {
        let known = Known {
            servers: config.servers.iter().map(|s| s.name.clone()).collect(),
            tools: gateway
                .exposed_tools()
                .await
                .into_iter()
                .map(|t| t.name)
                .collect(),
        };
        failed |= !check_workbenches(&dir, &config, &known).await;
    }
    gateway.shutdown().await;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Compile every `[policy]` rule and report; whether they all compile.
fn check_policy(config: &Config) -> bool {
    let Some(policy) = &config.policy else {
        return true;
    };
    match RuleSet::compile(policy, &config.path) {
        Ok(rules) => {
            let limits = &policy.rate_limit;
            let per_minute = limits
                .per_minute
                .map_or_else(|| "none".to_string(), |n| format!("{n}/min per caller"));
            println!(
                "ok   policy: {} rule(s), default {}, rate limit {per_minute}{}",
                rules.rules.len(),
                rules.default.name(),
                match limits.tools.len() {
                    0 => String::new(),
                    n => format!(" and {n} per-tool limit(s)"),
                }
            );
            true
        }
        Err(e) => {
            println!("FAIL policy: {e}");
            false
        }
    }
}

/// Report every workbench file of `dir`; whether all are good.
async fn check_workbenches(
    dir: &std::path::Path,
    config: &toolyard::config::Config,
    known: &Known,
) -> bool {
    let models = match model_table(config, false).await {
        Ok(m) => m,
        Err(e) => {
            println!("FAIL models {}: {e}", config.path.display());
            return false;
        }
    };
    let report = check_folder(dir, &models, known);
    let ok: Vec<_> = report.ok().collect();
    println!(
        "workbenches {}: {} file(s), {} ok, {} problem(s)",
        dir.display(),
        report.paths.len(),
        ok.len(),
        report.problems.len()
    );
    for f in ok {
        let kind = match f.kind {
            Kind::Team => "team",
            Kind::Agent => "agent",
        };
        println!("ok   {:16} {:6} {}", f.name, kind, f.path.display());
    }
    for p in &report.problems {
        println!("FAIL {p}");
    }
    report.problems.is_empty()
}
