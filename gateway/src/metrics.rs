//! Prometheus metrics of the gateway (`GET /metrics`, text format 0.0.4):
//! requests by route and status class, their latency sum, open sockets,
//! events delivered, sockets closed for lagging.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

#[derive(Default)]
pub struct Metrics {
    /// (method, route, status class) → (count, seconds)
    requests: Mutex<HashMap<(String, String, &'static str), (u64, f64)>>,
    pub events_delivered: AtomicU64,
    pub sockets_closed_lagging: AtomicU64,
    /// Content-Security-Policy violation reports received.
    pub csp_reports: AtomicU64,
}

fn class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// Counts every request under its route pattern (never its concrete path:
/// ids and tokens stay out of label values).
pub async fn track(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned()).unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().to_string();
    let started = Instant::now();
    let resp = next.run(req).await;
    let secs = started.elapsed().as_secs_f64();
    if let Ok(mut m) = s.metrics.requests.lock() {
        let e = m.entry((method, route, class(resp.status().as_u16()))).or_default();
        e.0 += 1;
        e.1 += secs;
    }
    resp
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

pub async fn render(State(s): State<AppState>) -> impl IntoResponse {
    let mut out = String::new();
    out.push_str(
        "# HELP ocomms_http_requests_total HTTP requests answered, by route and status class.\n# TYPE ocomms_http_requests_total counter\n",
    );
    let mut sums = String::from(
        "# HELP ocomms_http_request_seconds_sum Time spent answering, by route.\n# TYPE ocomms_http_request_seconds_sum counter\n",
    );
    if let Ok(m) = s.metrics.requests.lock() {
        let mut rows: Vec<_> = m.iter().collect();
        rows.sort_by(|a, b| a.0.cmp(b.0));
        for ((method, route, status), (n, secs)) in rows {
            let labels = format!("method=\"{}\",route=\"{}\",status=\"{status}\"", escape(method), escape(route));
            out.push_str(&format!("ocomms_http_requests_total{{{labels}}} {n}\n"));
            sums.push_str(&format!("ocomms_http_request_seconds_sum{{{labels}}} {secs:.6}\n"));
        }
    }
    out.push_str(&sums);
    out.push_str(&format!(
        "# HELP ocomms_ws_sockets WebSockets open on this gateway.\n# TYPE ocomms_ws_sockets gauge\nocomms_ws_sockets {}\n",
        s.hub.socket_count()
    ));
    out.push_str(&format!(
        "# HELP ocomms_csp_reports_total Content-Security-Policy violation reports received.\n# TYPE ocomms_csp_reports_total counter\nocomms_csp_reports_total {}\n",
        s.metrics.csp_reports.load(Ordering::Relaxed)
    ));
    out.push_str(&format!(
        "# HELP ocomms_events_delivered_total Event frames queued to sockets.\n# TYPE ocomms_events_delivered_total counter\nocomms_events_delivered_total {}\n",
        s.metrics.events_delivered.load(Ordering::Relaxed)
    ));
    out.push_str(&format!(
        "# HELP ocomms_ws_closed_lagging_total Sockets closed because they fell behind.\n# TYPE ocomms_ws_closed_lagging_total counter\nocomms_ws_closed_lagging_total {}\n",
        s.metrics.sockets_closed_lagging.load(Ordering::Relaxed)
    ));
    // Every part's own (gRPC calls, jobs, outboxes, pools), when they run
    // in this process (`ocomms up`).
    out.push_str(&ocomms_runtime::metrics::render());
    ([(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}
