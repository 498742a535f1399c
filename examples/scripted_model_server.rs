//! Runs the scripted model server from a JSON or TOML script and prints its URL.
//!
//! `cargo run --example scripted_model_server -- --script script.toml --listen 127.0.0.1:8089`

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use toolyard::models::scripted::{Script, ScriptedServer, Step};

/// Command-line options.
#[derive(Parser)]
#[command(about = "Serve OpenAI chat completions and Anthropic messages from a script")]
struct Args {
    /// Script file (.json or .toml); without it every request is answered "Hello from the scripted model."
    #[arg(long)]
    script: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let script = match &args.script {
        Some(path) => Script::load(path).with_context(|| format!("loading {}", path.display()))?,
        None => Script::steps(vec![Step::text("Hello from the scripted model.")]),
    };
    let server = ScriptedServer::start_on(script, args.listen)
        .await
        .context("starting the server")?;
    println!("{}", server.base_url());
    println!("OpenAI base_url:    {}", server.openai_base_url());
    println!("Anthropic base_url: {}", server.base_url());
    tokio::signal::ctrl_c()
        .await
        .context("waiting for ctrl-c")?;
    Ok(())
}
