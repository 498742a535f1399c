//! How trace settings are resolved: the standard `OTEL_*` variables over `[telemetry]`, the
//! OTLP endpoint path per protocol, and every way of leaving traces off.

use std::collections::HashMap;

use toolyard::config::{OtlpProtocol, TelemetryConfig};
use toolyard::telemetry::TraceSettings;

fn resolve(config: &TelemetryConfig, vars: &[(&str, &str)]) -> Option<TraceSettings> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    TraceSettings::resolve(config, &|name| vars.get(name).cloned()).expect("valid settings")
}

fn file(endpoint: &str) -> TelemetryConfig {
    TelemetryConfig {
        endpoint: Some(endpoint.into()),
        ..TelemetryConfig::default()
    }
}

#[test]
fn nothing_configured_means_no_traces() {
    assert!(resolve(&TelemetryConfig::default(), &[]).is_none());
    // Settings without an endpoint do not turn traces on either.
    let no_endpoint = TelemetryConfig {
        service_name: Some("x".into()),
        capture_content: Some(true),
        ..TelemetryConfig::default()
    };
    assert!(resolve(&no_endpoint, &[]).is_none());
}

#[test]
fn the_endpoint_comes_from_the_environment_over_the_file() {
    let s = resolve(&file("http://file:4318"), &[]).expect("on");
    assert_eq!(s.endpoint, "http://file:4318/v1/traces");
    assert_eq!(s.protocol, OtlpProtocol::HttpProtobuf);
    let s = resolve(
        &file("http://file:4318"),
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318/")],
    )
    .expect("on");
    assert_eq!(s.endpoint, "http://env:4318/v1/traces");
    // The traces-specific variable is used as it is.
    let s = resolve(
        &file("http://file:4318"),
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "http://traces:9999/custom",
            ),
        ],
    )
    .expect("on");
    assert_eq!(s.endpoint, "http://traces:9999/custom");
}

#[test]
fn grpc_uses_the_base_endpoint_and_the_environment_picks_the_protocol() {
    let grpc_file = TelemetryConfig {
        protocol: Some(OtlpProtocol::Grpc),
        ..file("http://file:4317")
    };
    let s = resolve(&grpc_file, &[]).expect("on");
    assert_eq!(
        (s.protocol, s.endpoint.as_str()),
        (OtlpProtocol::Grpc, "http://file:4317")
    );
    let s = resolve(
        &grpc_file,
        &[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")],
    )
    .expect("on");
    assert_eq!(s.protocol, OtlpProtocol::HttpProtobuf);
    assert_eq!(s.endpoint, "http://file:4317/v1/traces");
}

#[test]
fn content_capture_is_opt_in_and_the_environment_wins() {
    assert!(!resolve(&file("http://c"), &[]).expect("on").capture_content);
    let on = TelemetryConfig {
        capture_content: Some(true),
        ..file("http://c")
    };
    assert!(resolve(&on, &[]).expect("on").capture_content);
    let env_off = [(
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",
        "false",
    )];
    assert!(!resolve(&on, &env_off).expect("on").capture_content);
    let env_on = [("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")];
    assert!(
        resolve(&file("http://c"), &env_on)
            .expect("on")
            .capture_content
    );
}

#[test]
fn the_sdk_switches_turn_traces_off() {
    let on = file("http://c");
    assert!(resolve(&on, &[("OTEL_SDK_DISABLED", "true")]).is_none());
    assert!(resolve(&on, &[("OTEL_TRACES_EXPORTER", "none")]).is_none());
}

#[test]
fn queue_delay_and_timeout_follow_the_standard_variables() {
    let s = resolve(&file("http://c"), &[]).expect("on");
    assert_eq!(s.queue_size, 2048);
    assert_eq!(s.schedule_delay.as_millis(), 5000);
    assert_eq!(s.export_timeout.as_millis(), 10_000);
    let s = resolve(
        &file("http://c"),
        &[
            ("OTEL_BSP_MAX_QUEUE_SIZE", "16"),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2000"),
        ],
    )
    .expect("on");
    assert_eq!(s.queue_size, 16);
    assert_eq!(s.schedule_delay.as_millis(), 100);
    assert_eq!(s.export_timeout.as_millis(), 2000);
}

#[test]
fn bad_values_are_refused_naming_the_variable() {
    let on = file("http://c");
    for (var, value) in [
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ("OTEL_TRACES_SAMPLER", "sometimes"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "0"),
        ("OTEL_TRACES_EXPORTER", "zipkin"),
    ] {
        let err = TraceSettings::resolve(&on, &|name| (name == var).then(|| value.to_string()))
            .expect_err("refused");
        assert!(err.to_string().contains(var), "{err}");
    }
    let err = TraceSettings::resolve(&on, &|name| match name {
        "OTEL_TRACES_SAMPLER" => Some("traceidratio".into()),
        "OTEL_TRACES_SAMPLER_ARG" => Some("2".into()),
        _ => None,
    })
    .expect_err("ratio above 1");
    assert!(err.to_string().contains("OTEL_TRACES_SAMPLER_ARG"), "{err}");
}
