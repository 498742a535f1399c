//! Prints a team run the way the team examples show it: `[Type] source: text` for each message,
//! then the stop reason and the message count.

use futures::StreamExt;
use toolyard::agents::RunItem;
use toolyard::teams::TeamStream;

/// Prints each item of `stream`; with `first_line_only`, only the first line of each text.
pub async fn print_run(mut stream: TeamStream<'_>, first_line_only: bool) -> anyhow::Result<()> {
    while let Some(item) = stream.next().await {
        match item? {
            RunItem::Message(m) => {
                let text = m.to_text();
                let text = match first_line_only {
                    true => text.trim().lines().next().unwrap_or_default().to_string(),
                    false => text,
                };
                println!("[{}] {}: {}", m.type_name(), m.source(), text);
            }
            RunItem::Result(r) => println!(
                "stop: {} ({} messages)",
                r.stop_reason.unwrap_or_default(),
                r.messages.len()
            ),
        }
    }
    Ok(())
}
