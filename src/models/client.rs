//! The `ChatCompletionClient` trait every model client implements, and usage bookkeeping.

use std::pin::Pin;
use std::sync::Mutex;

use async_trait::async_trait;
use futures::Stream;
use tokio_util::sync::CancellationToken;

use super::component::ComponentModel;
use super::error::ModelError;
use super::model_info::ModelInfo;
use super::request::{CreateRequest, ToolSchema};
use super::types::{CreateResult, LlmMessage, RequestUsage, UserContent, UserMessage, UserPart};

/// One item of a streamed completion.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamItem {
    /// A piece of answer text.
    Chunk(String),
    /// A piece of reasoning text.
    Thought(String),
    /// The final, complete result (always the last item of a successful stream).
    Done(CreateResult),
}

/// A streamed completion: chunks, then `Done`, or an error.
pub type ChatStream = Pin<Box<dyn Stream<Item = Result<StreamItem, ModelError>> + Send + 'static>>;

/// A chat model client (AutoGen `ChatCompletionClient`). Used as `Arc<dyn ChatCompletionClient>`.
#[async_trait]
pub trait ChatCompletionClient: Send + Sync {
    /// Runs one completion.
    async fn create(
        &self,
        request: CreateRequest,
        cancel: CancellationToken,
    ) -> Result<CreateResult, ModelError>;

    /// Runs one completion, streaming text chunks and ending with `StreamItem::Done`.
    fn create_stream(&self, request: CreateRequest, cancel: CancellationToken) -> ChatStream;

    /// Usage of the requests this client actually sent (cache hits excluded).
    fn actual_usage(&self) -> RequestUsage;

    /// Usage of all requests answered, including cache hits.
    fn total_usage(&self) -> RequestUsage;

    /// Approximate prompt tokens of these messages and tools.
    fn count_tokens(&self, messages: &[LlmMessage], tools: &[ToolSchema]) -> u64;

    /// Tokens left in the context window after these messages and tools.
    fn remaining_tokens(&self, messages: &[LlmMessage], tools: &[ToolSchema]) -> u64 {
        self.model_info()
            .token_limit()
            .saturating_sub(self.count_tokens(messages, tools))
    }

    /// The model's capabilities.
    fn model_info(&self) -> ModelInfo;

    /// The component config that recreates this client (without secrets), if it has one.
    fn dump_component(&self) -> Option<ComponentModel> {
        None
    }

    /// Releases resources.
    async fn close(&self) -> Result<(), ModelError> {
        Ok(())
    }
}

/// Thread-safe running totals of actual and total usage.
#[derive(Debug, Default)]
pub struct UsageTracker {
    inner: Mutex<(RequestUsage, RequestUsage)>,
}

impl UsageTracker {
    /// Records a result: cached results count only towards the total.
    pub fn record(&self, result: &CreateResult) {
        if let Ok(mut g) = self.inner.lock() {
            if !result.cached {
                g.0 = g.0 + result.usage;
            }
            g.1 = g.1 + result.usage;
        }
    }

    /// Usage of requests actually sent.
    pub fn actual(&self) -> RequestUsage {
        self.inner.lock().map(|g| g.0).unwrap_or_default()
    }

    /// Usage of all results.
    pub fn total(&self) -> RequestUsage {
        self.inner.lock().map(|g| g.1).unwrap_or_default()
    }
}

/// One completion, plain (`stream == false`) or streamed with each text chunk handed to
/// `on_chunk` in order. `Ok(None)` means the stream ended without a final result.
pub async fn complete(
    client: &dyn ChatCompletionClient,
    request: CreateRequest,
    stream: bool,
    cancel: CancellationToken,
    mut on_chunk: impl FnMut(String) + Send,
) -> Result<Option<CreateResult>, ModelError> {
    if !stream {
        return client.create(request, cancel).await.map(Some);
    }
    let mut chunks = client.create_stream(request, cancel);
    while let Some(item) = futures::StreamExt::next(&mut chunks).await {
        match item? {
            StreamItem::Chunk(text) => on_chunk(text),
            StreamItem::Thought(_) => {}
            StreamItem::Done(result) => return Ok(Some(result)),
        }
    }
    Ok(None)
}

/// The messages as `client` can take them: for a model without vision, each multimodal user
/// message becomes text, its images shown as `<image>`.
pub fn fit_to_model(
    client: &dyn ChatCompletionClient,
    messages: impl IntoIterator<Item = LlmMessage>,
) -> Vec<LlmMessage> {
    let vision = client.model_info().vision;
    messages
        .into_iter()
        .map(|m| if vision { m } else { remove_images(m) })
        .collect()
}

/// A multimodal user message as text, images shown as `<image>`.
fn remove_images(message: LlmMessage) -> LlmMessage {
    match message {
        LlmMessage::UserMessage(UserMessage {
            content: UserContent::Parts(parts),
            source,
        }) => {
            let text: Vec<String> = parts
                .into_iter()
                .map(|p| match p {
                    UserPart::Text(t) => t,
                    UserPart::Image(_) => "<image>".to_string(),
                })
                .collect();
            LlmMessage::user(text.join("\n"), source)
        }
        other => other,
    }
}
