//! Where the metric instruments go: one process-wide meter provider with a Prometheus reader
//! (always on: `GET /metrics` is local) and, when `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` or
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set, an OTLP http/protobuf periodic reader on its own
//! thread (a collector that is down or slow delays only that thread, never a call).

use std::sync::OnceLock;

use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};

/// The content type of [`prometheus_text`].
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The provider and the registry the Prometheus reader fills.
pub(super) struct Export {
    pub provider: SdkMeterProvider,
    registry: prometheus::Registry,
    /// Whether an OTLP reader was installed.
    pub otlp: bool,
}

static EXPORT: OnceLock<Export> = OnceLock::new();

/// The process's export, built on first use from the environment.
pub(super) fn export() -> &'static Export {
    EXPORT.get_or_init(build)
}

fn build() -> Export {
    let registry = prometheus::Registry::new();
    let mut builder = SdkMeterProvider::builder();
    match opentelemetry_prometheus::exporter()
        .with_registry(registry.clone())
        .without_target_info()
        .scope_info_enabled(false)
        .build()
    {
        Ok(reader) => builder = builder.with_reader(reader),
        Err(error) => tracing::warn!(%error, "the Prometheus metrics reader could not start"),
    }
    let otlp = match otlp_reader() {
        Some(Ok(reader)) => {
            builder = builder.with_reader(reader);
            true
        }
        Some(Err(error)) => {
            tracing::warn!(%error, "metrics are not exported over OTLP");
            false
        }
        None => false,
    };
    Export {
        provider: builder.build(),
        registry,
        otlp,
    }
}

/// Whether the environment asks for OTLP metrics (`OTEL_METRICS_EXPORTER=none` turns it off).
fn otlp_configured() -> bool {
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
    let off = std::env::var("OTEL_METRICS_EXPORTER").is_ok_and(|v| v.trim() == "none");
    !off && (set("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") || set("OTEL_EXPORTER_OTLP_ENDPOINT"))
}

type Reader = PeriodicReader<opentelemetry_otlp::MetricExporter>;

fn otlp_reader() -> Option<Result<Reader, opentelemetry_otlp::ExporterBuildError>> {
    if !otlp_configured() {
        return None;
    }
    let protocol = std::env::var("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL")
        .or_else(|_| std::env::var("OTEL_EXPORTER_OTLP_PROTOCOL"))
        .unwrap_or_default();
    if !protocol.is_empty() && protocol != "http/protobuf" {
        tracing::warn!(
            %protocol,
            "OTLP metrics are sent as http/protobuf (the only protocol built for metrics)"
        );
    }
    use opentelemetry_otlp::WithExportConfig;
    let exporter = opentelemetry_otlp::MetricExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .build();
    // The reader's interval comes from OTEL_METRIC_EXPORT_INTERVAL (default 60 s).
    Some(exporter.map(|exporter| PeriodicReader::builder(exporter).build()))
}

/// Every instrument's current value in the Prometheus text format (what `GET /metrics` says).
pub fn prometheus_text() -> String {
    // Instruments are made before a scrape, so an idle server shows its metric families.
    let _ = super::metrics::instruments();
    let families = export().registry.gather();
    prometheus::TextEncoder::new()
        .encode_to_string(&families)
        .unwrap_or_else(|error| format!("# metrics could not be encoded: {error}\n"))
}

/// Whether metrics also go out over OTLP (the environment configured it).
pub fn otlp_enabled() -> bool {
    export().otlp
}

/// Exports what is left (OTLP) and stops the readers. Blocks up to the exporter's timeout:
/// call it off the async runtime's worker threads (e.g. in `spawn_blocking`).
pub fn shutdown() {
    if let Some(export) = EXPORT.get()
        && export.otlp
        && let Err(error) = export.provider.shutdown()
    {
        tracing::debug!(%error, "metrics shutdown");
    }
}
