//! Tracing set-up: structured logs to stderr, plain or JSON
//! (`LOG_FORMAT=json`), filtered by `RUST_LOG` (default `info`); and, when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`)
//! is set, every span exported over OTLP (`OTEL_EXPORTER_OTLP_PROTOCOL`:
//! `grpc`, the default, or `http/protobuf`; `OTEL_SERVICE_NAME`, default
//! `ocomms`).
//!
//! W3C trace context (`traceparent`) travels with every hop: the gateway
//! takes it from the HTTP request ([`http_parent`]); gRPC requests made
//! through `identity`'s helpers carry it ([`inject`]) and `grpc_service!`
//! handlers continue it ([`server_span`]); jobs carry it through the outbox
//! and the broker into their consumers (`jobs`). So one trace shows a
//! mention from the REST call to the notification.

use std::sync::{Arc, OnceLock};

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Where spans go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Otlp {
    /// `http://collector:4317` (gRPC) or `http://collector:4318` (HTTP).
    pub endpoint: String,
    /// `grpc` or `http/protobuf`.
    pub protocol: String,
    pub service_name: String,
}

impl Otlp {
    /// From the standard `OTEL_*` variables; `None` without an endpoint.
    pub fn from_env() -> Option<Self> {
        let var = |k: &str| std::env::var(k).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let endpoint = var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").or_else(|| var("OTEL_EXPORTER_OTLP_ENDPOINT"))?;
        Some(Self {
            endpoint,
            protocol: var("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
                .or_else(|| var("OTEL_EXPORTER_OTLP_PROTOCOL"))
                .unwrap_or_else(|| "grpc".to_owned()),
            service_name: var("OTEL_SERVICE_NAME").unwrap_or_else(|| "ocomms".to_owned()),
        })
    }
}

static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// Installs the global subscriber once; later calls are no-ops, so tests
/// and the launcher (which hosts every service) may call it freely.
pub fn init() {
    init_with(Otlp::from_env(), true);
}

/// As [`init`], with the OTLP destination given, and logs on stderr or not
/// (tests: only with `TEST_LOG`).
pub fn init_with(otlp: Option<Otlp>, logs: bool) {
    // lapin logs a whole returned job (its payload: message excerpts) at
    // WARN; the relay already reports it without the payload.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info"))
        .add_directive("lapin::returned_messages=error".parse().expect("a valid directive"));
    let json = std::env::var("LOG_FORMAT").map(|v| v.eq_ignore_ascii_case("json")).unwrap_or(false);
    // Boxed, not `Option`: an `Option` layer does not pass on
    // `on_register_dispatch`, which the JSON layer needs for trace ids.
    type Boxed = Box<dyn tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync>;
    let logs: Option<Boxed> = if !logs {
        None
    } else if json {
        Some(Box::new(json_layer(std::io::stderr)))
    } else {
        Some(Box::new(tracing_subscriber::fmt::layer().with_writer(std::io::stderr)))
    };
    let logs: Boxed = logs.unwrap_or_else(|| Box::new(tracing_subscriber::layer::Identity::new()));
    let otel = otlp.and_then(|o| match tracer(&o) {
        Ok(tracer) => Some(tracing_opentelemetry::layer().with_tracer(tracer)),
        Err(e) => {
            eprintln!("OpenTelemetry export to {} is off: {e}", o.endpoint);
            None
        }
    });
    let _ = tracing_subscriber::registry().with(logs).with(filter).with(otel).try_init();
}

/// JSON log lines (one object per event, with the current span), each
/// carrying `trace_id` and `span_id` when the event happens inside a traced
/// span, so that a log line leads to its trace.
fn json_layer<S, W>(writer: W) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    use tracing_subscriber::Layer as _;
    let dispatch = Arc::new(OnceLock::new());
    let inner = tracing_subscriber::fmt::format().json().with_current_span(true);
    let format = WithTraceId { inner, dispatch: dispatch.clone() };
    tracing_subscriber::fmt::layer().json().event_format(format).with_writer(writer).and_then(KnowDispatch(dispatch))
}

