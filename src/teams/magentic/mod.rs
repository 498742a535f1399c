//! `MagenticOne`: the Magentic-One orchestrator (AutoGen `MagenticOneGroupChat`) as a speaker
//! policy. An outer loop writes a task ledger (facts and plan); an inner loop asks the model for
//! a progress ledger on every step and posts the instruction to the chosen speaker, re-plans
//! after too many stalls, and ends the run with a final answer.

mod ledger;
mod orchestrator;
mod prompts;

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

pub use prompts::DEFAULT_FINAL_ANSWER_PROMPT;

use super::group_chat::{GroupChat, GroupChatBuilder, PolicyContext, Selection, SpeakerPolicy};
use crate::agents::ChatAgent;
use crate::component::ComponentError;
use crate::messages::ChatMessage;
use crate::models::{ChatCompletionClient, model_client_config};

/// The orchestrator's name: the source of its messages and the key of its state.
pub const ORCHESTRATOR_NAME: &str = "MagenticOneOrchestrator";

/// The Magentic-One policy (AutoGen's `MagenticOneOrchestrator`).
#[derive(Clone)]
pub struct MagenticOne {
    client: Arc<dyn ChatCompletionClient>,
    max_turns: Option<usize>,
    max_stalls: usize,
    final_answer_prompt: String,
    max_json_retries: usize,
    /// A new task (its text) waiting for the outer loop.
    pending: Option<String>,
    ledger: TaskLedger,
}

/// What the orchestrator remembers between steps (AutoGen's `MagenticOneOrchestratorState`
/// fields besides the thread).
#[derive(Debug, Clone, Default, PartialEq)]
struct TaskLedger {
    task: String,
    facts: String,
    plan: String,
    n_rounds: usize,
    n_stalls: usize,
}

impl MagenticOne {
    /// An orchestrator asking `client`, with AutoGen's defaults (20 rounds, 3 stalls).
    pub fn new(client: Arc<dyn ChatCompletionClient>) -> Self {
        Self {
            client,
            max_turns: Some(20),
            max_stalls: 3,
            final_answer_prompt: DEFAULT_FINAL_ANSWER_PROMPT.to_string(),
            max_json_retries: 10,
            pending: None,
            ledger: TaskLedger::default(),
        }
    }

    /// Rounds (progress-ledger steps) before the final answer is forced (`None`: no limit).
    pub fn max_turns(mut self, n: Option<usize>) -> Self {
        self.max_turns = n;
        self
    }

    /// Stalls (no progress, or a loop) before the orchestrator re-plans.
    pub fn max_stalls(mut self, n: usize) -> Self {
        self.max_stalls = n;
        self
    }

    /// The prompt asking for the final answer (`{task}` is replaced by the task).
    pub fn final_answer_prompt(mut self, prompt: impl Into<String>) -> Self {
        self.final_answer_prompt = prompt.into();
        self
    }

    /// How many times the progress ledger is asked for before the run fails (default 10).
    pub fn max_json_retries(mut self, n: usize) -> Self {
        self.max_json_retries = n.max(1);
        self
    }

    /// The round limit.
    pub fn turn_limit(&self) -> Option<usize> {
        self.max_turns
    }

    /// The stall limit.
    pub fn stall_limit(&self) -> usize {
        self.max_stalls
    }
}

impl GroupChat {
    /// A `MagenticOneGroupChat` of these participants driven by `orchestrator`. Its round
    /// limit is `MagenticOne::max_turns`, not the builder's `max_turns`.
    pub fn magentic_one(
        participants: Vec<Arc<dyn ChatAgent>>,
        orchestrator: MagenticOne,
    ) -> GroupChatBuilder {
        GroupChat::builder(participants, orchestrator)
    }
}

#[async_trait]
impl SpeakerPolicy for MagenticOne {
    fn team_type(&self) -> &'static str {
        "MagenticOneGroupChat"
    }

    fn manager_name(&self) -> &'static str {
        ORCHESTRATOR_NAME
    }

    fn state_type(&self) -> &'static str {
        "MagenticOneOrchestratorState"
    }

    fn validate(&self, _ctx: &PolicyContext<'_>, task: &[ChatMessage]) -> Result<(), String> {
        if task.is_empty() && self.ledger.task.is_empty() && self.pending.is_none() {
            return Err("MagenticOneGroupChat needs a task to start".into());
        }
        Ok(())
    }

    fn on_task(&mut self, task: &[ChatMessage]) {
        if !task.is_empty() {
            let text: Vec<String> = task.iter().map(ChatMessage::to_model_text).collect();
            self.pending = Some(text.join(" "));
        }
    }

    fn terminates_on_manager_messages(&self) -> bool {
        false
    }

    async fn select(
        &mut self,
        ctx: &PolicyContext<'_>,
        cancel: &CancellationToken,
    ) -> Result<Selection, String> {
        orchestrator::Step::new(self, ctx, cancel).run().await
    }

    fn reset(&mut self) {
        self.pending = None;
        self.ledger = TaskLedger::default();
    }

    fn save_state(&self) -> Map<String, Value> {
        let l = &self.ledger;
        let mut m = Map::new();
        m.insert("task".into(), json!(l.task));
        m.insert("facts".into(), json!(l.facts));
        m.insert("plan".into(), json!(l.plan));
        m.insert("n_rounds".into(), json!(l.n_rounds));
        m.insert("n_stalls".into(), json!(l.n_stalls));
        m
    }

    fn load_state(&mut self, state: &Map<String, Value>) -> Result<(), String> {
        let text = |k: &str| {
            state
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let count = |k: &str| {
            let n = state.get(k).and_then(Value::as_u64).unwrap_or(0);
            usize::try_from(n).map_err(|e| format!("`{k}`: {e}"))
        };
        self.ledger = TaskLedger {
            task: text("task"),
            facts: text("facts"),
            plan: text("plan"),
            n_rounds: count("n_rounds")?,
            n_stalls: count("n_stalls")?,
        };
        self.pending = None;
        Ok(())
    }

    fn dump_config(&self) -> Result<Map<String, Value>, ComponentError> {
        let client = model_client_config(self.client.as_ref(), "MagenticOneGroupChat")?;
        let mut m = Map::new();
        m.insert("model_client".into(), json!(client));
        m.insert("max_turns".into(), json!(self.max_turns));
        m.insert("max_stalls".into(), json!(self.max_stalls));
        m.insert(
            "final_answer_prompt".into(),
            json!(self.final_answer_prompt),
        );
        Ok(m)
    }
}
