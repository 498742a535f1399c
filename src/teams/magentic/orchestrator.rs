//! One orchestrator decision: plan a new task (outer loop) if there is one, then step the inner
//! loop until a speaker is chosen or the final answer ends the run.

use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::ledger::{self, ProgressLedger};
use super::{MagenticOne, ORCHESTRATOR_NAME, prompts};
use crate::messages::{AgentMessage, ChatMessage};
use crate::models::{CreateRequest, LlmMessage, ModelError, OutputFormat, fit_to_model};
use crate::teams::group_chat::{PolicyContext, Selection};

/// Stop reason when the round limit is reached (AutoGen's text).
const MAX_ROUNDS_REASON: &str = "Max rounds reached.";

/// The state of one `select` call: the orchestrator, the thread as it sees it (including what
/// it posted during this call) and the selection being built.
pub(super) struct Step<'a> {
    policy: &'a mut MagenticOne,
    names: Vec<String>,
    team: String,
    view: Vec<ChatMessage>,
    cancel: &'a CancellationToken,
    out: Selection,
}

impl<'a> Step<'a> {
    /// Starts a decision from the conversation in `ctx`.
    pub(super) fn new(
        policy: &'a mut MagenticOne,
        ctx: &PolicyContext<'_>,
        cancel: &'a CancellationToken,
    ) -> Self {
        let team =
            prompts::team_description(ctx.participants.iter().map(|p| (p.name(), p.description())));
        Self {
            policy,
            names: ctx.names(),
            team,
            view: ctx
                .thread
                .iter()
                .filter_map(AgentMessage::as_chat)
                .cloned()
                .collect(),
            cancel,
            out: Selection::default(),
        }
    }

    /// Runs the outer loop for a new task, then inner-loop steps until a speaker or a stop.
    pub(super) async fn run(mut self) -> Result<Selection, String> {
        if let Some(task) = self.policy.pending.clone() {
            // Kept pending until planned, so a failed or cancelled run plans it again on resume.
            self.plan_task(task).await?;
            self.policy.pending = None;
            self.enter_outer_loop();
        }
        loop {
            if let Some(max) = self.policy.max_turns
                && self.policy.ledger.n_rounds > max
            {
                return self.finish(MAX_ROUNDS_REASON.to_string()).await;
            }
            self.policy.ledger.n_rounds += 1;
            let progress = self.progress_ledger().await?;
            debug!(?progress, "progress ledger");
            if progress.satisfied {
                return self.finish(progress.satisfied_reason).await;
            }
            let l = &mut self.policy.ledger;
            l.n_stalls = if !progress.progressing || progress.in_loop {
                l.n_stalls + 1
            } else {
                l.n_stalls.saturating_sub(1)
            };
            if l.n_stalls >= self.policy.max_stalls {
                debug!(n_stalls = l.n_stalls, "stalled: re-planning");
                self.update_task_ledger().await?;
                self.enter_outer_loop();
                continue;
            }
            self.post(progress.instruction);
            self.out.speakers = vec![progress.next_speaker];
            return Ok(self.out);
        }
    }

    /// The first facts and plan for `task` (two model calls in one planning conversation).
    async fn plan_task(&mut self, task: String) -> Result<(), String> {
        let asks = [
            (prompts::facts(&task), "facts"),
            (prompts::plan(&self.team), "plan"),
        ];
        let (facts, plan) = self.facts_then_plan(Vec::new(), asks).await?;
        let l = &mut self.policy.ledger;
        l.task = task;
        l.facts = facts;
        l.plan = plan;
        l.n_stalls = 0;
        Ok(())
    }

    /// Revised facts and plan from the conversation so far (after too many stalls).
    async fn update_task_ledger(&mut self) -> Result<(), String> {
        let l = &self.policy.ledger;
        let asks = [
            (prompts::facts_update(&l.task, &l.facts), "facts update"),
            (prompts::plan_update(&self.team), "plan update"),
        ];
        let (facts, plan) = self.facts_then_plan(self.context(), asks).await?;
        self.policy.ledger.facts = facts;
        self.policy.ledger.plan = plan;
        Ok(())
    }

    /// After `conversation`, asks the facts prompt, then the plan prompt in the same
    /// conversation; each ask is `(prompt, what)`, `what` naming the call in errors.
    async fn facts_then_plan(
        &self,
        mut conversation: Vec<LlmMessage>,
        [(facts_prompt, facts_what), (plan_prompt, plan_what)]: [(String, &str); 2],
    ) -> Result<(String, String), String> {
        conversation.push(LlmMessage::user(facts_prompt, ORCHESTRATOR_NAME));
        let facts = self.ask(conversation.clone(), facts_what).await?;
        conversation.push(LlmMessage::assistant(facts.clone(), ORCHESTRATOR_NAME));
        conversation.push(LlmMessage::user(plan_prompt, ORCHESTRATOR_NAME));
        let plan = self.ask(conversation, plan_what).await?;
        Ok((facts, plan))
    }

