//! Set-up: the trace settings (the standard `OTEL_*` environment variables win over
//! `[telemetry]`), the tracer provider, and the one place the process's subscriber is built
//! (log output to stderr as text or JSON lines, plus the OpenTelemetry layer when configured).

use std::io::IsTerminal;
use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::{EnvFilter, filter_fn};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use super::logs::JsonLines;
use super::traces_export::{TraceExport, dropped_spans};
use super::{CAPTURE_CONTENT, TARGET, TRACING_ON};
use crate::config::{OtlpProtocol, TelemetryConfig};

/// What can go wrong setting telemetry up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// An environment variable has a value we cannot use.
    #[error("{var}={value:?}: {expected}")]
    Env {
        var: &'static str,
        value: String,
        expected: &'static str,
    },
    /// The OTLP exporter could not be built.
    #[error("cannot build the OTLP trace exporter for {endpoint}")]
    Exporter {
        endpoint: String,
        #[source]
        source: opentelemetry_otlp::ExporterBuildError,
    },
    /// The exporter's HTTP client could not be built.
    #[error("cannot build the OTLP HTTP client")]
    HttpClient(#[source] reqwest::Error),
    /// The export thread (or its runtime) could not start.
    #[error("cannot start the trace export thread")]
    Thread(#[source] std::io::Error),
    /// The export thread ended while starting.
    #[error("the trace export thread ended while starting")]
    WorkerGone,
}

/// The log line format on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines (colours only on a terminal without `NO_COLOR`).
    #[default]
    Text,
    /// One JSON object per line (level, target, message, fields, trace_id / span_id).
    Json,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => Err(format!("unknown log format {other:?} (text or json)")),
        }
    }
}

/// Where and how traces are exported, resolved from the environment and `[telemetry]`.
#[derive(Debug, Clone)]
pub struct TraceSettings {
    /// The full traces endpoint (for http/protobuf it ends in `/v1/traces`).
    pub endpoint: String,
    /// The OTLP protocol.
    pub protocol: OtlpProtocol,
    /// `service.name` from `[telemetry]`, used when the environment names none.
    pub service_name: Option<String>,
    /// Which traces are sampled.
    pub sampler: Sampler,
    /// Whether contents go into spans.
    pub capture_content: bool,
    /// Most finished spans waiting for export (`OTEL_BSP_MAX_QUEUE_SIZE`, 2048).
    pub queue_size: usize,
    /// Longest wait before queued spans are exported (`OTEL_BSP_SCHEDULE_DELAY` ms, 5000).
    pub schedule_delay: Duration,
    /// Longest one export may take (`OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` /
    /// `OTEL_EXPORTER_OTLP_TIMEOUT` ms, 10000).
    pub export_timeout: Duration,
}

