//! `toolyard conversations`: the conversations with served teams and agents kept in the
//! config's store (id, tool, owner, created, updated, turns, messages), or their JSON.

use std::process::ExitCode;

use toolyard::config::Config;
use toolyard::store::{ConversationSummary, Store};

use super::{ConfigArgs, StoreArgs, StoreDefault, init_logging};

/// Options of `toolyard conversations`.
#[derive(Debug, clap::Args)]
pub struct ConversationsArgs {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    store: StoreArgs,
    /// Only the conversations of this caller (the `sub` of its token or API key name).
    #[arg(long, value_name = "SUB")]
    caller: Option<String>,
    /// Print JSON (one array of objects) instead of a table.
    #[arg(long)]
    json: bool,
}

/// Lists the conversations not expired, newest first.
pub async fn run(args: ConversationsArgs) -> anyhow::Result<ExitCode> {
    init_logging(super::ONE_SHOT_LOG);
    let config = Config::load(&args.config.config)?;
    let url = args.store.url(&config, StoreDefault::File)?;
    let store = Store::open(&url).await?;
    let listed = store.list_conversations(args.caller.as_deref()).await;
    store.close().await;
    let list = listed?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&list)?);
    } else {
        print_table(&list);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(list: &[ConversationSummary]) {
    if list.is_empty() {
        println!("no conversations");
        return;
    }
    println!(
        "{:<36}  {:<20}  {:<12}  {:<20}  {:<20}  {:>5}  {:>8}",
        "ID", "TOOL", "OWNER", "CREATED", "UPDATED", "TURNS", "MESSAGES"
    );
    for c in list {
        let owner = if c.owner.is_empty() { "-" } else { &c.owner };
        let busy = if c.busy { "  (running)" } else { "" };
        println!(
            "{:<36}  {:<20}  {:<12}  {:<20}  {:<20}  {:>5}  {:>8}{busy}",
            c.id,
            c.tool,
            owner,
            time(c.created_at),
            time(c.updated_at),
            c.turns,
            c.messages
        );
    }
}

/// Milliseconds since 1970 as `2026-12-07 21:50:03` (UTC).
fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| ms.to_string())
}
