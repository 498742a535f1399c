//! Raw taps on upstream traffic: keep the tool-definition fields rmcp's typed `Tool` drops.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use rmcp::model::JsonObject;
use serde_json::Value;
use tokio::io::{AsyncRead, ReadBuf};

/// A callback that sees every incoming JSON-RPC message as raw JSON, before typed decoding.
pub type RawTap = Arc<dyn Fn(&Value) + Send + Sync>;

/// Tool fields rmcp models; everything else in a tool definition is an "extra".
const KNOWN_TOOL_KEYS: &[&str] = &[
    "name",
    "title",
    "description",
    "inputSchema",
    "outputSchema",
    "annotations",
    "icons",
    "_meta",
];

/// The extra fields of each upstream tool, by upstream tool name, as last listed.
#[derive(Debug, Clone, Default)]
pub struct ToolExtras {
    inner: Arc<Mutex<HashMap<String, JsonObject>>>,
}

impl ToolExtras {
    /// A tap that records extras from every `tools/list` result it sees.
    pub fn tap(&self) -> RawTap {
        let extras = self.clone();
        Arc::new(move |message: &Value| extras.observe(message))
    }

    fn observe(&self, message: &Value) {
        let Some(tools) = message
            .get("result")
            .and_then(|r| r.get("tools"))
            .and_then(Value::as_array)
        else {
            return;
        };
        let Ok(mut map) = self.inner.lock() else {
            return;
        };
        for tool in tools {
            let (Some(name), Some(obj)) =
                (tool.get("name").and_then(Value::as_str), tool.as_object())
            else {
                continue;
            };
            let extra: JsonObject = obj
                .iter()
                .filter(|(k, _)| !KNOWN_TOOL_KEYS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if extra.is_empty() {
                map.remove(name);
            } else {
                map.insert(name.to_string(), extra);
            }
        }
    }

    /// The extras recorded for an upstream tool.
    pub fn get(&self, name: &str) -> JsonObject {
        self.inner
            .lock()
            .ok()
            .and_then(|m| m.get(name).cloned())
            .unwrap_or_default()
    }
}

/// Longest line the tap inspects; longer lines pass through untapped.
const MAX_TAPPED_LINE: usize = 16 * 1024 * 1024;

pin_project_lite::pin_project! {
    /// An `AsyncRead` that passes bytes through unchanged and shows each newline-delimited
    /// JSON message that mentions `"tools"` to a [`RawTap`].
    pub struct TapReader<R> {
        #[pin]
        inner: R,
        line: Vec<u8>,
        overflow: bool,
        tap: RawTap,
    }
}

impl<R> TapReader<R> {
    /// Wrap a reader.
    pub fn new(inner: R, tap: RawTap) -> Self {
        Self {
            inner,
            line: Vec::new(),
            overflow: false,
            tap,
        }
    }
}

impl<R: AsyncRead> AsyncRead for TapReader<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.project();
        let before = buf.filled().len();
        let result = this.inner.poll_read(cx, buf);
        let mut rest = &buf.filled()[before..];
        while !rest.is_empty() {
            let (part, ended) = match memchr::memchr(b'\n', rest) {
                Some(end) => (&rest[..end], true),
                None => (rest, false),
            };
            if this.line.len() + part.len() <= MAX_TAPPED_LINE {
                this.line.extend_from_slice(part);
            } else {
                *this.overflow = true;
            }
            if ended {
                if !*this.overflow
                    && memchr::memmem::find(this.line, b"\"tools\"").is_some()
                    && let Ok(value) = serde_json::from_slice::<Value>(this.line)
                {
                    (this.tap)(&value);
                }
                this.line.clear();
                *this.overflow = false;
                rest = &rest[part.len() + 1..];
            } else {
                rest = &[];
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn extras_are_recorded_and_bytes_pass_through() {
        let extras = ToolExtras::default();
        let input = concat!(
            r#"{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"t","inputSchema":{},"execution":{"taskSupport":"optional"}},{"name":"plain","inputSchema":{}}]}}"#,
            "\n",
            r#"{"jsonrpc":"2.0","method":"notifications/progress","params":{}}"#,
            "\n"
        );
        let mut reader = TapReader::new(input.as_bytes(), extras.tap());
        let mut out = String::new();
        reader.read_to_string(&mut out).await.unwrap();
        assert_eq!(out, input);
        assert_eq!(
            Value::Object(extras.get("t")),
            serde_json::json!({"execution": {"taskSupport": "optional"}})
        );
        assert!(extras.get("plain").is_empty());
    }

    /// Hands out its bytes a few at a time, so messages and newlines straddle reads.
    struct Trickle(&'static [u8]);

    impl AsyncRead for Trickle {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            let n = self.0.len().min(7).min(buf.remaining());
            buf.put_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn messages_split_across_reads_are_tapped_once() {
        let extras = ToolExtras::default();
        let input = concat!(
            r#"{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"a","inputSchema":{},"x":1}]}}"#,
            "\n\n",
            r#"{"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"b","inputSchema":{},"y":2}]}}"#,
            "\n"
        );
        let mut reader = TapReader::new(Trickle(input.as_bytes()), extras.tap());
        let mut out = String::new();
        reader.read_to_string(&mut out).await.unwrap();
        assert_eq!(out, input);
        assert_eq!(Value::Object(extras.get("a")), serde_json::json!({"x": 1}));
        assert_eq!(Value::Object(extras.get("b")), serde_json::json!({"y": 2}));
    }
}
