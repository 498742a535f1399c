//! The 2026-07-28 multi-round-trip tools and prompt (SEP-2322): instead of sending requests to
//! the client mid-call, they answer `input_required` with `inputRequests` (and a sealed
//! `requestState`), and finish when the client retries with `inputResponses`.

use std::collections::BTreeMap;

use rmcp::handler::server::tool::{InputResponses, RequestState};
use rmcp::model::{
    CallToolResponse, CreateMessageRequest, CreateMessageRequestParams, ElicitRequest,
    ElicitRequestParams, GetPromptRequestParams, GetPromptResponse, GetPromptResult, InputRequest,
    InputRequiredResult, ListRootsRequest, Prompt, PromptMessage, Role, SamplingMessage,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, tool, tool_router};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::Fixture;
use super::tools::{elicitation_schema, text_result};

/// Name of the prompt that needs client input before it can be rendered.
pub(super) const PROMPT_NAME: &str = "test_input_required_result_prompt";

/// Key for sealing `requestState`. A fixed key is fine for a test fixture; a real server
/// uses a secret (rmcp's `request-state` feature offers a full codec).
const STATE_KEY: &[u8] = b"toolyard-fixture-request-state";

/// Seals `payload` as `payload.tag` with a keyed SHA-256 tag, so tampering is detected.
fn seal(payload: &str) -> String {
    format!("{payload}.{}", tag(payload))
}

fn tag(payload: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(STATE_KEY);
    hasher.update(payload.as_bytes());
    hasher.update(STATE_KEY);
    hex::encode(hasher.finalize())
}

/// Opens a state sealed by [`seal`]; a missing or altered state is an invalid-params error.
fn open(state: Option<&str>) -> Result<&str, ErrorData> {
    let sealed = state.ok_or_else(|| ErrorData::invalid_params("requestState is missing", None))?;
    match sealed.rsplit_once('.') {
        Some((payload, mac)) if tag(payload) == mac => Ok(payload),
        _ => Err(ErrorData::invalid_params(
            "requestState failed its integrity check",
            Some(json!({"reason": "tampered requestState"})),
        )),
    }
}

pub(super) fn elicitation(message: &str, schema: Value) -> Result<InputRequest, ErrorData> {
    let params = ElicitRequestParams::FormElicitationParams {
        meta: None,
        message: message.to_string(),
        requested_schema: elicitation_schema(schema)?,
    };
    Ok(InputRequest::Elicitation(ElicitRequest::new(params)))
}

fn name_elicitation(message: &str) -> Result<InputRequest, ErrorData> {
    elicitation(
        message,
        json!({"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}),
    )
}

pub(super) fn sampling(text: &str, max_tokens: u32) -> InputRequest {
    let params =
        CreateMessageRequestParams::new(vec![SamplingMessage::user_text(text)], max_tokens);
    InputRequest::CreateMessage(CreateMessageRequest::new(params))
}

fn roots() -> InputRequest {
    InputRequest::ListRoots(ListRootsRequest::default())
}

/// An `input_required` answer asking for `requests`, with an optional sealed state.
pub(super) fn ask(requests: Vec<(&str, InputRequest)>, state: Option<&str>) -> CallToolResponse {
    let requests: BTreeMap<String, InputRequest> = requests
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    CallToolResponse::InputRequired(InputRequiredResult::new(Some(requests), state.map(seal)))
}

/// The responses present for every one of `keys`, or None when any is missing.
fn responses<'a>(
    given: &'a Option<rmcp::model::InputResponses>,
    keys: &[&str],
) -> Option<Vec<&'a Value>> {
    let given = given.as_ref()?;
    keys.iter().map(|k| given.get(*k)).collect()
}

/// A response's accepted elicitation field (`content.<field>`), if any.
fn elicited<'a>(response: &'a Value, field: &str) -> Option<&'a str> {
    response.get("content")?.get(field)?.as_str()
}

/// A sampling response's text.
fn sampled(response: &Value) -> String {
    let content = &response["content"];
    let block = if content.is_array() {
        &content[0]
    } else {
        content
    };
    block["text"].as_str().unwrap_or("(no text)").to_string()
}

