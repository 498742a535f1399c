//! Human input from the calling MCP client: a [`UserInputFn`] that asks the caller's user through
//! MCP elicitation, via the call's [`CallObserver`]. The server face turns the request into what
//! the caller speaks: a server→client `elicitation/create` request for 2025-era callers, an
//! `input_required` round for 2026-07-28 callers.
//!
//! Answers map to AutoGen's user proxy like this: `accept` → the text of the form's `reply`
//! field; `decline` → an empty reply (the run goes on, as when a console user just presses
//! Enter); `cancel` → an error that ends the run. A caller that declared no (form) elicitation
//! capability gets a clear error the moment the team needs input, never a hang.

use std::sync::Arc;

use rmcp::ErrorData;
use rmcp::model::{
    ElicitRequest, ElicitRequestParams, ElicitResult, ElicitationAction, ElicitationSchema,
    InputRequest, InputRequests,
};
use tokio_util::sync::CancellationToken;

use crate::agents::{UserInputFn, UserInputRequest};
use crate::workbench::{CallContext, CallObserver, CallerInfo};

/// The name of the one string field of the elicitation form.
pub const REPLY_FIELD: &str = "reply";

/// The key of the elicitation in the input-request batch.
const KEY: &str = "user_input";

/// Why asking the calling client's user failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallerInputError {
    /// The caller declared no elicitation capability (neither era can ask its user).
    #[error("this team needs human input but the calling client supports no elicitation")]
    NoElicitation,
    /// The user cancelled (dismissed) the request.
    #[error("the user cancelled the input request of `{agent}`")]
    Cancelled {
        /// The user proxy that asked.
        agent: String,
    },
    /// The caller answered the request with an error, or the request could not be delivered.
    #[error("asking the calling client's user failed: {message}")]
    Client {
        /// The error the caller (or the server face) gave.
        message: String,
    },
    /// The caller's answer is not an elicitation result.
    #[error("the calling client's answer is not an elicitation result: {reason}")]
    BadAnswer {
        /// What was wrong with it.
        reason: String,
    },
}

/// Whether `caller` can answer a form elicitation (an empty `elicitation` object means form).
pub fn supports_elicitation(caller: &CallerInfo) -> bool {
    caller
        .capabilities
        .as_ref()
        .and_then(|c| c.elicitation.as_ref())
        .is_some_and(|e| e.form.is_some() || e.url.is_none())
}

/// A user-proxy input function that asks the user of the client making this call.
pub fn caller_input_for(ctx: &CallContext) -> UserInputFn {
    caller_input(Arc::clone(&ctx.observer), &ctx.caller)
}

/// A user-proxy input function that asks the caller behind `observer`, whose capabilities are
/// in `caller`. Use it with [`crate::agents::UserProxyAgent::with_request_input`].
pub fn caller_input(observer: Arc<dyn CallObserver>, caller: &CallerInfo) -> UserInputFn {
    let supported = supports_elicitation(caller);
    Arc::new(
        move |request: UserInputRequest, cancel: CancellationToken| {
            let observer = Arc::clone(&observer);
            Box::pin(async move {
                if !supported {
                    return Err(CallerInputError::NoElicitation.to_string());
                }
                ask(observer.as_ref(), &request, &cancel)
                    .await
                    .map_err(|e| e.to_string())
            })
        },
    )
}

/// Ask once; the request is withdrawn from the caller if this future is dropped or `cancel` fires.
pub async fn ask(
    observer: &dyn CallObserver,
    request: &UserInputRequest,
    cancel: &CancellationToken,
) -> Result<String, CallerInputError> {
    let mut requests = InputRequests::new();
    requests.insert(
        KEY.into(),
        InputRequest::Elicitation(ElicitRequest::new(elicitation(request))),
    );
    let withdraw = cancel.child_token();
    let _guard = withdraw.clone().drop_guard();
    let mut answers = observer
        .input(requests, withdraw)
        .await
        .map_err(client_error)?;
    let answer = answers
        .remove(KEY)
        .ok_or_else(|| CallerInputError::BadAnswer {
            reason: "no answer was given".into(),
        })?;
    let result: ElicitResult =
        serde_json::from_value(answer).map_err(|e| CallerInputError::BadAnswer {
            reason: e.to_string(),
        })?;
    reply_of(result, &request.agent)
}

