//! Checks structured output on return: JSON mode must parse, JSON-schema output must validate.

use serde_json::Value;

use super::error::ModelError;
use super::request::OutputFormat;
use super::types::{AssistantContent, CreateResult};

/// Validates `result` against the requested output format (tool calls are not checked).
pub(crate) fn validate_output(
    provider: &str,
    format: &OutputFormat,
    result: &CreateResult,
) -> Result<(), ModelError> {
    let AssistantContent::Text(text) = &result.content else {
        return Ok(());
    };
    let schema = match format {
        OutputFormat::Text => return Ok(()),
        OutputFormat::JsonObject => None,
        OutputFormat::JsonSchema { schema, .. } => Some(schema),
    };
    let value: Value = serde_json::from_str(text).map_err(|e| ModelError::InvalidJsonOutput {
        provider: provider.to_string(),
        reason: e.to_string(),
        content: text.clone(),
    })?;
    let Some(schema) = schema else {
        return Ok(());
    };
    let validator = jsonschema::validator_for(schema).map_err(|e| ModelError::InvalidSchema {
        reason: e.to_string(),
    })?;
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| format!("{} at `{}`", e, e.instance_path()))
        .collect();
    if errors.is_empty() {
        return Ok(());
    }
    Err(ModelError::SchemaMismatch {
        provider: provider.to_string(),
        errors: errors.join("; "),
        content: text.clone(),
    })
}

/// Turns an OpenAI-style `response_format` value into an output format.
pub(crate) fn output_from_response_format(value: &Value) -> OutputFormat {
    match value.get("type").and_then(Value::as_str) {
        Some("json_object") => OutputFormat::JsonObject,
        Some("json_schema") => {
            let spec = value.get("json_schema").cloned().unwrap_or(Value::Null);
            OutputFormat::JsonSchema {
                name: spec
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("output")
                    .to_string(),
                schema: spec.get("schema").cloned().unwrap_or(Value::Null),
                strict: spec.get("strict").and_then(Value::as_bool).unwrap_or(false),
            }
        }
        _ => OutputFormat::Text,
    }
}
