//! OTLP export of finished spans: one worker thread behind a bounded queue. A full queue or a
//! failed export drops spans (counted by [`dropped_spans`], logged once); nothing here ever
//! waits on the collector on a caller's path.

use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};

use super::init::{TelemetryError, TraceSettings};
use crate::config::OtlpProtocol;

static DROPPED: AtomicU64 = AtomicU64::new(0);
static DROP_LOGGED: AtomicBool = AtomicBool::new(false);

/// Spans dropped so far because the export queue was full or the collector failed
/// (`toolyard_telemetry_dropped_total`).
pub fn dropped_spans() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// Count `n` dropped spans. Nothing is logged here: this runs inside the subscriber (a span's
/// end), where an event would go nowhere; the export thread says it once ([`say_dropping`]).
fn count_dropped(n: u64) {
    DROPPED.fetch_add(n, Ordering::Relaxed);
}

/// Log once, from the export thread, that spans are being dropped and why.
fn say_dropping(why: &dyn fmt::Display) {
    if dropped_spans() > 0 && !DROP_LOGGED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            "dropping trace spans ({why}); further drops are only counted \
             (toolyard_telemetry_dropped_total)"
        );
    }
}

/// Most spans in one export request.
const MAX_BATCH: usize = 512;
/// How often the worker looks at its control channel while idle.
const TICK: Duration = Duration::from_millis(100);

enum Control {
    /// Export everything queued, then answer.
    Flush(Sender<()>),
    /// Export everything queued, answer, stop.
    Shutdown(Sender<()>),
}

/// The span processor: finished, sampled spans go into a bounded queue that one worker
/// thread exports in batches.
pub struct TraceExport {
    spans: SyncSender<SpanData>,
    control: Mutex<Sender<Control>>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl fmt::Debug for TraceExport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TraceExport").finish_non_exhaustive()
    }
}

impl TraceExport {
    /// Start the worker thread exporting to `settings`' collector with `resource`.
    pub fn start(settings: &TraceSettings, resource: Resource) -> Result<Self, TelemetryError> {
        let (spans_tx, spans_rx) = mpsc::sync_channel(settings.queue_size);
        let (control_tx, control_rx) = mpsc::channel();
        let (ready_tx, ready_rx) = mpsc::channel();
        let settings = settings.clone();
        let worker = std::thread::Builder::new()
            .name("toolyard-otlp".into())
            .spawn(move || worker(settings, resource, spans_rx, control_rx, ready_tx))
            .map_err(TelemetryError::Thread)?;
        match ready_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(TelemetryError::WorkerGone),
        }
        Ok(Self {
            spans: spans_tx,
            control: Mutex::new(control_tx),
            worker: Mutex::new(Some(worker)),
        })
    }

    fn ask(&self, make: fn(Sender<()>) -> Control, timeout: Duration) -> OTelSdkResult {
        let (tx, rx) = mpsc::channel();
        let sent = self
            .control
            .lock()
            .map_err(|_| OTelSdkError::InternalFailure("control lock poisoned".into()))?
            .send(make(tx));
        if sent.is_err() {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        rx.recv_timeout(timeout)
            .map_err(|_| OTelSdkError::Timeout(timeout))
    }
}

impl SpanProcessor for TraceExport {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        match self.spans.try_send(span) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => count_dropped(1),
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.ask(Control::Flush, Duration::from_secs(5))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let asked = self.ask(Control::Shutdown, timeout);
        if asked.is_ok()
            && let Ok(mut worker) = self.worker.lock()
            && let Some(worker) = worker.take()
        {
            let _ = worker.join();
        }
        asked
    }
}

/// The exporter of `settings` (built inside the worker's runtime: tonic needs one).
fn exporter(settings: &TraceSettings) -> Result<opentelemetry_otlp::SpanExporter, TelemetryError> {
    let built = match settings.protocol {
        OtlpProtocol::HttpProtobuf => opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(HttpClient::new(settings.export_timeout)?)
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(settings.endpoint.clone())
            .with_timeout(settings.export_timeout)
            .build(),
        OtlpProtocol::Grpc => opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(settings.endpoint.clone())
            .with_timeout(settings.export_timeout)
            .build(),
    };
    built.map_err(|source| TelemetryError::Exporter {
        endpoint: settings.endpoint.clone(),
        source,
    })
}

fn worker(
    settings: TraceSettings,
    resource: Resource,
    spans: Receiver<SpanData>,
    control: Receiver<Control>,
    ready: Sender<Result<(), TelemetryError>>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(TelemetryError::Thread(e)));
            return;
        }
    };
    let mut exporter = match runtime.block_on(async { exporter(&settings) }) {
        Ok(exporter) => exporter,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    exporter.set_resource(&resource);
    let _ = ready.send(Ok(()));
    let export = |batch: &mut Vec<SpanData>| {
        if batch.is_empty() {
            return;
        }
        let batch = std::mem::take(batch);
        let n = batch.len() as u64;
        let sent = runtime.block_on(async {
            tokio::time::timeout(settings.export_timeout, exporter.export(batch)).await
        });
        match sent {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                count_dropped(n);
                say_dropping(&format_args!("export to {} failed: {e}", settings.endpoint));
            }
            Err(_) => {
                count_dropped(n);
                say_dropping(&format_args!("export to {} timed out", settings.endpoint));
            }
        }
    };
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut since = Instant::now();
    loop {
        match spans.recv_timeout(TICK) {
            Ok(span) => batch.push(span),
            Err(RecvTimeoutError::Timeout) => say_dropping(&"the export queue was full"),
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if batch.len() >= MAX_BATCH || since.elapsed() >= settings.schedule_delay {
            export(&mut batch);
            since = Instant::now();
        }
        let Ok(asked) = control.try_recv() else {
            continue;
        };
        batch.extend(spans.try_iter());
        while !batch.is_empty() {
            let rest = batch.split_off(batch.len().min(MAX_BATCH));
            export(&mut batch);
            batch = rest;
        }
        match asked {
            Control::Flush(done) => {
                let _ = done.send(());
            }
            Control::Shutdown(done) => {
                let _ = exporter.shutdown();
                let _ = done.send(());
                return;
            }
        }
    }
}

/// OTLP/HTTP through the crate's own reqwest, with a whole-request timeout.
#[derive(Debug, Clone)]
struct HttpClient(reqwest::Client);

impl HttpClient {
    fn new(timeout: Duration) -> Result<Self, TelemetryError> {
        reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map(Self)
            .map_err(TelemetryError::HttpClient)
    }
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for HttpClient {
    async fn send_bytes(
        &self,
        request: http::Request<bytes::Bytes>,
    ) -> Result<http::Response<bytes::Bytes>, opentelemetry_http::HttpError> {
        let request = reqwest::Request::try_from(request)?;
        let response = self.0.execute(request).await?;
        let mut builder = http::Response::builder().status(response.status());
        if let Some(headers) = builder.headers_mut() {
            *headers = response.headers().clone();
        }
        let body = response.bytes().await?;
        Ok(builder.body(body)?)
    }
}
