//! `[telemetry]`: where OpenTelemetry traces go (the raw table serde reads and the typed
//! settings it becomes). The standard `OTEL_*` environment variables win over it
//! (`crate::telemetry` resolves the two).

use serde::Deserialize;
use toml::Spanned;

/// The OTLP wire protocol of the trace exporter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum OtlpProtocol {
    /// OTLP/HTTP with protobuf bodies (`http/protobuf`, the default).
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
    /// OTLP/gRPC (`grpc`).
    #[serde(rename = "grpc")]
    Grpc,
}

impl OtlpProtocol {
    /// The value of `OTEL_EXPORTER_OTLP_PROTOCOL` naming this protocol, or `None`.
    pub fn from_env_value(value: &str) -> Option<Self> {
        match value.trim() {
            "http/protobuf" => Some(Self::HttpProtobuf),
            "grpc" => Some(Self::Grpc),
            _ => None,
        }
    }
}

/// The `[telemetry]` table (every key optional).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TelemetryConfig {
    /// The OTLP base endpoint (like `OTEL_EXPORTER_OTLP_ENDPOINT`; `/v1/traces` is appended
    /// for http/protobuf).
    pub endpoint: Option<String>,
    /// The OTLP protocol (like `OTEL_EXPORTER_OTLP_PROTOCOL`).
    pub protocol: Option<OtlpProtocol>,
    /// The `service.name` resource attribute (like `OTEL_SERVICE_NAME`).
    pub service_name: Option<String>,
    /// The share of traces sampled, 0.0 to 1.0 (parent-based ratio; like
    /// `OTEL_TRACES_SAMPLER=parentbased_traceidratio` with `OTEL_TRACES_SAMPLER_ARG`).
    pub sample_ratio: Option<f64>,
    /// Whether message contents, tool arguments and results go into spans (like
    /// `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`).
    pub capture_content: Option<bool>,
}

/// `[telemetry]` as serde reads it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
pub(super) struct RawTelemetry {
    pub endpoint: Option<Spanned<String>>,
    pub protocol: Option<OtlpProtocol>,
    pub service_name: Option<String>,
    pub sample_ratio: Option<Spanned<f64>>,
    pub capture_content: Option<bool>,
}
