//! Health, storage, notifications, and the fallbacks.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::IntoResponse;
use ocomms_runtime::ErrorCode;
use serde_json::{Value, json};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::AppState;
use crate::error::{ApiError, ApiResult};

/// `GET /api/health` (seed): every service's gRPC health, 503 when any is
/// not serving.
pub async fn health(State(s): State<AppState>) -> impl IntoResponse {
    let checks = s.clients.health.iter().map(|(name, channel)| {
        let mut client = tonic_health::pb::health_client::HealthClient::new(channel.clone());
        async move {
            let res = tokio::time::timeout(Duration::from_secs(2), client.check(HealthCheckRequest { service: String::new() })).await;
            let status = match res {
                Ok(Ok(r)) if r.get_ref().status == ServingStatus::Serving as i32 => "ok",
                Ok(Ok(_)) => "not_serving",
                Ok(Err(_)) | Err(_) => "unreachable",
            };
            (*name, status)
        }
    });
    let results = futures_util::future::join_all(checks).await;
    let healthy = results.iter().all(|(_, st)| *st == "ok");
    let services: serde_json::Map<String, Value> = results.into_iter().map(|(n, st)| (n.to_owned(), json!(st))).collect();
    let mut gateway = serde_json::Map::new();
    gateway.insert("sockets".into(), json!(s.hub.socket_count()));
    let body = json!({
        "status": if healthy { "ok" } else { "degraded" },
        "services": services,
        "gateway": gateway,
    });
    (if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, Json(body))
}

pub async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::new(ErrorCode::NotFound, format!("no route for {method} {}", uri.path()))
}

pub async fn method_not_allowed(method: Method, uri: Uri) -> impl IntoResponse {
    let message = format!("method {method} is not allowed on {}", uri.path());
    (StatusCode::METHOD_NOT_ALLOWED, Json(json!({ "error": { "code": "METHOD_NOT_ALLOWED", "message": message } })))
}

/// Largest CSP report accepted.
pub const MAX_CSP_REPORT: usize = 16 * 1024;

/// `POST /api/csp-report` (seed 3.1): a browser's report of a
/// Content-Security-Policy violation, in the old (`application/csp-report`)
/// or the Reporting API's (`application/reports+json`) shape. Counted,
/// logged without query strings (they may carry tokens), answered 204.
pub async fn csp_report(State(s): State<AppState>, req: axum::extract::Request) -> ApiResult<StatusCode> {
    let (parts, body) = req.into_parts();
    let headers = parts.headers;
    let media = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
        .unwrap_or_default();
    if !matches!(media.as_str(), "application/csp-report" | "application/reports+json" | "application/json") {
        return Err(ApiError::new(ErrorCode::Validation, "content-type must be application/csp-report or application/reports+json"));
    }
    // Read no more than the limit (never the whole of a large body).
    let body = axum::body::to_bytes(body, MAX_CSP_REPORT)
        .await
        .map_err(|_| ApiError::new(ErrorCode::Validation, format!("a report is at most {MAX_CSP_REPORT} bytes")))?;
    let report: Value = serde_json::from_slice(&body).map_err(|_| ApiError::new(ErrorCode::Validation, "the report is not JSON"))?;
    // Old shape: {"csp-report":{…}}; Reporting API: [{"type":"csp-violation","body":{…}}, …].
    let bodies: Vec<&Value> = match &report {
        Value::Object(o) if o.get("csp-report").is_some_and(Value::is_object) => vec![&o["csp-report"]],
        Value::Array(a) => {
            a.iter().filter(|r| r["type"] == "csp-violation" && r["body"].is_object()).map(|r| &r["body"]).take(20).collect()
        }
        _ => Vec::new(),
    };
    if bodies.is_empty() {
        return Err(ApiError::new(ErrorCode::Validation, "not a CSP report"));
    }
    let field = |b: &Value, old: &str, new: &str| -> String {
        let v = b.get(old).or_else(|| b.get(new)).and_then(Value::as_str).unwrap_or_default();
        // Without query string or fragment (they may carry tokens), nor an
        // invite link's token, nor control characters; short.
        let v = v.split(['?', '#']).next().unwrap_or_default();
        let v = match v.find("/invite/") {
            Some(i) => format!("{}/invite/…", &v[..i]),
            None => v.to_owned(),
        };
        v.chars().filter(|c| !c.is_control()).take(200).collect()
    };
    for b in bodies {
        s.metrics.csp_reports.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::warn!(
            document = %field(b, "document-uri", "documentURL"),
            directive = %field(b, "violated-directive", "effectiveDirective"),
            blocked = %field(b, "blocked-uri", "blockedURL"),
            "content security policy violation reported"
        );
    }
    Ok(StatusCode::NO_CONTENT)
}