impl TraceSettings {
    /// The settings of `config` with the environment `env` over it; `None` when no traces
    /// endpoint is configured anywhere (or `OTEL_SDK_DISABLED=true`, `OTEL_TRACES_EXPORTER=none`).
    pub fn resolve(
        config: &TelemetryConfig,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, TelemetryError> {
        let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        if var("OTEL_SDK_DISABLED").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
            return Ok(None);
        }
        match var("OTEL_TRACES_EXPORTER").as_deref().map(str::trim) {
            None | Some("otlp") => {}
            Some("none") => return Ok(None),
            Some(other) => return Err(bad("OTEL_TRACES_EXPORTER", other, "otlp or none")),
        }
        let protocol = match var("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
            .map(|v| ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", v))
            .or_else(|| {
                var("OTEL_EXPORTER_OTLP_PROTOCOL").map(|v| ("OTEL_EXPORTER_OTLP_PROTOCOL", v))
            }) {
            Some((name, value)) => OtlpProtocol::from_env_value(&value)
                .ok_or_else(|| bad(name, &value, "http/protobuf or grpc"))?,
            None => config.protocol.unwrap_or(OtlpProtocol::HttpProtobuf),
        };
        let endpoint = match var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            Some(full) => full.trim().to_string(),
            None => match var("OTEL_EXPORTER_OTLP_ENDPOINT").or_else(|| config.endpoint.clone()) {
                Some(base) => traces_url(base.trim(), protocol),
                None => return Ok(None),
            },
        };
        let capture_content = match var("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT") {
            Some(v) => v.trim().eq_ignore_ascii_case("true"),
            None => config.capture_content.unwrap_or(false),
        };
        let millis = |name: &'static str, default: u64| -> Result<Duration, TelemetryError> {
            match var(name) {
                Some(v) => v
                    .trim()
                    .parse()
                    .map(Duration::from_millis)
                    .map_err(|_| bad(name, &v, "a number of milliseconds")),
                None => Ok(Duration::from_millis(default)),
            }
        };
        let export_timeout = match var("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") {
            Some(_) => millis("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", 10_000)?,
            None => millis("OTEL_EXPORTER_OTLP_TIMEOUT", 10_000)?,
        };
        let queue_size = match var("OTEL_BSP_MAX_QUEUE_SIZE") {
            Some(v) => v
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| bad("OTEL_BSP_MAX_QUEUE_SIZE", &v, "a positive number"))?,
            None => 2048,
        };
        Ok(Some(Self {
            endpoint,
            protocol,
            service_name: config.service_name.clone(),
            sampler: sampler(config, &var)?,
            capture_content,
            queue_size,
            schedule_delay: millis("OTEL_BSP_SCHEDULE_DELAY", 5_000)?,
            export_timeout,
        }))
    }
}

fn bad(var: &'static str, value: &str, expected: &'static str) -> TelemetryError {
    TelemetryError::Env {
        var,
        value: value.to_string(),
        expected,
    }
}

/// The traces URL under an OTLP base endpoint (`/v1/traces` appended for http/protobuf).
fn traces_url(base: &str, protocol: OtlpProtocol) -> String {
    match protocol {
        OtlpProtocol::HttpProtobuf => format!("{}/v1/traces", base.trim_end_matches('/')),
        OtlpProtocol::Grpc => base.to_string(),
    }
}

/// `OTEL_TRACES_SAMPLER` (+ `_ARG`) when set, else `sample_ratio` (parent-based), else every
/// trace (parent-based: a caller's unsampled traceparent is respected).
fn sampler(
    config: &TelemetryConfig,
    var: &dyn Fn(&str) -> Option<String>,
) -> Result<Sampler, TelemetryError> {
    let ratio = || -> Result<f64, TelemetryError> {
        match var("OTEL_TRACES_SAMPLER_ARG") {
            Some(v) => v
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|r| (0.0..=1.0).contains(r))
                .ok_or_else(|| bad("OTEL_TRACES_SAMPLER_ARG", &v, "a ratio from 0.0 to 1.0")),
            None => Ok(1.0),
        }
    };
    let parent = |root: Sampler| Sampler::ParentBased(Box::new(root));
    let Some(name) = var("OTEL_TRACES_SAMPLER") else {
        return Ok(match config.sample_ratio {
            Some(r) => parent(Sampler::TraceIdRatioBased(r)),
            None => parent(Sampler::AlwaysOn),
        });
    };
    Ok(match name.trim() {
        "always_on" => Sampler::AlwaysOn,
        "always_off" => Sampler::AlwaysOff,
        "traceidratio" => Sampler::TraceIdRatioBased(ratio()?),
        "parentbased_always_on" => parent(Sampler::AlwaysOn),
        "parentbased_always_off" => parent(Sampler::AlwaysOff),
        "parentbased_traceidratio" => parent(Sampler::TraceIdRatioBased(ratio()?)),
        other => {
            return Err(bad(
                "OTEL_TRACES_SAMPLER",
                other,
                "always_on, always_off, traceidratio or parentbased_*",
            ));
        }
    })
}

