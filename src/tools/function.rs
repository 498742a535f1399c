//! `FunctionTool`: a named async closure with a JSON schema; arguments are validated before it runs.

use std::sync::Arc;

use async_trait::async_trait;
use futures::future::BoxFuture;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::{Tool, ToolError};

/// The closure behind a `FunctionTool`: arguments in, JSON value or error text out.
pub type ToolFn = Arc<
    dyn Fn(Value, CancellationToken) -> BoxFuture<'static, Result<Value, String>> + Send + Sync,
>;

/// A tool made from an async closure.
#[derive(Clone)]
pub struct FunctionTool {
    name: String,
    description: String,
    parameters: Value,
    strict: bool,
    validator: Arc<jsonschema::Validator>,
    func: ToolFn,
}

impl std::fmt::Debug for FunctionTool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FunctionTool")
            .field("name", &self.name)
            .finish()
    }
}

impl FunctionTool {
    /// A tool named `name` whose arguments follow `parameters` (a JSON schema).
    /// The closure's string results go to the model as they are; other values as JSON.
    pub fn new<F, Fut>(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: Value,
        func: F,
    ) -> Result<Self, ToolError>
    where
        F: Fn(Value, CancellationToken) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, String>> + Send + 'static,
    {
        let name = name.into();
        let validator =
            jsonschema::validator_for(&parameters).map_err(|e| ToolError::InvalidSchema {
                tool: name.clone(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            name,
            description: description.into(),
            parameters,
            strict: false,
            validator: Arc::new(validator),
            func: Arc::new(move |args, cancel| Box::pin(func(args, cancel))),
        })
    }

    /// Asks providers to enforce the schema strictly.
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }
}

#[async_trait]
impl Tool for FunctionTool {
    fn name(&self) -> &str {
        &self.name
    }

    fn description(&self) -> &str {
        &self.description
    }

    fn parameters(&self) -> &Value {
        &self.parameters
    }

    fn strict(&self) -> bool {
        self.strict
    }

    async fn run(&self, arguments: Value, cancel: CancellationToken) -> Result<String, ToolError> {
        let errors: Vec<String> = self
            .validator
            .iter_errors(&arguments)
            .map(|e| format!("{} at `{}`", e, e.instance_path()))
            .collect();
        if !errors.is_empty() {
            return Err(ToolError::InvalidArguments {
                tool: self.name.clone(),
                reason: errors.join("; "),
            });
        }
        let call = (self.func)(arguments, cancel.clone());
        let output = tokio::select! {
            out = call => out,
            _ = cancel.cancelled() => return Err(ToolError::Cancelled { tool: self.name.clone() }),
        };
        match output {
            Ok(Value::String(s)) => Ok(s),
            Ok(v) => Ok(v.to_string()),
            Err(message) => Err(ToolError::Failed {
                tool: self.name.clone(),
                message,
            }),
        }
    }
}
