//! toolyard side of bench/teams.sh: loads a team config dumped by AutoGen 0.7.5
//! (bench/teams_autogen.py) and runs it against the running scripted server.
//! Prints {"ms_per_message": .., "messages": .., "peak_rss_mb": ..}.
//!
//! `teams_bench <team.json> <runs> <warmup>`

use std::time::Instant;

use tokio_util::sync::CancellationToken;
use toolyard::agents::LoadOptions;
use toolyard::component::ComponentModel;
use toolyard::teams::load_team;

/// Peak resident set size of this process in MiB (Linux `VmHWM`).
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    anyhow::ensure!(
        args.len() == 4,
        "usage: teams_bench <team.json> <runs> <warmup>"
    );
    let config: ComponentModel = serde_json::from_str(&std::fs::read_to_string(&args[1])?)?;
    let runs: usize = args[2].parse()?;
    let warmup: usize = args[3].parse()?;
    let team = load_team(&config, &LoadOptions::default())?;
    for _ in 0..warmup {
        team.run("Go".into(), CancellationToken::new()).await?;
        team.reset().await?;
    }
    let mut count = 0;
    let start = Instant::now();
    for _ in 0..runs {
        let result = team.run("Go".into(), CancellationToken::new()).await?;
        count += result
            .messages
            .iter()
            .filter(|m| m.as_chat().is_some())
            .count();
        team.reset().await?;
    }
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    anyhow::ensure!(count > 0, "the team produced no messages");
    println!(
        "{}",
        serde_json::json!({
            "ms_per_message": ms / count as f64,
            "messages": count / runs,
            "peak_rss_mb": peak_rss_mb(),
        })
    );
    Ok(())
}