    /// Resets the participants and the thread, then posts the task ledger.
    fn enter_outer_loop(&mut self) {
        self.out.reset_before = Some(self.out.messages.len());
        self.view.clear();
        let l = &self.policy.ledger;
        let text = prompts::ledger(&l.task, &self.team, &l.facts, &l.plan);
        self.post(text);
    }

    /// Asks for the final answer, posts it and ends the run with `reason`.
    async fn finish(mut self, reason: String) -> Result<Selection, String> {
        let mut conversation = self.context();
        let prompt =
            prompts::final_answer(&self.policy.final_answer_prompt, &self.policy.ledger.task);
        conversation.push(LlmMessage::user(prompt, ORCHESTRATOR_NAME));
        let answer = self.ask(conversation, "final answer").await?;
        self.post(answer);
        self.out.stop = Some(reason);
        Ok(self.out)
    }

    /// Asks for the progress ledger until it is valid, up to `max_json_retries` times.
    async fn progress_ledger(&mut self) -> Result<ProgressLedger, String> {
        let l = &self.policy.ledger;
        let mut conversation = self.context();
        conversation.push(LlmMessage::user(
            prompts::progress(&l.task, &self.team, &self.names),
            ORCHESTRATOR_NAME,
        ));
        let info = self.policy.client.model_info();
        let output = if info.structured_output {
            OutputFormat::JsonSchema {
                name: "LedgerEntry".into(),
                schema: ledger::schema(),
                strict: true,
            }
        } else if info.json_output {
            OutputFormat::JsonObject
        } else {
            OutputFormat::Text
        };
        let request = CreateRequest::new(self.compatible(conversation)).with_output(output);
        let attempts = self.policy.max_json_retries;
        let mut problem = String::new();
        for attempt in 1..=attempts {
            let text = match self
                .policy
                .client
                .create(request.clone(), self.cancel.clone())
                .await
            {
                Ok(result) => result.content.as_text().unwrap_or_default().to_string(),
                Err(
                    e @ (ModelError::InvalidJsonOutput { .. } | ModelError::SchemaMismatch { .. }),
                ) => {
                    problem = e.to_string();
                    warn!(attempt, %problem, "invalid progress ledger, asking again");
                    continue;
                }
                Err(e) => return Err(failed("progress ledger", &e)),
            };
            match ledger::parse(&text, &self.names) {
                Ok(progress) => return Ok(progress),
                Err(p) => {
                    warn!(attempt, problem = %p, reply = %text, "invalid progress ledger, asking again");
                    problem = p;
                }
            }
        }
        Err(format!(
            "{ORCHESTRATOR_NAME}: no valid progress ledger after {attempts} attempts \
             (last problem: {problem})"
        ))
    }

    /// One text model call.
    async fn ask(&self, conversation: Vec<LlmMessage>, what: &str) -> Result<String, String> {
        let request = CreateRequest::new(self.compatible(conversation));
        let result = self
            .policy
            .client
            .create(request, self.cancel.clone())
            .await
            .map_err(|e| failed(what, &e))?;
        result.content.as_text().map(str::to_string).ok_or_else(|| {
            format!("{ORCHESTRATOR_NAME}: the {what} model call returned tool calls")
        })
    }

    /// Posts an orchestrator message: to the team (via the selection) and to its own view.
    fn post(&mut self, text: String) {
        let message = ChatMessage::text(ORCHESTRATOR_NAME, text);
        self.view.push(message.clone());
        self.out.messages.push(message);
    }

    /// The thread as model messages: the orchestrator's own as assistant messages, the rest as
    /// user messages.
    fn context(&self) -> Vec<LlmMessage> {
        self.view
            .iter()
            .map(|m| match m {
                ChatMessage::StopMessage(_) | ChatMessage::HandoffMessage(_) => {
                    LlmMessage::user(m.to_model_text(), m.source())
                }
                _ if m.source() == ORCHESTRATOR_NAME => {
                    LlmMessage::assistant(m.to_model_text(), m.source())
                }
                _ => m.to_model_message(),
            })
            .collect()
    }

    /// Drops images for models without vision (shown as `<image>`).
    fn compatible(&self, messages: Vec<LlmMessage>) -> Vec<LlmMessage> {
        fit_to_model(self.policy.client.as_ref(), messages)
    }
}

fn failed(what: &str, e: &ModelError) -> String {
    format!("{ORCHESTRATOR_NAME}: the {what} model call failed: {e}")
}
