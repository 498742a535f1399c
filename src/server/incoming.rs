//! Every face's check of one incoming JSON-RPC message before rmcp decodes it: the text is parsed
//! once into a `serde_json::Value` (which also serves the 2025-era task renaming), and text that
//! is not one JSON-RPC 2.0 message gets a clear JSON-RPC error: `-32700` for text that is not
//! JSON (invalid UTF-8, a number out of range, nesting deeper than 128, a lone surrogate), and
//! `-32600` for JSON that is not a message (a batch, a wrong `jsonrpc`, an object as id, params
//! that are not an object, ...).

use rmcp::model::{ErrorCode, RequestId};
use serde_json::{Map, Value, json};

use super::task_calls::rename_legacy_request;

/// An incoming message that passed the checks.
#[derive(Debug)]
pub struct Incoming {
    /// The message; 2025-era task requests are already renamed when the caller asked for it.
    pub value: Value,
    /// Whether `value` was renamed, i.e. no longer matches the text it was parsed from.
    pub renamed: bool,
}

impl Incoming {
    /// The `method` of a request or notification.
    pub fn method(&self) -> Option<&str> {
        self.value.get("method").and_then(Value::as_str)
    }

    /// The request's id, when it has one.
    pub fn id(&self) -> Option<RequestId> {
        self.value.get("id").and_then(request_id)
    }
}

/// Why an incoming text is not a JSON-RPC message: the JSON-RPC error to answer it with.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// `-32700` (not JSON) or `-32600` (not a message).
    pub code: ErrorCode,
    /// What is wrong, for the client.
    pub message: String,
    /// The id of the refused message, when it had a usable one.
    pub id: Option<RequestId>,
}

impl Rejection {
    fn parse(error: impl std::fmt::Display) -> Self {
        Self {
            code: ErrorCode::PARSE_ERROR,
            message: format!("Parse error: {error}"),
            id: None,
        }
    }

    /// A `-32600` invalid request.
    pub fn invalid(message: impl std::fmt::Display, id: Option<RequestId>) -> Self {
        Self {
            code: ErrorCode::INVALID_REQUEST,
            message: format!("Invalid Request: {message}"),
            id,
        }
    }

    /// The JSON-RPC error response (`"id": null` when the id is unknown, as JSON-RPC 2.0 asks).
    pub fn to_json(&self) -> Value {
        json!({
            "jsonrpc": "2.0",
            "id": self.id.as_ref().map_or(Value::Null, |id| id.clone().into_json_value()),
            "error": { "code": self.code.0, "message": self.message },
        })
    }
}

/// Parse and check one incoming message. `rename` renames 2025-era task requests (see
/// [`rename_legacy_request`]) in the parsed value.
pub fn check(text: &[u8], rename: bool) -> Result<Incoming, Rejection> {
    let text = std::str::from_utf8(text).map_err(Rejection::parse)?;
    // serde_json validates strings (no lone surrogates), numbers (finite) and limits nesting to
    // 128 levels, so no input can overflow the stack.
    let mut value: Value = serde_json::from_str(text).map_err(Rejection::parse)?;
    let Value::Object(object) = &value else {
        return Err(match value {
            Value::Array(_) => Rejection::invalid("batches are not supported", None),
            _ => Rejection::invalid("a message must be a JSON object", None),
        });
    };
    check_envelope(object)?;
    let renamed = rename && rename_legacy_request(&mut value);
    Ok(Incoming { value, renamed })
}

/// A JSON-RPC request id: a string or an integer.
fn request_id(id: &Value) -> Option<RequestId> {
    match id {
        Value::String(s) => Some(RequestId::String(s.as_str().into())),
        Value::Number(n) => n.as_i64().map(RequestId::Number),
        _ => None,
    }
}

