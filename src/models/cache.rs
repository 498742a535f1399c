//! Caches `create` results by a hash of the request, in a redb store on disk or in memory.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use redb::{Database, ReadableDatabase, TableDefinition};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use super::client::{ChatCompletionClient, ChatStream, StreamItem};
use super::component::{CACHE_PROVIDER, ComponentModel};
use super::error::{ModelError, store_error};
use super::model_info::ModelInfo;
use super::request::{CreateRequest, ToolSchema};
use super::types::{AssistantContent, CreateResult, LlmMessage, RequestUsage};

const TABLE: TableDefinition<&str, &[u8]> = TableDefinition::new("chat_completions");

/// A key-value store of serialised results.
#[derive(Clone)]
pub struct CacheStore {
    db: Arc<Database>,
}

impl std::fmt::Debug for CacheStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CacheStore")
    }
}

impl CacheStore {
    /// Opens (or creates) a store file at `path`.
    pub fn open(path: &Path) -> Result<Self, ModelError> {
        let db = Database::create(path).map_err(store_error)?;
        Ok(Self { db: Arc::new(db) })
    }

    /// A store that lives in memory only.
    pub fn in_memory() -> Result<Self, ModelError> {
        let db = Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(store_error)?;
        Ok(Self { db: Arc::new(db) })
    }

    /// Reads a result by key.
    pub fn get(&self, key: &str) -> Result<Option<CreateResult>, ModelError> {
        let tx = self.db.begin_read().map_err(store_error)?;
        let table = match tx.open_table(TABLE) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(store_error(e)),
        };
        let Some(bytes) = table.get(key).map_err(store_error)? else {
            return Ok(None);
        };
        let result = serde_json::from_slice(bytes.value())
            .map_err(|source| ModelError::CacheEntry { source })?;
        Ok(Some(result))
    }

    /// Stores a result under key.
    pub fn put(&self, key: &str, result: &CreateResult) -> Result<(), ModelError> {
        let bytes =
            serde_json::to_vec(result).map_err(|source| ModelError::CacheEntry { source })?;
        let tx = self.db.begin_write().map_err(store_error)?;
        {
            let mut table = tx.open_table(TABLE).map_err(store_error)?;
            table.insert(key, bytes.as_slice()).map_err(store_error)?;
        }
        tx.commit().map_err(store_error)
    }
}

/// The cache key of a request: SHA-256 of its JSON form.
pub fn cache_key(request: &CreateRequest) -> String {
    let json = serde_json::to_vec(request).unwrap_or_default();
    hex::encode(Sha256::digest(&json))
}

/// A client wrapper that answers repeated requests from a store (`cached: true` on hits).
pub struct ChatCompletionCache {
    inner: Arc<dyn ChatCompletionClient>,
    store: CacheStore,
}

impl ChatCompletionCache {
    /// Wraps `inner` with `store`.
    pub fn new(inner: Arc<dyn ChatCompletionClient>, store: CacheStore) -> Self {
        Self { inner, store }
    }

    fn hit(&self, key: &str) -> Result<Option<CreateResult>, ModelError> {
        Ok(self.store.get(key)?.map(|mut r| {
            r.cached = true;
            r
        }))
    }
}

#[async_trait]
impl ChatCompletionClient for ChatCompletionCache {
    async fn create(
        &self,
        request: CreateRequest,
        cancel: CancellationToken,
    ) -> Result<CreateResult, ModelError> {
        let key = cache_key(&request);
        if let Some(result) = self.hit(&key)? {
            tracing::debug!(%key, "model cache hit");
            return Ok(result);
        }
        let result = self.inner.create(request, cancel).await?;
        self.store.put(&key, &result)?;
        Ok(result)
    }

    fn create_stream(&self, request: CreateRequest, cancel: CancellationToken) -> ChatStream {
        let key = cache_key(&request);
        match self.hit(&key) {
            Err(e) => return Box::pin(futures::stream::once(async move { Err(e) })),
            Ok(Some(result)) => {
                let mut items = Vec::new();
                if let AssistantContent::Text(t) = &result.content {
                    items.push(Ok(StreamItem::Chunk(t.clone())));
                }
                items.push(Ok(StreamItem::Done(result)));
                return Box::pin(futures::stream::iter(items));
            }
            Ok(None) => {}
        }
        let store = self.store.clone();
        Box::pin(self.inner.create_stream(request, cancel).map(move |item| {
            if let Ok(StreamItem::Done(result)) = &item {
                store.put(&key, result)?;
            }
            item
        }))
    }

    fn actual_usage(&self) -> RequestUsage {
        self.inner.actual_usage()
    }

    fn total_usage(&self) -> RequestUsage {
        self.inner.total_usage()
    }

    fn count_tokens(&self, messages: &[LlmMessage], tools: &[ToolSchema]) -> u64 {
        self.inner.count_tokens(messages, tools)
    }

    fn model_info(&self) -> ModelInfo {
        self.inner.model_info()
    }

    fn dump_component(&self) -> Option<ComponentModel> {
        let client = self.inner.dump_component()?;
        let mut c = ComponentModel::model(
            CACHE_PROVIDER,
            "ChatCompletionCache",
            &serde_json::json!({}),
        )
        .ok()?;
        c.config = serde_json::json!({ "client": client });
        Some(c)
    }

    async fn close(&self) -> Result<(), ModelError> {
        self.inner.close().await
    }
}