fn client_error(e: ErrorData) -> CallerInputError {
    CallerInputError::Client {
        message: e.message.to_string(),
    }
}

/// The text a user's answer stands for (see the module docs for decline and cancel).
pub fn reply_of(result: ElicitResult, agent: &str) -> Result<String, CallerInputError> {
    match result.action {
        ElicitationAction::Accept => Ok(match result.content {
            Some(serde_json::Value::Object(fields)) => match fields.get(REPLY_FIELD) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            },
            _ => String::new(),
        }),
        ElicitationAction::Decline => Ok(String::new()),
        _ => Err(CallerInputError::Cancelled {
            agent: agent.to_string(),
        }),
    }
}

/// The elicitation for one request: the message the user answers, and a one-field form.
pub fn elicitation(request: &UserInputRequest) -> ElicitRequestParams {
    let schema = ElicitationSchema::builder()
        .required_string_property(REPLY_FIELD, |s| {
            s.title("Reply")
                .description(format!("Your reply to {}", request.agent))
        })
        .build_unchecked()
        .with_title(format!("{} needs your input", request.agent));
    ElicitRequestParams::FormElicitationParams {
        meta: None,
        message: message(request),
        requested_schema: schema,
    }
}

/// What the user sees: the newest message (who said what) and AutoGen's prompt.
fn message(request: &UserInputRequest) -> String {
    let prompt = request.prompt.trim_end();
    match &request.last_message {
        Some(m) => format!("{}:\n{}\n\n{prompt}", m.source(), m.to_text()),
        None => prompt.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::messages::ChatMessage;
    use rmcp::model::{ClientCapabilities, ElicitationCapability};
    use serde_json::json;

    fn request() -> UserInputRequest {
        UserInputRequest {
            agent: "user".into(),
            request_id: "r1".into(),
            prompt: "Enter your response: ".into(),
            last_message: Some(ChatMessage::text("writer", "Shall I go on?")),
        }
    }

    #[test]
    fn the_form_has_one_required_string_and_the_last_message() {
        let ElicitRequestParams::FormElicitationParams {
            message,
            requested_schema,
            ..
        } = elicitation(&request())
        else {
            panic!("not a form");
        };
        assert_eq!(message, "writer:\nShall I go on?\n\nEnter your response:");
        let schema = serde_json::to_value(&requested_schema).unwrap();
        assert_eq!(schema["required"], json!([REPLY_FIELD]));
        assert_eq!(schema["properties"][REPLY_FIELD]["type"], "string");
    }

    #[test]
    fn accept_decline_and_cancel() {
        let accept = ElicitResult::new(ElicitationAction::Accept)
            .with_content(json!({ REPLY_FIELD: "yes" }));
        assert_eq!(reply_of(accept, "u").unwrap(), "yes");
        let decline = ElicitResult::new(ElicitationAction::Decline);
        assert_eq!(reply_of(decline, "u").unwrap(), "");
        let cancel = ElicitResult::new(ElicitationAction::Cancel);
        assert_eq!(
            reply_of(cancel, "u").unwrap_err(),
            CallerInputError::Cancelled { agent: "u".into() }
        );
    }

    #[test]
    fn capability_checks() {
        let mut caller = CallerInfo::default();
        assert!(!supports_elicitation(&caller));
        let mut caps = ClientCapabilities::default();
        caps.elicitation = Some(ElicitationCapability::default());
        caller.capabilities = Some(caps);
        assert!(supports_elicitation(&caller));
    }

    #[tokio::test]
    async fn a_caller_without_elicitation_fails_at_once() {
        let input = caller_input(
            Arc::new(crate::workbench::NoObserver),
            &CallerInfo::default(),
        );
        let err = input(request(), CancellationToken::new())
            .await
            .unwrap_err();
        assert_eq!(
            err,
            "this team needs human input but the calling client supports no elicitation"
        );
    }
}
