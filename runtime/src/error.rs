//! The error every service answers with, and its one mapping to
//! `tonic::Status` (and back, for the gateway's JSON errors).
//!
//! The code set is the seed's (section 3.3) plus `CONFLICT`. The code and
//! optional JSON details travel as gRPC metadata (`x-ocomms-code`,
//! `x-ocomms-details`) beside the closest canonical gRPC code, so plain gRPC
//! clients see sensible statuses and the gateway keeps the exact code.
//! Internal causes are logged with their whole chain and never sent.

use serde_json::Value;
use tonic::{Code, Status};

pub const CODE_HEADER: &str = "x-ocomms-code";
pub const DETAILS_HEADER: &str = "x-ocomms-details";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Unauthorized,
    Forbidden,
    NotFound,
    Validation,
    Conflict,
    RateLimited,
    QuotaExceeded,
    FileTooLarge,
    InvalidFileType,
    AccountLocked,
    GuestLocked,
    Unavailable,
    Internal,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 13] = [
        Self::Unauthorized,
        Self::Forbidden,
        Self::NotFound,
        Self::Validation,
        Self::Conflict,
        Self::RateLimited,
        Self::QuotaExceeded,
        Self::FileTooLarge,
        Self::InvalidFileType,
        Self::AccountLocked,
        Self::GuestLocked,
        Self::Unavailable,
        Self::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthorized => "UNAUTHORIZED",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::Validation => "VALIDATION_ERROR",
            Self::Conflict => "CONFLICT",
            Self::RateLimited => "RATE_LIMIT_EXCEEDED",
            Self::QuotaExceeded => "QUOTA_EXCEEDED",
            Self::FileTooLarge => "FILE_TOO_LARGE",
            Self::InvalidFileType => "INVALID_FILE_TYPE",
            Self::AccountLocked => "ACCOUNT_LOCKED",
            Self::GuestLocked => "GUEST_LOCKED",
            Self::Unavailable => "SERVICE_UNAVAILABLE",
            Self::Internal => "INTERNAL_ERROR",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn http_status(self) -> u16 {
        match self {
            Self::Unauthorized => 401,
            Self::Forbidden | Self::GuestLocked => 403,
            Self::NotFound => 404,
            Self::Validation | Self::InvalidFileType => 400,
            Self::Conflict => 409,
            Self::RateLimited => 429,
            Self::QuotaExceeded | Self::FileTooLarge => 413,
            Self::AccountLocked => 423,
            Self::Unavailable => 503,
            Self::Internal => 500,
        }
    }

    pub fn grpc_code(self) -> Code {
        match self {
            Self::Unauthorized => Code::Unauthenticated,
            Self::Forbidden | Self::GuestLocked => Code::PermissionDenied,
            Self::NotFound => Code::NotFound,
            Self::Validation | Self::InvalidFileType => Code::InvalidArgument,
            Self::Conflict => Code::AlreadyExists,
            Self::RateLimited | Self::QuotaExceeded | Self::FileTooLarge => Code::ResourceExhausted,
            Self::AccountLocked => Code::FailedPrecondition,
            Self::Unavailable => Code::Unavailable,
            Self::Internal => Code::Internal,
        }
    }

    /// The code for a status that carries no `x-ocomms-code` (from a
    /// transport failure, or a peer that is not an OComms service).
    pub fn from_grpc(code: Code) -> Self {
        match code {
            Code::Unauthenticated => Self::Unauthorized,
            Code::PermissionDenied => Self::Forbidden,
            Code::NotFound => Self::NotFound,
            Code::InvalidArgument | Code::OutOfRange => Self::Validation,
            Code::AlreadyExists | Code::Aborted => Self::Conflict,
            Code::ResourceExhausted => Self::RateLimited,
            Code::FailedPrecondition => Self::Validation,
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => Self::Unavailable,
            _ => Self::Internal,
        }
    }
}

/// An error a service answers with: a code, a message for the client,
/// optional JSON details, and (for internal errors) a cause that is logged,
/// never sent.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ServiceError {
    pub code: ErrorCode,
    pub message: String,
    pub details: Option<Value>,
    #[source]
    pub cause: Option<anyhow::Error>,
}

pub type ServiceResult<T> = Result<T, ServiceError>;

