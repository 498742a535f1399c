//! `ParkedInput`: the questions a call waits on while its caller is away, answered in one or
//! more parts — by the retry of an `input_required` round (`inputResponses`) or by `tasks/update`
//! for a task. The one place where asked questions and their answers are kept.

use std::collections::HashMap;

use rmcp::ErrorData;
use rmcp::model::{InputRequests, InputResponses};
use tokio::sync::oneshot;

/// Questions a waiting call asked, the answers so far, and where the answers go.
pub struct ParkedInput {
    /// Questions not answered yet, under the keys the caller sees.
    open: InputRequests,
    /// The key the caller sees → the key the call asked under.
    keys: HashMap<String, String>,
    /// Answers so far, under the keys the call asked under.
    answers: InputResponses,
    reply: oneshot::Sender<Result<InputResponses, ErrorData>>,
}

impl ParkedInput {
    /// Questions shown under the keys they were asked with.
    pub fn new(
        requests: InputRequests,
        reply: oneshot::Sender<Result<InputResponses, ErrorData>>,
    ) -> Self {
        Self::renamed(requests, reply, str::to_string)
    }

    /// Questions shown under `rename(key)` (a task shows keys unique over its life).
    pub fn renamed(
        requests: InputRequests,
        reply: oneshot::Sender<Result<InputResponses, ErrorData>>,
        mut rename: impl FnMut(&str) -> String,
    ) -> Self {
        let mut open = InputRequests::new();
        let mut keys = HashMap::new();
        for (key, request) in requests {
            let shown = rename(&key);
            keys.insert(shown.clone(), key);
            open.insert(shown, request);
        }
        Self {
            open,
            keys,
            answers: InputResponses::new(),
            reply,
        }
    }

    /// The questions still open, under the keys the caller sees.
    pub fn open(&self) -> &InputRequests {
        &self.open
    }

    /// Refuse answers to questions that are not open (an `input_required` retry must answer
    /// what it was asked; `tasks/update` ignores unknown keys instead).
    pub fn check(&self, responses: &InputResponses) -> Result<(), ErrorData> {
        match responses.keys().find(|key| !self.open.contains_key(*key)) {
            Some(key) => Err(ErrorData::invalid_params(
                format!("inputResponses has `{key}`, which was not asked"),
                None,
            )),
            None => Ok(()),
        }
    }

    /// Take the answers to open questions (others are ignored). Gives the input back while
    /// questions remain open; `None` once all are answered and the answers went to the call.
    pub fn answer(mut self, responses: InputResponses) -> Option<Self> {
        for (key, value) in responses {
            if self.open.remove(&key).is_some()
                && let Some(asked) = self.keys.remove(&key)
            {
                self.answers.insert(asked, value);
            }
        }
        if !self.open.is_empty() {
            return Some(self);
        }
        let _ = self.reply.send(Ok(self.answers));
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::{InputRequest, ListRootsRequest};
    use serde_json::json;

    fn roots() -> InputRequest {
        InputRequest::ListRoots(ListRootsRequest {
            method: Default::default(),
            extensions: Default::default(),
        })
    }

    #[tokio::test]
    async fn answers_in_parts_reach_the_call_under_the_asked_keys() {
        let (reply, answered) = oneshot::channel();
        let requests: InputRequests = [("a".to_string(), roots()), ("b".to_string(), roots())]
            .into_iter()
            .collect();
        let mut n = 0;
        let parked = ParkedInput::renamed(requests, reply, |k| {
            n += 1;
            format!("{n}-{k}")
        });
        let mut first = InputResponses::new();
        first.insert("1-a".into(), json!(1));
        assert!(parked.check(&first).is_ok());
        first.insert("x".into(), json!(0));
        assert!(parked.check(&first).is_err());
        let parked = parked.answer(first).expect("b is still open");
        assert_eq!(parked.open().keys().collect::<Vec<_>>(), ["2-b"]);
        let mut second = InputResponses::new();
        second.insert("2-b".into(), json!(2));
        assert!(parked.answer(second).is_none());
        let answers = answered.await.unwrap().unwrap();
        assert_eq!(
            (answers["a"].clone(), answers["b"].clone()),
            (json!(1), json!(2))
        );
    }
}