/// The resource of the exported spans: `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_SERVICE_NAME`
/// (read by the SDK's detectors), else `service_name` of `[telemetry]`, else `toolyard`.
fn resource(settings: &TraceSettings) -> Resource {
    let env_names_it = std::env::var("OTEL_SERVICE_NAME").is_ok_and(|v| !v.is_empty())
        || std::env::var("OTEL_RESOURCE_ATTRIBUTES").is_ok_and(|v| v.contains("service.name="));
    let builder = Resource::builder();
    if env_names_it {
        return builder.build();
    }
    let name = settings.service_name.as_deref().unwrap_or("toolyard");
    builder.with_service_name(name.to_string()).build()
}

/// The tracer provider exporting to `settings`' collector.
pub fn tracer_provider(settings: &TraceSettings) -> Result<SdkTracerProvider, TelemetryError> {
    let resource = resource(settings);
    let export = TraceExport::start(settings, resource.clone())?;
    Ok(SdkTracerProvider::builder()
        .with_span_processor(export)
        .with_sampler(settings.sampler.clone())
        .with_resource(resource)
        .build())
}

/// The process's telemetry once installed: flush it with [`Telemetry::shutdown`].
#[derive(Debug, Default)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Whether traces are exported.
    pub fn tracing(&self) -> bool {
        self.provider.is_some()
    }

    /// Export what is queued and stop the exporter (waits at most `timeout`); says how many
    /// spans were dropped, if any.
    pub async fn shutdown(mut self, timeout: Duration) {
        let Some(provider) = self.provider.take() else {
            return;
        };
        let _ = tokio::task::spawn_blocking(move || provider.shutdown_with_timeout(timeout)).await;
        let dropped = dropped_spans();
        if dropped > 0 {
            tracing::warn!(
                dropped,
                "{dropped} trace spans were dropped (toolyard_telemetry_dropped_total)"
            );
        }
    }
}

/// Install the process's subscriber: logs on stderr in `format` filtered by `RUST_LOG` (else
/// `default_filter`), and, with `traces` and when traces are configured
/// ([`TraceSettings::resolve`] over the process environment and `traces`), the OpenTelemetry
/// layer, which sees only spans of target [`TARGET`]. A second call changes nothing.
pub fn install(
    format: LogFormat,
    default_filter: &str,
    traces: Option<&TelemetryConfig>,
) -> Result<Telemetry, TelemetryError> {
    let settings = match traces {
        Some(config) => TraceSettings::resolve(config, &|name| std::env::var(name).ok())?,
        None => None,
    };
    let provider = settings.as_ref().map(tracer_provider).transpose()?;
    let mut filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    if let Ok(off) = format!("{TARGET}=off").parse() {
        filter = filter.add_directive(off);
    }
    let logs = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(colour_on_stderr())
            .with_target(false)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .event_format(JsonLines)
            .boxed(),
    };
    let otel = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("toolyard"))
            .with_tracked_inactivity(false)
            .with_threads(false)
            .with_location(false)
            .with_target(false)
            .with_filter(filter_fn(|meta| meta.target() == TARGET))
    });
    let installed = tracing_subscriber::registry()
        .with(logs.with_filter(filter))
        .with(otel)
        .try_init()
        .is_ok();
    if !installed {
        return Ok(Telemetry::default());
    }
    if let Some(settings) = &settings {
        CAPTURE_CONTENT.store(settings.capture_content, Ordering::Relaxed);
        TRACING_ON.store(true, Ordering::Relaxed);
        tracing::info!(
            endpoint = %settings.endpoint,
            protocol = ?settings.protocol,
            "exporting OpenTelemetry traces"
        );
    }
    Ok(Telemetry { provider })
}

/// Whether stderr gets colours: a terminal, and `NO_COLOR` not set.
fn colour_on_stderr() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