/// Remembers the subscriber it is part of: the OpenTelemetry layer's span
/// contexts are read through it (inside a subscriber's callback,
/// `Span::current()` sees no subscriber).
struct KnowDispatch(Arc<OnceLock<tracing::dispatcher::WeakDispatch>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for KnowDispatch {
    fn on_register_dispatch(&self, subscriber: &tracing::Dispatch) {
        let _ = self.0.set(subscriber.downgrade());
    }
}

/// A JSON event format with the trace and span ids of the current span
/// added to each object.
struct WithTraceId<F> {
    inner: F,
    dispatch: Arc<OnceLock<tracing::dispatcher::WeakDispatch>>,
}

impl<S, N, F> tracing_subscriber::fmt::FormatEvent<S, N> for WithTraceId<F>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
    F: tracing_subscriber::fmt::FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        use opentelemetry::trace::TraceContextExt;
        let ids = ctx.lookup_current().map(|span| span.id()).and_then(|id| {
            let dispatch = self.dispatch.get()?.upgrade()?;
            let cx = tracing_opentelemetry::get_otel_context(&id, &dispatch)?;
            let sc = cx.span().span_context().clone();
            sc.is_valid().then(|| (sc.trace_id(), sc.span_id()))
        });
        let mut line = String::new();
        self.inner.format_event(ctx, tracing_subscriber::fmt::format::Writer::new(&mut line), event)?;
        match (line.strip_prefix('{'), ids) {
            (Some(rest), Some((trace, span))) => write!(writer, "{{\"trace_id\":\"{trace}\",\"span_id\":\"{span}\",{rest}"),
            _ => writer.write_str(&line),
        }
    }
}

fn tracer(o: &Otlp) -> anyhow::Result<opentelemetry_sdk::trace::Tracer> {
    use opentelemetry_otlp::WithExportConfig;
    if !matches!(o.protocol.as_str(), "grpc" | "http/protobuf") {
        anyhow::bail!("OTEL_EXPORTER_OTLP_PROTOCOL={:?}: use grpc or http/protobuf", o.protocol);
    }
    // The SDK exports from its own thread; the exporters need a Tokio
    // reactor there, so they get one of their own.
    let rt = Arc::new(tokio::runtime::Builder::new_multi_thread().worker_threads(1).thread_name("otlp-export").enable_all().build()?);
    let built = {
        let _inside = rt.enter();
        if o.protocol == "grpc" {
            opentelemetry_otlp::SpanExporter::builder().with_tonic().with_endpoint(&o.endpoint).build()
        } else {
            let endpoint = if o.endpoint.ends_with("/v1/traces") {
                o.endpoint.clone()
            } else {
                format!("{}/v1/traces", o.endpoint.trim_end_matches('/'))
            };
            opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                .with_endpoint(endpoint)
                .build()
        }
    };
    let exporter = match built {
        Ok(e) => e,
        Err(e) => {
            // A runtime must not be dropped where async code runs: let it go in the background.
            if let Ok(rt) = Arc::try_unwrap(rt) {
                rt.shutdown_background();
            }
            return Err(e.into());
        }
    };
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(OnRuntime { inner: exporter, rt })
        .with_resource(opentelemetry_sdk::Resource::builder().with_service_name(o.service_name.clone()).build())
        .build();
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let tracer = provider.tracer("ocomms");
    opentelemetry::global::set_tracer_provider(provider.clone());
    let _ = PROVIDER.set(provider);
    Ok(tracer)
}

/// Sends what is buffered (at shutdown, and in tests).
pub fn flush() {
    if let Some(p) = PROVIDER.get() {
        let _ = p.force_flush();
    }
}

/// An exporter driven on a runtime of its own.
#[derive(Debug)]
struct OnRuntime<E> {
    inner: E,
    rt: Arc<tokio::runtime::Runtime>,
}

impl<E: SpanExporter> SpanExporter for OnRuntime<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.rt.block_on(self.inner.export(batch))
    }

    fn shutdown_with_timeout(&self, timeout: std::time::Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.inner.set_resource(resource);
    }
}

