//! `toolyard run`: runs one agent or team from a file in the terminal, like AutoGen's Console:
//! messages streamed with speaker names and colours, compact tool calls, a final summary;
//! `--json` prints the TaskResult; Ctrl-C cancels; `--state FILE` resumes and saves state.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anstyle::{AnsiColor, Style};
use anyhow::Context;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;
use toolyard::agents::{RunItem, Task};
use toolyard::messages::{AgentEvent, AgentMessage, ChatMessage, TaskResult};
use toolyard::telemetry::events;

use super::runner::{Runner, load_runner};
use super::{ConfigArgs, TELEMETRY_FLUSH, init_telemetry};

/// Options of `toolyard run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// A workbench file or an agent / team component file (JSON or TOML, AutoGen's shape).
    file: PathBuf,
    /// The task; without it the run resumes the conversation (e.g. from `--state`).
    #[arg(long, short = 't')]
    task: Option<String>,
    /// Print the TaskResult as JSON instead of the console view.
    #[arg(long)]
    json: bool,
    /// Load state from this file if it exists, and save the state to it when the run ends.
    #[arg(long)]
    state: Option<PathBuf>,
    /// Append AutoGen-style events (one JSON object per line: each LLM call, tool call, chat
    /// message and agent event) to this file.
    #[arg(long)]
    events: Option<PathBuf>,
    #[command(flatten)]
    config: ConfigArgs,
}

/// Runs the file's agent or team once; exit code 0 on a finished run, 1 on an error, 130 on Ctrl-C.
pub async fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let traces = match args.config.config.exists() {
        true => toolyard::config::Config::load(&args.config.config)?.telemetry,
        false => Default::default(),
    };
    let telemetry = init_telemetry("warn", &traces)?;
    if let Some(path) = &args.events {
        events::open(path)?;
    }
    let runner = load_runner(&args.file, &args.config.config).await?;
    if let Some(path) = &args.state
        && path.exists()
    {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read state file {}", path.display()))?;
        let state: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("state file {} is not JSON", path.display()))?;
        runner
            .load_state(&state)
            .await
            .with_context(|| format!("cannot load state from {}", path.display()))?;
    }
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    // Detached on purpose: it only cancels the run's token and ends with the process.
    tokio::spawn(async move {
        stop_signal().await;
        on_signal.cancel();
    });
    let task = match &args.task {
        Some(t) => Task::Text(t.clone()),
        None => Task::None,
    };
    let started = Instant::now();
    let mut console = Console::new(!args.json);
    let mut stream = runner.run_stream(task, cancel.clone());
    let following = async {
        while let Some(item) = stream.next().await {
            match item {
                Ok(RunItem::Message(m)) => console.show(&m),
                Ok(RunItem::Result(r)) => return Ok(r),
                Err(e) => return Err(e),
            }
        }
        Err(anyhow::anyhow!("the run ended without a result"))
    };
    let (outcome, cost): (anyhow::Result<TaskResult>, _) = events::costed(following).await;
    drop(stream);
    console.end_line();
    if let Some(path) = &args.state {
        save_state(&runner, path).await?;
    }
    let code = match outcome {
        Ok(result) => {
            if args.json {
                println!("{}", serde_json::to_string_pretty(&result)?);
            } else {
                console.summary(&result, started, cost);
            }
            ExitCode::SUCCESS
        }
        Err(e) if cancel.is_cancelled() => {
            eprintln!("cancelled: {e}");
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    };
    runner.shutdown().await;
    events::close();
    telemetry.shutdown(TELEMETRY_FLUSH).await;
    Ok(code)
}

/// Ctrl-C, or SIGTERM on Unix: both cancel the run, which then stops its servers cleanly.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

async fn save_state(runner: &Runner, path: &Path) -> anyhow::Result<()> {
    let state = runner.save_state().await.context("cannot save state")?;
    std::fs::write(path, serde_json::to_string_pretty(&state)?)
        .with_context(|| format!("cannot write state file {}", path.display()))
}

/// The console view: one header per message, streamed chunks inline, compact tool calls.
struct Console {
    on: bool,
    in_chunk: bool,
    colours: Vec<String>,
}