/// The JSON-RPC 2.0 envelope: version, id, and the members of a request, notification or
/// response.
fn check_envelope(object: &Map<String, Value>) -> Result<(), Rejection> {
    let raw_id = object.get("id");
    let id = raw_id.and_then(request_id);
    let invalid = |message: &str| Rejection::invalid(message, id.clone());
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(invalid("\"jsonrpc\" must be \"2.0\""));
    }
    let is_error = object.contains_key("error");
    match raw_id {
        Some(Value::Null) if is_error => {}
        Some(_) if id.is_none() => return Err(invalid("\"id\" must be a string or an integer")),
        _ => {}
    }
    match object.get("method") {
        Some(Value::String(_)) => {
            if object.contains_key("result") || is_error {
                return Err(invalid("a request has no \"result\" or \"error\""));
            }
            match object.get("params") {
                None | Some(Value::Object(_)) => Ok(()),
                Some(_) => Err(invalid("\"params\" must be an object")),
            }
        }
        Some(_) => Err(invalid("\"method\" must be a string")),
        None => check_response(object, raw_id.is_some(), invalid),
    }
}

/// A response: an id and exactly one of `result` (an object) and `error` (code and message).
fn check_response(
    object: &Map<String, Value>,
    has_id: bool,
    invalid: impl Fn(&str) -> Rejection,
) -> Result<(), Rejection> {
    if !has_id {
        return Err(invalid("neither a request, a notification nor a response"));
    }
    match (object.get("result"), object.get("error")) {
        (Some(Value::Object(_)), None) => Ok(()),
        (Some(_), None) => Err(invalid("\"result\" must be an object")),
        (None, Some(Value::Object(error))) if is_error_object(error) => Ok(()),
        (None, Some(_)) => Err(invalid("\"error\" needs an integer code and a message")),
        (Some(_), Some(_)) => Err(invalid("a response has \"result\" or \"error\", not both")),
        (None, None) => Err(invalid("neither a request, a notification nor a response")),
    }
}

fn is_error_object(error: &Map<String, Value>) -> bool {
    error.get("code").is_some_and(|c| c.is_i64())
        && error.get("message").is_some_and(Value::is_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &[u8]) -> i32 {
        check(text, false).expect_err("refused").code.0
    }

    #[test]
    fn text_that_is_not_json_is_a_parse_error() {
        assert_eq!(code(b"{not json"), -32700);
        assert_eq!(code(b"{\"jsonrpc\":\"2.0\",\"method\":\"\xff\"}"), -32700);
        assert_eq!(
            code(br#"{"jsonrpc":"2.0","id":1,"method":"x","params":{"n":1e400}}"#),
            -32700
        );
        assert_eq!(
            code(br#"{"jsonrpc":"2.0","method":"x","params":{"s":"\ud800"}}"#),
            -32700
        );
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(code(deep.as_bytes()), -32700);
    }

    #[test]
    fn json_that_is_not_a_message_is_an_invalid_request() {
        for text in [
            "42",
            "[]",
            r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
            r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":[]}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":7}"#,
            r#"{"jsonrpc":"2.0","id":1}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1,"message":"x"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"error":{"message":"x"}}"#,
        ] {
            assert_eq!(code(text.as_bytes()), -32600, "{text}");
        }
    }

    #[test]
    fn a_refused_request_keeps_its_id() {
        let refused = check(
            br#"{"jsonrpc":"2.0","id":"a","method":"x","params":1}"#,
            false,
        )
        .expect_err("refused");
        assert_eq!(refused.to_json()["id"], "a");
        let refused = check(b"42", false).expect_err("refused");
        assert_eq!(refused.to_json()["id"], Value::Null);
    }

    #[test]
    fn messages_pass_and_legacy_task_requests_are_renamed_on_request() {
        for text in [
            r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"{"jsonrpc":"2.0","id":"x","result":{}}"#,
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-1,"message":"no"}}"#,
        ] {
            assert!(check(text.as_bytes(), true).is_ok(), "{text}");
        }
        let get = br#"{"jsonrpc":"2.0","id":1,"method":"tasks/get","params":{"taskId":"t"}}"#;
        let renamed = check(get, true).expect("passes");
        assert!(renamed.renamed);
        assert_eq!(renamed.method(), Some(super::super::task_calls::LEGACY_GET));
        assert_eq!(
            check(get, false).expect("passes").method(),
            Some("tasks/get")
        );
    }
}