/// Tracing for tests, only when `TEST_LOG` is set.
pub fn init_for_tests() {
    if std::env::var_os("TEST_LOG").is_some() {
        init();
    }
}

/// The `traceparent` of the current span ("" when there is none), for what
/// crosses a queue.
pub fn current_traceparent() -> Option<String> {
    let mut carrier = std::collections::HashMap::new();
    TraceContextPropagator::new().inject_context(&tracing::Span::current().context(), &mut carrier);
    carrier.remove("traceparent")
}

/// Makes `span` continue the trace of a `traceparent` taken off a queue.
pub fn continue_from(span: &tracing::Span, traceparent: Option<&str>) {
    if let Some(tp) = traceparent {
        let carrier: std::collections::HashMap<String, String> = [("traceparent".to_owned(), tp.to_owned())].into();
        let _ = span.set_parent(TraceContextPropagator::new().extract(&carrier));
    }
}

struct MetadataInjector<'a>(&'a mut tonic::metadata::MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(k), Ok(v)) = (tonic::metadata::MetadataKey::from_bytes(key.as_bytes()), value.parse()) {
            self.0.insert(k, v);
        }
    }
}

struct MetadataExtractor<'a>(&'a tonic::metadata::MetadataMap);

impl Extractor for MetadataExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0
            .keys()
            .filter_map(|k| match k {
                tonic::metadata::KeyRef::Ascii(k) => Some(k.as_str()),
                tonic::metadata::KeyRef::Binary(_) => None,
            })
            .collect()
    }
}

/// Puts the current span's trace context on an outgoing gRPC request.
pub fn inject(meta: &mut tonic::metadata::MetadataMap) {
    TraceContextPropagator::new().inject_context(&tracing::Span::current().context(), &mut MetadataInjector(meta));
}

/// The span a gRPC handler runs in (`name` is `<service>/<method>`, fixed
/// at compile time: nothing is formatted per call), continuing the caller's
/// trace.
pub fn server_span(name: &'static str, service: &'static str, method: &'static str, meta: &tonic::metadata::MetadataMap) -> tracing::Span {
    let span = tracing::info_span!("grpc", otel.name = name, rpc.service = service, rpc.method = method);
    let parent = TraceContextPropagator::new().extract(&MetadataExtractor(meta));
    let _ = span.set_parent(parent);
    span
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// Makes an HTTP request's span continue the caller's trace (`traceparent`).
pub fn http_parent(span: &tracing::Span, headers: &http::HeaderMap) {
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    let _ = span.set_parent(parent);
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::Mutex;

    use opentelemetry::trace::TraceContextExt;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A JSON log line written inside a traced span names that span's
    /// trace and span ids; one outside any span names none.
    #[test]
    fn json_log_lines_carry_the_trace_id_of_their_span() {
        let lines = Lines::default();
        let out = lines.clone();
        let provider = SdkTracerProvider::builder().build();
        // Boxed as `init_with` does (an `Option` would lose the dispatch).
        let boxed: Box<dyn tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync> =
            Box::new(json_layer(move || out.clone()));
        let subscriber =
            tracing_subscriber::registry().with(boxed).with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        let (trace_id, span_id) = tracing::subscriber::with_default(subscriber, || {
            tracing::info!("before any span");
            let span = tracing::info_span!("handling", route = "/api/x");
            let _in = span.enter();
            tracing::warn!(user = "u1", "inside");
            let cx = span.context();
            let sc = cx.span().span_context().clone();
            (sc.trace_id().to_string(), sc.span_id().to_string())
        });
        let text = String::from_utf8(lines.0.lock().expect("lines").clone()).expect("utf-8");
        let parsed: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect();
        assert_eq!(parsed.len(), 2, "{text}");
        assert!(parsed[0].get("trace_id").is_none(), "{text}");
        assert_eq!(parsed[1]["trace_id"], trace_id.as_str());
        assert_eq!(parsed[1]["span_id"], span_id.as_str());
        assert_eq!(parsed[1]["fields"]["message"], "inside");
        assert_eq!(parsed[1]["span"]["name"], "handling");
        assert_ne!(trace_id, "00000000000000000000000000000000");
    }
}
