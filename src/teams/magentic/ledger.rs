//! The progress ledger: the JSON the orchestrator asks the model for on every step, read from
//! the model's text (bare or in a fenced ```json block) and checked.

use serde_json::{Map, Value, json};

/// One checked progress ledger.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ProgressLedger {
    /// Whether the request is done.
    pub satisfied: bool,
    /// Why the model thinks it is (or is not) done.
    pub satisfied_reason: String,
    /// Whether the team is repeating itself.
    pub in_loop: bool,
    /// Whether the team is moving forward.
    pub progressing: bool,
    /// Who speaks next.
    pub next_speaker: String,
    /// What the orchestrator tells the next speaker.
    pub instruction: String,
}

/// The keys every ledger must carry, each an object with `reason` and `answer`.
const KEYS: [&str; 5] = [
    "is_request_satisfied",
    "is_in_loop",
    "is_progress_being_made",
    "next_speaker",
    "instruction_or_question",
];

/// Reads and checks a ledger; `Err` says what was wrong (the caller retries).
pub(super) fn parse(text: &str, names: &[String]) -> Result<ProgressLedger, String> {
    let mut objects = extract_json(text)?;
    if objects.len() != 1 {
        return Err(format!("expected one JSON object, found {}", objects.len()));
    }
    let Some(Value::Object(mut ledger)) = objects.pop() else {
        return Err("the ledger is not a JSON object".into());
    };
    if let [only] = names {
        // A team of one: the next speaker is not the model's choice (as AutoGen does).
        ledger.insert(
            "next_speaker".into(),
            json!({"reason": "The team consists of only one agent.", "answer": only}),
        );
    }
    for key in KEYS {
        let entry = ledger.get(key).and_then(Value::as_object);
        if !entry.is_some_and(|e| e.contains_key("reason") && e.contains_key("answer")) {
            return Err(format!(
                "`{key}` must be an object with `reason` and `answer`"
            ));
        }
    }
    let satisfied = flag(&ledger, "is_request_satisfied")?;
    let next_speaker = text_answer(&ledger, "next_speaker")?;
    if !satisfied && !names.contains(&next_speaker) {
        return Err(format!(
            "next speaker `{next_speaker}` is not one of: {}",
            names.join(", ")
        ));
    }
    Ok(ProgressLedger {
        satisfied,
        satisfied_reason: text_of(&ledger["is_request_satisfied"]["reason"]),
        in_loop: flag(&ledger, "is_in_loop")?,
        progressing: flag(&ledger, "is_progress_being_made")?,
        next_speaker,
        instruction: text_answer(&ledger, "instruction_or_question")?,
    })
}

/// The JSON values in `text`: each fenced block (untagged or tagged `json`), or the whole text
/// when there is none.
fn extract_json(text: &str) -> Result<Vec<Value>, String> {
    let blocks = fenced_blocks(text)?;
    let sources = if blocks.is_empty() {
        vec![text]
    } else {
        blocks
    };
    sources
        .into_iter()
        .map(|s| serde_json::from_str(s).map_err(|e| format!("invalid JSON: {e}")))
        .collect()
}

/// The bodies of the ```-fenced blocks of `text`; a block tagged with another language is an
/// error.
fn fenced_blocks(text: &str) -> Result<Vec<&str>, String> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("```") {
        let after = &rest[start + 3..];
        let Some(newline) = after.find('\n') else {
            break;
        };
        let tag = after[..newline].trim();
        let body = &after[newline + 1..];
        let Some(end) = body.find("```") else {
            break;
        };
        if !tag.is_empty() && !tag.eq_ignore_ascii_case("json") {
            return Err(format!("expected a JSON block, found `{tag}`"));
        }
        blocks.push(&body[..end]);
        rest = &body[end + 3..];
    }
    Ok(blocks)
}

/// A boolean answer (`true`/`false`, also as strings).
fn flag(ledger: &Map<String, Value>, key: &str) -> Result<bool, String> {
    match &ledger[key]["answer"] {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(format!("`{key}.answer` must be a boolean, got {other}")),
    }
}

/// A text answer.
fn text_answer(ledger: &Map<String, Value>, key: &str) -> Result<String, String> {
    match &ledger[key]["answer"] {
        Value::String(s) => Ok(s.clone()),
        other => Err(format!("`{key}.answer` must be a string, got {other}")),
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The JSON schema of a ledger (for models with structured output).
pub(super) fn schema() -> Value {
    let entry = |answer: &str| {
        json!({
            "type": "object",
            "properties": {"reason": {"type": "string"}, "answer": {"type": answer}},
            "required": ["reason", "answer"],
            "additionalProperties": false
        })
    };
    json!({
        "type": "object",
        "properties": {
            "is_request_satisfied": entry("boolean"),
            "is_in_loop": entry("boolean"),
            "is_progress_being_made": entry("boolean"),
            "next_speaker": entry("string"),
            "instruction_or_question": entry("string"),
        },
        "required": KEYS,
        "additionalProperties": false
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        vec!["alice".into(), "bob".into()]
    }

    fn ledger(next: &str) -> Value {
        let e = |a: Value| json!({"reason": "r", "answer": a});
        json!({
            "is_request_satisfied": e(json!(false)),
            "is_in_loop": e(json!(false)),
            "is_progress_being_made": e(json!(true)),
            "next_speaker": e(json!(next)),
            "instruction_or_question": e(json!("do it")),
        })
    }

    #[test]
    fn reads_bare_and_fenced_json() {
        let bare = ledger("bob").to_string();
        let l = parse(&bare, &names()).unwrap();
        assert_eq!(
            (l.next_speaker.as_str(), l.instruction.as_str()),
            ("bob", "do it")
        );
        let fenced = format!("Here:\n```json\n{bare}\n```\n");
        assert_eq!(parse(&fenced, &names()).unwrap(), l);
    }

    #[test]
    fn rejects_bad_ledgers() {
        assert!(
            parse("not json", &names())
                .unwrap_err()
                .contains("invalid JSON")
        );
        let mut missing = ledger("bob");
        missing.as_object_mut().unwrap().remove("is_in_loop");
        assert!(
            parse(&missing.to_string(), &names())
                .unwrap_err()
                .contains("is_in_loop")
        );
        let err = parse(&ledger("carol").to_string(), &names()).unwrap_err();
        assert!(err.contains("`carol`"), "{err}");
        let two = format!(
            "```json\n{}\n```\n```json\n{}\n```",
            ledger("bob"),
            ledger("bob")
        );
        assert!(parse(&two, &names()).unwrap_err().contains("found 2"));
        assert!(parse("```python\n1\n```", &names()).is_err());
    }

    #[test]
    fn a_team_of_one_always_picks_its_member() {
        let l = parse(&ledger("nobody").to_string(), &["solo".to_string()]).unwrap();
        assert_eq!(l.next_speaker, "solo");
    }
}
