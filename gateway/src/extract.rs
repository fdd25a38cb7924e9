//! Request extractors whose failures answer in the seed's error shape, and
//! the caller's credentials.

use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

pub const COOKIE_NAME: &str = "ocomms_session";

/// A JSON body; a missing or malformed one is a 400 VALIDATION_ERROR.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let axum::Json(mut v) = axum::Json::<serde_json::Value>::from_request(req, state).await?;
        whole_numbers(&mut v);
        serde_json::from_value(v).map(Self).map_err(|e| ApiError::validation(format!("invalid JSON body: {e}")))
    }
}

/// JSON numbers written with a fraction of zero (`531.0`) as the integers
/// they are: JSON and JSON Schema make no difference, serde would refuse
/// them for an integer field.
pub fn whole_numbers(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
            {
                // Beyond ±2^63 (and u64) a float stays a float, and an
                // integer field refuses it.
                if (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) {
                    *v = Value::from(f as i64);
                } else if (0.0..1.844_674_407_370_955_2e19).contains(&f) {
                    *v = Value::from(f as u64);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers),
        Value::Object(fields) => fields.values_mut().for_each(whole_numbers),
        _ => {}
    }
}

/// A query string; a malformed one is a 400 VALIDATION_ERROR.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(v) = Query::<T>::from_request_parts(parts, state).await?;
        Ok(Self(v))
    }
}

/// The session token in a request: `Authorization: Bearer`, else the
/// `ocomms_session` cookie.
pub fn token_from_headers(headers: &HeaderMap) -> Option<String> {
    bearer_from_headers(headers).or_else(|| cookie_from_headers(headers))
}

/// The `Authorization: Bearer` token, if any: a credential the client
/// presents on purpose (never sent by a browser on its own).
pub fn bearer_from_headers(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    ocomms_runtime::identity::parse_bearer(v).map(str::to_owned)
}

/// The `ocomms_session` cookie, if any: an ambient credential, which a
/// browser also attaches to requests other sites' pages make.
pub fn cookie_from_headers(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, v)| *k == COOKIE_NAME && !v.is_empty())
        .map(|(_, v)| v.to_owned())
}

/// An authenticated caller's token (checked by the services it reaches).
/// Requests without one answer 401 at once.
pub struct Caller {
    pub token: String,
}

impl Caller {
    /// A gRPC request carrying the caller's token.
    pub fn req<T>(&self, message: T) -> tonic::Request<T> {
        ocomms_runtime::identity::bearer_request(&self.token, message)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        token_from_headers(&parts.headers).map(|token| Caller { token }).ok_or_else(ApiError::unauthorized)
    }
}

/// The caller's address and user agent, recorded on sessions and in the
/// audit log: the connection's peer (or the trusted proxy's
/// `X-Forwarded-For`, see [`crate::client_ip`]) and the request's
/// `User-Agent`, never a value from a body or other metadata.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl ClientInfo {
    pub fn of(config: &crate::Config, parts: &Parts) -> Self {
        Self {
            ip: Some(crate::client_ip(config, parts)),
            user_agent: parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned),
        }
    }
}

impl FromRequestParts<crate::AppState> for ClientInfo {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &crate::AppState) -> Result<Self, ApiError> {
        Ok(Self::of(&state.config, parts))
    }
}

/// A path id that is not a UUID names nothing: 404.
pub fn path_id(raw: &str, what: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(raw).map(|u| u.to_string()).map_err(|_| ApiError::not_found(what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_tokens_in_header_then_cookie() {
        let mut h = HeaderMap::new();
        assert_eq!(token_from_headers(&h), None);
        h.insert(header::COOKIE, "a=1; ocomms_session=cookietok; b=2".parse().expect("ascii"));
        assert_eq!(token_from_headers(&h).as_deref(), Some("cookietok"));
        assert_eq!(bearer_from_headers(&h), None);
        h.insert(header::AUTHORIZATION, "Bearer beartok".parse().expect("ascii"));
        assert_eq!(token_from_headers(&h).as_deref(), Some("beartok"));
        assert_eq!(cookie_from_headers(&h).as_deref(), Some("cookietok"));
    }
}