const PALETTE: [AnsiColor; 6] = [
    AnsiColor::Cyan,
    AnsiColor::Magenta,
    AnsiColor::Yellow,
    AnsiColor::Green,
    AnsiColor::Blue,
    AnsiColor::Red,
];

/// Longest tool argument / result text shown before it is cut.
const SHOW_MAX: usize = 200;

impl Console {
    fn new(on: bool) -> Self {
        Self {
            on,
            in_chunk: false,
            colours: Vec::new(),
        }
    }

    fn style(&mut self, source: &str) -> Style {
        let i = match self.colours.iter().position(|s| s == source) {
            Some(i) => i,
            None => {
                self.colours.push(source.to_string());
                self.colours.len() - 1
            }
        };
        Style::new()
            .bold()
            .fg_color(Some(PALETTE[i % PALETTE.len()].into()))
    }

    fn out(&self, text: &str) {
        let mut out = anstream::stdout();
        let _ = write!(out, "{text}");
        let _ = out.flush();
    }

    fn end_line(&mut self) {
        if self.in_chunk {
            self.out("\n");
            self.in_chunk = false;
        }
    }

    fn header(&mut self, kind: &str, source: &str) {
        let style = self.style(source);
        let dim = Style::new().dimmed();
        self.out(&format!(
            "{dim}---------- {dim:#}{style}{source}{style:#} {dim}({kind}) ----------{dim:#}\n"
        ));
    }

    fn show(&mut self, m: &AgentMessage) {
        if !self.on {
            return;
        }
        if let AgentMessage::Event(AgentEvent::ModelClientStreamingChunkEvent(c)) = m {
            if !self.in_chunk {
                self.header("streaming", &c.meta.source);
                self.in_chunk = true;
            }
            self.out(&c.content);
            return;
        }
        let was_streaming = self.in_chunk;
        self.end_line();
        let dim = Style::new().dimmed();
        match m {
            AgentMessage::Event(AgentEvent::ToolCallRequestEvent(e)) => {
                for call in &e.content {
                    self.out(&format!(
                        "{dim}  → {}({}){dim:#}\n",
                        call.name,
                        cut(&call.arguments)
                    ));
                }
            }
            AgentMessage::Event(AgentEvent::ToolCallExecutionEvent(e)) => {
                for r in &e.content {
                    let mark = if r.is_error == Some(true) {
                        "✗"
                    } else {
                        "←"
                    };
                    self.out(&format!(
                        "{dim}  {mark} {}: {}{dim:#}\n",
                        r.name,
                        cut(&r.content)
                    ));
                }
            }
            AgentMessage::Event(e) => {
                self.out(&format!(
                    "{dim}  [{}] {}{dim:#}\n",
                    e.type_name(),
                    cut(&e.to_text())
                ));
            }
            AgentMessage::Chat(c) => {
                // A streamed reply was already printed chunk by chunk.
                if !(was_streaming && matches!(c, ChatMessage::TextMessage(_))) {
                    self.header(c.type_name(), c.source());
                    self.out(&format!("{}\n", c.to_text()));
                }
            }
        }
    }

    fn summary(&mut self, result: &TaskResult, started: Instant, cost: Option<f64>) {
        let usage = result.usage();
        let bold = Style::new().bold();
        self.out(&format!(
            "{bold}---------- Summary ----------{bold:#}\n\
             Number of messages: {}\n\
             Finish reason: {}\n\
             Total prompt tokens: {}\n\
             Total completion tokens: {}\n\
             Duration: {:.2} seconds\n",
            result.messages.len(),
            result.stop_reason.as_deref().unwrap_or("-"),
            usage.prompt_tokens,
            usage.completion_tokens,
            started.elapsed().as_secs_f64()
        ));
        if let Some(cost) = cost {
            self.out(&format!("Total cost: ${cost:.6}\n"));
        }
    }
}

/// `text` on one line, cut to [`SHOW_MAX`] characters.
fn cut(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= SHOW_MAX {
        one_line
    } else {
        let head: String = one_line.chars().take(SHOW_MAX).collect();
        format!("{head}…")
    }
}
