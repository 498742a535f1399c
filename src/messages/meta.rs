//! `MessageMeta`: the fields every message and event carries (id, source, usage, metadata, time).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::models::RequestUsage;

/// Fields common to all messages and events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageMeta {
    /// Unique id (a UUID by default).
    #[serde(default = "new_id")]
    pub id: String,
    /// Name of the agent (or `user`) that produced it.
    pub source: String,
    /// Token usage of the model call that produced it.
    #[serde(default)]
    pub models_usage: Option<RequestUsage>,
    /// Free-form string metadata.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// Creation time (UTC, microsecond precision on the wire like pydantic).
    #[serde(
        default = "Utc::now",
        serialize_with = "ser_time",
        deserialize_with = "de_time"
    )]
    pub created_at: DateTime<Utc>,
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn ser_time<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
}

fn de_time<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let text = String::deserialize(d)?;
    DateTime::parse_from_rfc3339(&text)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            // pydantic may write naive times; read them as UTC.
            chrono::NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S%.f")
                .map(|n| n.and_utc())
        })
        .map_err(serde::de::Error::custom)
}

impl MessageMeta {
    /// Fresh metadata for a message from `source`.
    pub fn new(source: impl Into<String>) -> Self {
        Self {
            id: new_id(),
            source: source.into(),
            models_usage: None,
            metadata: BTreeMap::new(),
            created_at: Utc::now(),
        }
    }

    /// The same with token usage.
    pub fn with_usage(mut self, usage: RequestUsage) -> Self {
        self.models_usage = Some(usage);
        self
    }

    /// The same with this id.
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }
}