impl ServiceError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), details: None, cause: None }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn unauthorized() -> Self {
        Self::new(ErrorCode::Unauthorized, "authentication required")
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    /// `what` names the resource kind ("channel"), never an internal detail.
    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    /// Invalid input; `field` is the camelCase name the client sent.
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::new(ErrorCode::Validation, format!("{field}: {message}"))
            .with_details(serde_json::json!({ "field": field, "reason": message }))
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        Self { code: ErrorCode::Internal, message: "internal error".into(), details: None, cause: Some(cause.into()) }
    }

    pub fn unavailable(cause: impl Into<anyhow::Error>) -> Self {
        Self {
            code: ErrorCode::Unavailable,
            message: "a dependency is unavailable, try again".into(),
            details: None,
            cause: Some(cause.into()),
        }
    }

    /// The server has as many calls in flight as it takes: refused at once
    /// (UNAVAILABLE, 503 with `Retry-After`), nothing done, rather than
    /// queued behind work it cannot finish in time.
    pub fn overloaded() -> Self {
        Self {
            code: ErrorCode::Unavailable,
            message: "the server is busy, try again".into(),
            details: Some(serde_json::json!({ "retryAfter": 1 })),
            cause: None,
        }
    }

    /// Rebuilds the error a peer service answered with, keeping its code,
    /// message and details (a caller that gets NOT_FOUND from svc-auth
    /// answers NOT_FOUND itself).
    pub fn from_status(status: &Status) -> Self {
        let code = status
            .metadata()
            .get(CODE_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(ErrorCode::parse)
            .unwrap_or_else(|| ErrorCode::from_grpc(status.code()));
        let details = status.metadata().get(DETAILS_HEADER).and_then(|v| v.to_str().ok()).and_then(|s| serde_json::from_str(s).ok());
        // A peer's internal failure stays hidden here too.
        let message = match code {
            ErrorCode::Internal => {
                tracing::warn!(code = ?status.code(), message = status.message(), "peer service failed");
                "internal error".to_owned()
            }
            ErrorCode::Unavailable => {
                tracing::warn!(code = ?status.code(), message = status.message(), "peer service unavailable");
                "a dependency is unavailable, try again".to_owned()
            }
            _ => status.message().to_owned(),
        };
        Self { code, message, details, cause: None }
    }
}

impl From<ServiceError> for Status {
    fn from(e: ServiceError) -> Self {
        if let Some(cause) = &e.cause {
            tracing::error!(code = e.code.as_str(), error = format!("{cause:#}"), "request failed");
        }
        let mut status = Status::new(e.code.grpc_code(), e.message);
        let meta = status.metadata_mut();
        if let Ok(v) = e.code.as_str().parse() {
            meta.insert(CODE_HEADER, v);
        }
        if let Some(details) = e.details {
            // JSON text is ASCII-safe once non-ASCII is escaped.
            let text = ascii_json(&details);
            if let Ok(v) = text.parse() {
                meta.insert(DETAILS_HEADER, v);
            }
        }
        status
    }
}

impl From<Status> for ServiceError {
    fn from(s: Status) -> Self {
        Self::from_status(&s)
    }
}

/// Whether a write failed on a unique constraint (the name, email or slug
/// is taken; or a concurrent request made the row first).
pub fn is_taken(e: &diesel::result::Error) -> bool {
    matches!(e, diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _))
}

/// A write that may hit a unique constraint answers 409 naming the field:
/// `channels::insert(..).await.or_taken("name", "a channel with this name
/// already exists")?`; any other error converts as usual.
pub trait OrTaken<T> {
    fn or_taken(self, field: &str, message: &str) -> ServiceResult<T>;
}

impl<T> OrTaken<T> for Result<T, diesel::result::Error> {
    fn or_taken(self, field: &str, message: &str) -> ServiceResult<T> {
        self.map_err(|e| {
            if is_taken(&e) { ServiceError::conflict(message).with_details(serde_json::json!({ "field": field })) } else { e.into() }
        })
    }
}

impl From<diesel::result::Error> for ServiceError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => Self::not_found("resource"),
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => Self::conflict("already exists"),
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => Self::unavailable(e),
            // PostgreSQL refuses NUL characters in text: the client's input,
            // and the statement (so its transaction) changed nothing.
            Error::DatabaseError(_, ref info) if info.message().contains("invalid byte sequence") || info.message().contains("0x00") => {
                Self::new(ErrorCode::Validation, "text must not contain NUL characters")
            }
            other => Self::internal(other),
        }
    }
}

/// No database connection could be had (the pool's wait ran out, or none
/// could be opened): nothing was done, so the caller is told when to retry.
impl From<diesel_async::pooled_connection::bb8::RunError> for ServiceError {
    fn from(e: diesel_async::pooled_connection::bb8::RunError) -> Self {
        Self::unavailable(e).with_details(serde_json::json!({ "retryAfter": 1 }))
    }
}

fn ascii_json(v: &Value) -> String {
    let text = v.to_string();
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if ch.is_ascii() && !ch.is_ascii_control() {
            out.push(ch);
        } else {
            let mut buf = [0u16; 2];
            for unit in ch.encode_utf16(&mut buf) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_and_details_survive_the_grpc_round_trip() {
        let e = ServiceError::validation("näme", "must not be empty");
        let status: Status = e.into();
        assert_eq!(status.code(), Code::InvalidArgument);
        let back = ServiceError::from_status(&status);
        assert_eq!(back.code, ErrorCode::Validation);
        assert_eq!(back.details.expect("details")["field"], "näme");
    }

    #[test]
    fn internal_causes_are_not_sent() {
        let status: Status = ServiceError::internal(anyhow::anyhow!("password=hunter2 in sql")).into();
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("hunter2"));
    }

    #[test]
    fn every_code_parses_back_and_has_a_status() {
        for c in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(c.as_str()), Some(c));
            assert!((400..600).contains(&c.http_status()));
        }
    }
}
