//! `toolyard check`: validate the config, connect to every upstream, report each server.

use std::process::ExitCode;

use super::{ConfigArgs, init_logging, start_gateway, wait_for_upstreams};

/// Options of `toolyard check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    #[command(flatten)]
    config: ConfigArgs,
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
    wait_for_upstreams(&config, &gateway).await;
    let mut failed = false;
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
    gateway.shutdown().await;
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
