//! Prometheus metrics of every part, recorded with the `metrics` crate into
//! one recorder per process:
//!
//! - `ocomms_grpc_requests_total{service,method,code}` and the
//!   `ocomms_grpc_request_duration_seconds` histogram (`grpc_service!`),
//!   `ocomms_grpc_refused_total{service}` (calls refused past
//!   `GRPC_MAX_IN_FLIGHT`);
//! - `ocomms_jobs_total{key,outcome}` (every consumer);
//! - `ocomms_outbox_backlog{source}`, `ocomms_outbox_oldest_seconds{source}`
//!   (jobs not yet relayed), `ocomms_jobs_dead{source}` (jobs that gave
//!   up, resting in that service's database: `ocomms jobs dead`) and `ocomms_db_pool_connections{source,state}`, sampled every
//!   15 s by each service's relay.
//!
//! The gateway's `/metrics` appends them (so `ocomms up` shows every part in
//! one place); a service run on its own serves them at `METRICS_ADDR`
//! (`<SERVICE>_METRICS_ADDR`), any path.

use std::net::SocketAddr;
use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

const BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

/// Installs the process's recorder once (later calls are no-ops).
pub fn install() {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(metrics_exporter_prometheus::Matcher::Suffix("duration_seconds".to_owned()), &BUCKETS)
            .ok()?;
        match builder.install_recorder() {
            Ok(h) => {
                // Histograms keep their samples until drained: drain them
                // even when nothing scrapes.
                if let Ok(rt) = tokio::runtime::Handle::try_current() {
                    let upkeep = h.clone();
                    rt.spawn(async move {
                        loop {
                            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                            upkeep.run_upkeep();
                        }
                    });
                }
                Some(h)
            }
            Err(e) => {
                tracing::warn!(error = %e, "metrics recorder not installed");
                None
            }
        }
    });
}

/// The metrics in the Prometheus text format ("" before [`install`]).
pub fn render() -> String {
    HANDLE.get().and_then(Option::as_ref).map(PrometheusHandle::render).unwrap_or_default()
}

/// Serves [`render`] over HTTP at `addr` (a service run on its own).
pub async fn serve(addr: SocketAddr) -> anyhow::Result<()> {
    install();
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "metrics listening");
    // At most 16 scrapes at once, each given 5 s: a slow or hostile client
    // cannot tie the service up.
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(16));
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "metrics: accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else { continue };
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let _slot = slot;
                let answer = async {
                    let mut buf = [0u8; 1024];
                    let _ = stream.read(&mut buf).await;
                    let body = render();
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes()).await;
                    let _ = stream.write_all(body.as_bytes()).await;
                };
                let _ = tokio::time::timeout(std::time::Duration::from_secs(5), answer).await;
            });
        }
    });
    Ok(())
}

/// A gRPC call's outcome.
pub fn grpc(service: &'static str, method: &'static str, code: tonic::Code, seconds: f64) {
    let code = code_label(code);
    metrics::counter!("ocomms_grpc_requests_total", "service" => service, "method" => method, "code" => code).increment(1);
    metrics::histogram!("ocomms_grpc_request_duration_seconds", "service" => service, "method" => method).record(seconds);
}

/// A call refused because the server had `GRPC_MAX_IN_FLIGHT` calls in
/// flight (`ocomms_grpc_refused_total{service}`).
pub fn overloaded(service: &'static str) {
    metrics::counter!("ocomms_grpc_refused_total", "service" => service).increment(1);
}

/// A status code's label, as its variant name, without formatting per call.
fn code_label(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "Ok",
        Cancelled => "Cancelled",
        Unknown => "Unknown",
        InvalidArgument => "InvalidArgument",
        DeadlineExceeded => "DeadlineExceeded",
        NotFound => "NotFound",
        AlreadyExists => "AlreadyExists",
        PermissionDenied => "PermissionDenied",
        ResourceExhausted => "ResourceExhausted",
        FailedPrecondition => "FailedPrecondition",
        Aborted => "Aborted",
        OutOfRange => "OutOfRange",
        Unimplemented => "Unimplemented",
        Internal => "Internal",
        Unavailable => "Unavailable",
        DataLoss => "DataLoss",
        Unauthenticated => "Unauthenticated",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn code_labels_are_the_variant_names() {
        for code in [tonic::Code::Ok, tonic::Code::NotFound, tonic::Code::Unauthenticated, tonic::Code::ResourceExhausted] {
            assert_eq!(super::code_label(code), format!("{code:?}"));
        }
    }
}
