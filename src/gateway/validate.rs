//! Tool-argument validation against a tool's `inputSchema`, before any upstream sees the call.

use jsonschema::error::ValidationErrorKind;
use rmcp::model::JsonObject;
use serde_json::Value;

/// A compiled input schema.
pub struct ArgumentValidator {
    validator: Option<jsonschema::Validator>,
}

/// The first problem found in a call's arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgumentProblem {
    /// JSON pointer of the offending field (`/message`), or the missing property's name.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl ArgumentValidator {
    /// Compile `schema`; a schema that does not compile disables validation (with a warning).
    pub fn new(tool: &str, schema: &JsonObject) -> Self {
        let schema = Value::Object(schema.clone());
        let validator = match jsonschema::validator_for(&schema) {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::warn!(tool, error = %e, "tool inputSchema does not compile; arguments pass unchecked");
                None
            }
        };
        Self { validator }
    }

    /// Check `arguments` (absent means `{}`) and hand them back unchanged when they fit.
    pub fn check(
        &self,
        arguments: Option<JsonObject>,
    ) -> Result<Option<JsonObject>, ArgumentProblem> {
        let Some(validator) = &self.validator else {
            return Ok(arguments);
        };
        let given = arguments.is_some();
        let instance = Value::Object(arguments.unwrap_or_default());
        if validator.is_valid(&instance) {
            return Ok(match instance {
                Value::Object(arguments) if given => Some(arguments),
                _ => None,
            });
        }
        let Some(error) = validator.iter_errors(&instance).next() else {
            return Err(ArgumentProblem {
                field: "(arguments)".into(),
                message: "the arguments do not fit the tool's input schema".into(),
            });
        };
        let field = match error.kind() {
            ValidationErrorKind::Required { property } => property
                .as_str()
                .map_or_else(|| property.to_string(), str::to_string),
            _ if error.instance_path().is_empty() => "(arguments)".into(),
            _ => error.instance_path().to_string(),
        };
        Err(ArgumentProblem {
            field,
            message: error.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn validator() -> ArgumentValidator {
        let schema = json!({
            "type": "object",
            "properties": {"message": {"type": "string"}, "count": {"type": "integer", "minimum": 1}},
            "required": ["message"]
        });
        ArgumentValidator::new("t", schema.as_object().unwrap())
    }

    fn args(v: Value) -> JsonObject {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn valid_arguments_pass() {
        assert!(
            validator()
                .check(Some(args(json!({"message": "hi", "count": 2}))))
                .is_ok()
        );
    }

    #[test]
    fn wrong_type_names_the_field() {
        let p = validator()
            .check(Some(args(json!({"message": 5}))))
            .unwrap_err();
        assert_eq!(p.field, "/message");
        assert!(p.message.contains("string"), "{}", p.message);
    }

    #[test]
    fn missing_required_names_the_property() {
        let p = validator().check(None).unwrap_err();
        assert_eq!(p.field, "message");
        let p = validator()
            .check(Some(args(json!({"count": 0, "message": "x"}))))
            .unwrap_err();
        assert_eq!(p.field, "/count");
    }
}
