//! The seed's JSON error shape (section 3.3):
//! `{"error":{"code":"…","message":"…","details":{…}}}`, with its HTTP
//! statuses. Every failure the gateway answers goes through [`ApiError`]:
//! service statuses, bad JSON, bad query strings, unknown routes.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ocomms_runtime::{ErrorCode, ServiceError};
use serde_json::{Value, json};

#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub details: Option<Value>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), details: None }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Validation, message)
    }

    pub fn unauthorized() -> Self {
        Self::new(ErrorCode::Unauthorized, "authentication required")
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        if let Some(cause) = &e.cause {
            tracing::error!(error = format!("{cause:#}"), "request failed");
        }
        Self { code: e.code, message: e.message, details: e.details }
    }
}

impl From<tonic::Status> for ApiError {
    fn from(s: tonic::Status) -> Self {
        ServiceError::from_status(&s).into()
    }
}

/// The same error as a gRPC status (`x-ocomms-code`, `x-ocomms-details`),
/// for the calls the gateway answers over gRPC-web itself.
impl From<ApiError> for tonic::Status {
    fn from(e: ApiError) -> Self {
        let mut error = ServiceError::new(e.code, e.message);
        if let Some(d) = e.details {
            error = error.with_details(d);
        }
        error.into()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::MissingJsonContentType(_) => Self::validation("expected a JSON body (Content-Type: application/json)"),
            other => Self::validation(format!("invalid JSON body: {}", other.body_text())),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        Self::validation(format!("invalid query string: {}", r.body_text()))
    }
}

impl From<PathRejection> for ApiError {
    fn from(_: PathRejection) -> Self {
        Self::not_found("resource")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut error = json!({ "code": self.code.as_str(), "message": self.message });
        if let Some(d) = &self.details {
            error["details"] = d.clone();
        }
        let retry_after = self.details.as_ref().and_then(|d| d.get("retryAfter")).and_then(Value::as_u64);
        let mut resp = (status, Json(json!({ "error": error }))).into_response();
        if let Some(secs) = retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

/// The error body as a JSON value (for WebSocket acks).
pub fn error_json(code: ErrorCode, message: &str) -> Value {
    json!({ "code": code.as_str(), "message": message })
}
