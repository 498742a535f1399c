//! The raw shape of `servers.toml` as serde reads it: every table denies unknown keys, values
//! that later checks point at keep their span, and numbers with units say what they expect.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use toml::Spanned;

use super::{PrefixMode, ProtocolPreference, SessionMode, ToolOverride};

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(super) struct RawFile {
    pub gateway: Option<RawGateway>,
    pub auth: Option<Spanned<super::auth::RawAuth>>,
    #[serde(default)]
    pub servers: Entries<Spanned<RawServer>>,
    pub models: Option<toml::Table>,
    pub policy: Option<super::policy::RawPolicy>,
    pub audit: Option<super::policy::RawAudit>,
    pub store: Option<super::store::RawStore>,
    pub telemetry: Option<super::telemetry::RawTelemetry>,
}

/// `[gateway]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(super) struct RawGateway {
    pub separator: Option<Spanned<String>>,
    pub prefix: Option<PrefixMode>,
    pub name: Option<String>,
    pub session_idle_secs: Option<Seconds>,
    pub max_sessions: Option<AtLeastOne>,
}

/// One `[servers.NAME]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(super) struct RawServer {
    pub command: Option<Spanned<String>>,
    pub args: Option<Spanned<Array<Spanned<String>>>>,
    pub env: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
    pub cwd: Option<Spanned<String>>,
    pub inherit_env: Option<Spanned<bool>>,
    pub url: Option<Spanned<String>>,
    pub headers: Option<Spanned<BTreeMap<String, Spanned<String>>>>,
    pub transport: Option<Spanned<TransportKind>>,
    pub timeout_secs: Option<Seconds>,
    pub startup_timeout_secs: Option<Seconds>,
    pub tools: Option<RawTools>,
    pub protocol: Option<ProtocolPreference>,
    pub session: Option<SessionMode>,
    pub max_callers: Option<Spanned<AtLeastOne>>,
    pub caller_idle_secs: Option<Spanned<Seconds>>,
    pub auth: Option<Spanned<super::upstream_auth::RawUpstreamAuth>>,
}

/// A server's `tools` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(super) struct RawTools {
    pub allow: Option<Array<String>>,
    pub deny: Option<Spanned<Array<String>>>,
    #[serde(default)]
    pub overrides: BTreeMap<String, ToolOverride>,
}

/// The `transport` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub(super) enum TransportKind {
    #[serde(rename = "streamable-http", alias = "http")]
    StreamableHttp,
    #[serde(rename = "sse")]
    Sse,
    #[serde(rename = "stdio")]
    Stdio,
}

impl TransportKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::StreamableHttp => "streamable-http",
            Self::Sse => "sse",
            Self::Stdio => "stdio",
        }
    }
}

/// A table's entries in file order (server order is the order tools are listed in).
#[derive(Debug)]
pub(super) struct Entries<V>(pub Vec<(String, V)>);

impl<V> Default for Entries<V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Entries<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for EntriesVisitor<V> {
            type Value = Entries<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a table")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some((key, value)) = map.next_entry()? {
                    entries.push((key, value));
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor(std::marker::PhantomData))
    }
}

/// A TOML array (`args = ["-y", "pkg"]`); anything else is "expected an array".
#[derive(Debug, Default)]
pub(super) struct Array<T>(pub Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Array<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ArrayVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ArrayVisitor<T> {
            type Value = Array<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Array(items))
            }
        }
        deserializer.deserialize_seq(ArrayVisitor(std::marker::PhantomData))
    }
}

/// A positive, finite number of seconds (`timeout_secs = 60` or `2.5`).
#[derive(Debug, Clone, Copy)]
pub(super) struct Seconds(pub Duration);

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SecondsVisitor)
    }
}

struct SecondsVisitor;

impl SecondsVisitor {
    fn seconds<E: de::Error>(s: f64) -> Result<Seconds, E> {
        if !(s > 0.0 && s.is_finite()) {
            return Err(E::custom(format!(
                "must be a positive number of seconds, got {s}"
            )));
        }
        Duration::try_from_secs_f64(s)
            .map(Seconds)
            .map_err(|_| E::custom(format!("{s} seconds is too long")))
    }
}

impl Visitor<'_> for SecondsVisitor {
    type Value = Seconds;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number of seconds")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Seconds, E> {
        Self::seconds(v as f64)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Seconds, E> {
        Self::seconds(v as f64)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Seconds, E> {
        Self::seconds(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Seconds, E> {
        Err(E::custom(quoted_number(v, "a number of seconds")))
    }
}

/// A whole number of at least 1 (`max_callers = 32`).
#[derive(Debug, Clone, Copy)]
pub(super) struct AtLeastOne(pub usize);

impl<'de> Deserialize<'de> for AtLeastOne {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(AtLeastOneVisitor)
    }
}

struct AtLeastOneVisitor;

impl Visitor<'_> for AtLeastOneVisitor {
    type Value = AtLeastOne;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a whole number of at least 1")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<AtLeastOne, E> {
        match usize::try_from(v) {
            Ok(n) if n >= 1 => Ok(AtLeastOne(n)),
            _ => Err(E::custom(format!("must be at least 1, got {v}"))),
        }
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<AtLeastOne, E> {
        match usize::try_from(v) {
            Ok(n) if n >= 1 => Ok(AtLeastOne(n)),
            _ => Err(E::custom(format!("must be at least 1, got {v}"))),
        }
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<AtLeastOne, E> {
        Err(E::custom(format!(
            "expected a whole number of at least 1, found {v}"
        )))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<AtLeastOne, E> {
        Err(E::custom(quoted_number(v, "a whole number of at least 1")))
    }
}

/// The message for a number written as a string (`timeout_secs = "60"`).
fn quoted_number(v: &str, expected: &str) -> String {
    let hint = if v.trim().parse::<f64>().is_ok() {
        format!(" (write it without quotes: {})", v.trim())
    } else {
        String::new()
    };
    format!("expected {expected}, found the string \"{v}\"{hint}")
}
