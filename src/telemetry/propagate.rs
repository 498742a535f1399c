//! W3C trace context in and out: `traceparent` / `tracestate` read from an incoming request's
//! `params._meta` (or its HTTP headers) as the parent of the span serving it, and written into
//! outgoing `_meta` (upstream MCP requests) and HTTP headers (model requests).

use std::collections::HashMap;

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator as _};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use serde_json::{Map, Value};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// Reads string values of a JSON object (an MCP `_meta`).
struct MetaCarrier<'a>(&'a Map<String, Value>);

impl Extractor for MetaCarrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(Value::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

/// Reads HTTP headers.
struct HeaderCarrier<'a>(&'a http::HeaderMap);

impl Extractor for HeaderCarrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// The remote parent named by `traceparent` (+ `tracestate`) in `meta`, if valid.
pub fn parent_from_meta(meta: &Map<String, Value>) -> Option<opentelemetry::Context> {
    meta.get("traceparent")?;
    valid(TraceContextPropagator::new().extract(&MetaCarrier(meta)))
}

/// The remote parent named by the `traceparent` header, if valid.
pub fn parent_from_headers(headers: &http::HeaderMap) -> Option<opentelemetry::Context> {
    headers.get("traceparent")?;
    valid(TraceContextPropagator::new().extract(&HeaderCarrier(headers)))
}

fn valid(cx: opentelemetry::Context) -> Option<opentelemetry::Context> {
    cx.span().span_context().is_valid().then_some(cx)
}

/// Make `parent` the parent of `span` (a span of ours not started yet).
pub fn set_parent(span: &tracing::Span, parent: opentelemetry::Context) {
    if !span.is_disabled() {
        let _ = span.set_parent(parent);
    }
}

/// The trace context fields (`traceparent`, and `tracestate` when not empty) of `span`;
/// empty when the span is disabled.
fn fields(span: &tracing::Span) -> HashMap<String, String> {
    let mut out = HashMap::new();
    if span.is_disabled() {
        return out;
    }
    let cx = span.context();
    if cx.span().span_context().is_valid() {
        TraceContextPropagator::new().inject_context(&cx, &mut Sink(&mut out));
    }
    out
}

struct Sink<'a>(&'a mut HashMap<String, String>);

impl Injector for Sink<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_string(), value);
    }
}

/// Write `span`'s trace context into an outgoing request's `_meta` (nothing when disabled).
pub fn inject_meta(span: &tracing::Span, meta: &mut Map<String, Value>) {
    for (key, value) in fields(span) {
        meta.insert(key, Value::String(value));
    }
}

/// Add `span`'s trace context headers to an outgoing HTTP request (unchanged when disabled).
pub fn inject_headers(
    span: &tracing::Span,
    request: reqwest::RequestBuilder,
) -> reqwest::RequestBuilder {
    fields(span)
        .into_iter()
        .fold(request, |request, (key, value)| request.header(key, value))
}
