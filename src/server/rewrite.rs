//! Outgoing raw rewrites: put back the tool-definition fields rmcp's typed `Tool` cannot carry
//! (e.g. `execution`) into `tools/list` results, on every face (stdio writer, SSE events, HTTP
//! response bodies).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use serde_json::Value;
use tokio::io::AsyncWrite;

/// Edits one outgoing JSON-RPC message in place.
#[derive(Clone)]
pub struct OutgoingRewrite(Arc<dyn Fn(&mut Value) + Send + Sync>);

impl OutgoingRewrite {
    /// Wrap an editing function.
    pub fn new(f: impl Fn(&mut Value) + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    /// Apply it to a message.
    pub fn apply(&self, message: &mut Value) {
        (self.0)(message)
    }
}

impl std::fmt::Debug for OutgoingRewrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OutgoingRewrite")
    }
}

pub use crate::gateway::ToolExtrasTable;

/// A rewrite that adds each listed tool's extra fields (fields already present win).
pub fn tool_extras(table: ToolExtrasTable) -> OutgoingRewrite {
    OutgoingRewrite::new(move |message: &mut Value| {
        let Some(tools) = message
            .get_mut("result")
            .and_then(|r| r.get_mut("tools"))
            .and_then(Value::as_array_mut)
        else {
            return;
        };
        let Ok(table) = table.read() else { return };
        for tool in tools {
            let Some(obj) = tool.as_object_mut() else {
                continue;
            };
            let Some(extra) = obj
                .get("name")
                .and_then(Value::as_str)
                .and_then(|n| table.get(n))
            else {
                continue;
            };
            for (k, v) in extra {
                obj.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    })
}

/// Apply `rewrite` to a JSON text if it may hold a tool list; other texts pass unchanged.
pub fn rewrite_json_text(text: &str, rewrite: &OutgoingRewrite) -> Option<String> {
    if !text.contains("\"tools\"") {
        return None;
    }
    let mut value: Value = serde_json::from_str(text).ok()?;
    rewrite.apply(&mut value);
    serde_json::to_string(&value).ok()
}

/// Apply `rewrite` to an HTTP response body: one JSON document, or SSE `data:` lines.
pub fn rewrite_body(body: &[u8], rewrite: &OutgoingRewrite) -> Bytes {
    let Ok(text) = std::str::from_utf8(body) else {
        return Bytes::copy_from_slice(body);
    };
    if let Some(json) = rewrite_json_text(text.trim(), rewrite) {
        return Bytes::from(json);
    }
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        let (content, end) = match line.strip_suffix('\n') {
            Some(c) => (c, "\n"),
            None => (line, ""),
        };
        match content
            .strip_prefix("data:")
            .and_then(|d| rewrite_json_text(d.trim_start(), rewrite))
        {
            Some(json) => {
                out.push_str("data: ");
                out.push_str(&json);
            }
            None => out.push_str(content),
        }
        out.push_str(end);
    }
    Bytes::from(out)
}

pin_project_lite::pin_project! {
    /// An `AsyncWrite` for newline-delimited JSON-RPC that rewrites whole lines before writing.
    pub struct RewriteWriter<W> {
        #[pin]
        inner: W,
        line: Vec<u8>,
        out: Vec<u8>,
        written: usize,
        rewrite: OutgoingRewrite,
    }
}

impl<W> RewriteWriter<W> {
    /// Wrap a writer.
    pub fn new(inner: W, rewrite: OutgoingRewrite) -> Self {
        Self {
            inner,
            line: Vec::new(),
            out: Vec::new(),
            written: 0,
            rewrite,
        }
    }
}

impl<W: AsyncWrite> RewriteWriter<W> {
    fn drain(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let mut this = self.project();
        while *this.written < this.out.len() {
            let n = std::task::ready!(
                this.inner
                    .as_mut()
                    .poll_write(cx, &this.out[*this.written..])
            )?;
            if n == 0 {
                return Poll::Ready(Err(std::io::ErrorKind::WriteZero.into()));
            }
            *this.written += n;
        }
        this.out.clear();
        *this.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl<W: AsyncWrite> AsyncWrite for RewriteWriter<W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        std::task::ready!(self.as_mut().drain(cx))?;
        let this = self.as_mut().project();
        for &byte in buf {
            this.line.push(byte);
            if byte == b'\n' {
                let line = std::mem::take(this.line);
                let rewritten = std::str::from_utf8(&line[..line.len() - 1])
                    .ok()
                    .and_then(|t| rewrite_json_text(t, this.rewrite));
                match rewritten {
                    Some(json) => {
                        this.out.extend_from_slice(json.as_bytes());
                        this.out.push(b'\n');
                    }
                    None => this.out.extend_from_slice(&line),
                }
            }
        }
        // Start writing now; whatever is left goes out on the next write or flush.
        let _ = self.as_mut().drain(cx)?;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        std::task::ready!(self.as_mut().drain(cx))?;
        self.project().inner.poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        std::task::ready!(self.as_mut().drain(cx))?;
        self.project().inner.poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashMap;
    use std::sync::RwLock;
    use tokio::io::AsyncWriteExt;

    fn rewrite() -> OutgoingRewrite {
        let mut map = HashMap::new();
        let extra = json!({"execution": {"taskSupport": "optional"}});
        map.insert(
            "t".to_string(),
            extra.as_object().cloned().unwrap_or_default(),
        );
        tool_extras(Arc::new(RwLock::new(map)))
    }

    const LIST: &str = r#"{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"t","inputSchema":{}},{"name":"u","inputSchema":{}}]}}"#;

    #[test]
    fn json_and_sse_bodies_get_the_extras() {
        let json: Value =
            serde_json::from_slice(&rewrite_body(LIST.as_bytes(), &rewrite())).unwrap();
        assert_eq!(
            json["result"]["tools"][0]["execution"]["taskSupport"],
            "optional"
        );
        assert!(json["result"]["tools"][1].get("execution").is_none());
        let sse = format!("event: message\nid: 0\ndata: {LIST}\n\n");
        let out = String::from_utf8(rewrite_body(sse.as_bytes(), &rewrite()).to_vec()).unwrap();
        assert!(out.starts_with("event: message\nid: 0\ndata: {"), "{out}");
        assert!(
            out.contains("taskSupport") && out.ends_with("\n\n"),
            "{out}"
        );
        let other = "data: {\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{}}\n\n";
        assert_eq!(rewrite_body(other.as_bytes(), &rewrite()), other.as_bytes());
    }

    #[tokio::test]
    async fn writer_rewrites_whole_lines_split_across_writes() {
        let mut out = Vec::new();
        {
            let mut w = RewriteWriter::new(&mut out, rewrite());
            let text = format!("{LIST}\n{{\"jsonrpc\":\"2.0\",\"method\":\"x\"}}\n");
            for chunk in text.as_bytes().chunks(7) {
                w.write_all(chunk).await.unwrap();
            }
            w.flush().await.unwrap();
        }
        let text = String::from_utf8(out).unwrap();
        let mut lines = text.lines();
        let first: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
        assert_eq!(
            first["result"]["tools"][0]["execution"]["taskSupport"],
            "optional"
        );
        assert_eq!(lines.next(), Some(r#"{"jsonrpc":"2.0","method":"x"}"#));
    }
}