pub(super) fn done(text: String) -> CallToolResponse {
    CallToolResponse::Complete(text_result(text))
}

/// Rejects `inputResponses` that are not an object of objects (a malformed retry).
fn validate(given: &Option<rmcp::model::InputResponses>) -> Result<(), ErrorData> {
    let malformed = given
        .as_ref()
        .is_some_and(|g| g.values().any(|v| !v.is_object()));
    if malformed {
        return Err(ErrorData::invalid_params(
            "inputResponses entries must be objects",
            None,
        ));
    }
    Ok(())
}

#[tool_router(router = mrtr_tool_router, vis = "pub(super)")]
impl Fixture {
    #[tool(description = "input_required: asks the user's name by elicitation, then greets")]
    fn test_input_required_result_elicitation(
        &self,
        InputResponses(given): InputResponses,
    ) -> Result<CallToolResponse, ErrorData> {
        validate(&given)?;
        match responses(&given, &["user_name"]).and_then(|r| elicited(r[0], "name")) {
            Some(name) => Ok(done(format!("Hello, {name}!"))),
            None => Ok(ask(
                vec![("user_name", name_elicitation("What is your name?")?)],
                None,
            )),
        }
    }

    #[tool(
        description = "input_required: asks the client's LLM a question, then returns the answer"
    )]
    fn test_input_required_result_sampling(
        &self,
        InputResponses(given): InputResponses,
    ) -> CallToolResponse {
        match responses(&given, &["capital_question"]) {
            Some(r) => done(format!("LLM response: {}", sampled(r[0]))),
            None => ask(
                vec![(
                    "capital_question",
                    sampling("What is the capital of France?", 100),
                )],
                None,
            ),
        }
    }

    #[tool(description = "input_required: asks for the client's roots, then lists them")]
    fn test_input_required_result_list_roots(
        &self,
        InputResponses(given): InputResponses,
    ) -> CallToolResponse {
        match responses(&given, &["client_roots"]) {
            Some(r) => {
                let uris: Vec<&str> = r[0]["roots"]
                    .as_array()
                    .map(|roots| {
                        roots
                            .iter()
                            .filter_map(|root| root["uri"].as_str())
                            .collect()
                    })
                    .unwrap_or_default();
                done(format!("Client roots: {}", uris.join(", ")))
            }
            None => ask(vec![("client_roots", roots())], None),
        }
    }

    #[tool(description = "input_required with a sealed requestState that must come back intact")]
    fn test_input_required_result_request_state(
        &self,
        InputResponses(given): InputResponses,
        RequestState(state): RequestState,
    ) -> Result<CallToolResponse, ErrorData> {
        if let Some(r) = responses(&given, &["confirm"]) {
            let payload = open(state.as_deref())?;
            if payload == "confirm-round-1" {
                let ok = r[0]["content"]["ok"].as_bool().unwrap_or(false);
                return Ok(done(format!("state-ok: confirmed={ok}")));
            }
        }
        let schema = json!({"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]});
        Ok(ask(
            vec![("confirm", elicitation("Please confirm", schema)?)],
            Some("confirm-round-1"),
        ))
    }

    #[tool(description = "input_required with elicitation, sampling and roots at once")]
    fn test_input_required_result_multiple_inputs(
        &self,
        InputResponses(given): InputResponses,
        RequestState(state): RequestState,
    ) -> Result<CallToolResponse, ErrorData> {
        if let Some(r) = responses(&given, &["user_name", "greeting", "client_roots"]) {
            open(state.as_deref())?;
            let name = elicited(r[0], "name").unwrap_or("(no name)");
            return Ok(done(format!(
                "name={name}, greeting={}, roots received",
                sampled(r[1])
            )));
        }
        let requests = vec![
            ("user_name", name_elicitation("What is your name?")?),
            ("greeting", sampling("Generate a greeting", 50)),
            ("client_roots", roots()),
        ];
        Ok(ask(requests, Some("multiple-round-1")))
    }

    #[tool(description = "input_required over two rounds with an evolving requestState")]
    fn test_input_required_result_multi_round(
        &self,
        InputResponses(given): InputResponses,
        RequestState(state): RequestState,
    ) -> Result<CallToolResponse, ErrorData> {
        let color_schema = json!({"type": "object", "properties": {"color": {"type": "string"}}, "required": ["color"]});
        if let Some(r) = responses(&given, &["step2"]) {
            let payload = open(state.as_deref())?;
            if let Some(name) = payload.strip_prefix("round-2:") {
                let color = elicited(r[0], "color").unwrap_or("(no color)");
                return Ok(done(format!("{name} likes {color}")));
            }
        }
        if let Some(r) = responses(&given, &["step1"])
            && open(state.as_deref())? == "round-1"
        {
            let name = elicited(r[0], "name").unwrap_or("(no name)");
            let step2 = elicitation("Step 2: What is your favorite color?", color_schema)?;
            return Ok(ask(
                vec![("step2", step2)],
                Some(&format!("round-2:{name}")),
            ));
        }
        Ok(ask(
            vec![("step1", name_elicitation("Step 1: What is your name?")?)],
            Some("round-1"),
        ))
    }

    #[tool(
        description = "input_required whose sealed requestState is checked: tampering is an error"
    )]
    fn test_input_required_result_tampered_state(
        &self,
        InputResponses(given): InputResponses,
        RequestState(state): RequestState,
    ) -> Result<CallToolResponse, ErrorData> {
        if given.is_some() || state.is_some() {
            open(state.as_deref())?;
            return Ok(done("state verified".to_string()));
        }
        let schema = json!({"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]});
        Ok(ask(
            vec![("confirm", elicitation("Please confirm", schema)?)],
            Some("tamper-check"),
        ))
    }

    #[tool(description = "input_required only for the capabilities the client declared")]
    fn test_input_required_result_capabilities(
        &self,
        InputResponses(given): InputResponses,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if given.is_some() {
            return Ok(done("inputs received".to_string()));
        }
        let caps = context.client_capabilities().unwrap_or_default();
        let mut requests = Vec::new();
        if caps.elicitation.is_some() {
            requests.push(("user_name", name_elicitation("What is your name?")?));
        }
        if caps.sampling.is_some() {
            requests.push(("greeting", sampling("Generate a greeting", 50)));
        }
        if caps.roots.is_some() {
            requests.push(("client_roots", roots()));
        }
        if requests.is_empty() {
            return Ok(done(
                "the client declared no capability to ask through".to_string(),
            ));
        }
        Ok(ask(requests, None))
    }

    #[tool(
        description = "Needs elicitation: answers input_required, never a request on the stream"
    )]
    fn test_streaming_elicitation(
        &self,
        InputResponses(given): InputResponses,
    ) -> Result<CallToolResponse, ErrorData> {
        match responses(&given, &["user_name"]).and_then(|r| elicited(r[0], "name")) {
            Some(name) => Ok(done(format!("Hello, {name}!"))),
            None => Ok(ask(
                vec![("user_name", name_elicitation("What is your name?")?)],
                None,
            )),
        }
    }
}

/// The definition of [`PROMPT_NAME`] for `prompts/list`.
pub(super) fn prompt_definition() -> Prompt {
    Prompt::new(
        PROMPT_NAME,
        Some("A prompt that needs client input first (input_required)"),
        None,
    )
}

/// `prompts/get` for [`PROMPT_NAME`]: input_required first, the prompt once answered.
pub(super) fn prompt(request: &GetPromptRequestParams) -> Result<GetPromptResponse, ErrorData> {
    let context = request
        .input_responses
        .as_ref()
        .and_then(|given| given.get("user_context"))
        .and_then(|r| elicited(r, "context"));
    if let Some(context) = context {
        let message = PromptMessage::new_text(Role::User, format!("Use this context: {context}"));
        return Ok(GetPromptResponse::Complete(GetPromptResult::new(vec![
            message,
        ])));
    }
    let schema = json!({"type": "object", "properties": {"context": {"type": "string"}}, "required": ["context"]});
    let request = elicitation("What context should the prompt use?", schema)?;
    let requests = BTreeMap::from([("user_context".to_string(), request)]);
    Ok(GetPromptResponse::InputRequired(InputRequiredResult::new(
        Some(requests),
        None,
    )))
}
