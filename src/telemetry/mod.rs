//! Telemetry: OpenTelemetry metrics (Prometheus text and OTLP), the AutoGen-style event log,
//! and model cost. Sits right above `config`: every layer above may record into it.

pub mod cost;
pub mod events;
pub mod metrics;
pub mod metrics_export;
