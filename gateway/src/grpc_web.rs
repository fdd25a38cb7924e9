//! gRPC-web on the gateway's port (api.md): a browser or any HTTP/1.1
//! client calls `POST /ocomms.<domain>.v1.<Service>/<Method>` with
//! `content-type: application/grpc-web+proto` (or `grpc-web-text`); the
//! call is translated to gRPC (tonic-web) and forwarded to the service that
//! owns the package. Identity works as for direct gRPC: the `authorization`
//! header travels on; a browser's call may use the session cookie instead,
//! from an allowed origin only ([`cookie_as_bearer`]).
//!
//! The edge rules are those of REST:
//! - rate limits: the middleware in `lib.rs` puts each call in the bucket of
//!   its REST route (`ratelimit::Bucket::of`); a refused call answers
//!   RESOURCE_EXHAUSTED with `x-ocomms-code: RATE_LIMIT_EXCEEDED` ([`refuse`]);
//! - the client's address and user agent: `AuthService/SignUp`, `SignIn`,
//!   `ForgetPassword` and `ResetPassword` record them (sessions, audit log),
//!   so the gateway answers these four itself, through the same code as their REST routes:
//!   it decodes the request, fills `ipAddress` and `userAgent` from the
//!   connection (whatever the client put there) and calls svc-auth with the
//!   service credential, which is what makes svc-auth believe those fields;
//! - every other call is forwarded as the client sent it, less the metadata
//!   a client may not hand a service: addresses it claims for itself
//!   (`x-forwarded-for`, `x-real-ip`, …) and the internal `x-ocomms-*`
//!   namespace (the service credential, a user named on its behalf). A
//!   forwarded call never carries the service credential.

use std::convert::Infallible;
use std::future::Future;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName};
use axum::response::{IntoResponse, Response};
use ocomms_proto::auth::v1 as pb;
use tower::{Layer, Service, ServiceExt};

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::ClientInfo;
use crate::routes::auth;

pub const SIGN_UP: &str = "/ocomms.auth.v1.AuthService/SignUp";
pub const SIGN_IN: &str = "/ocomms.auth.v1.AuthService/SignIn";
pub const FORGET_PASSWORD: &str = "/ocomms.auth.v1.AuthService/ForgetPassword";
pub const RESET_PASSWORD: &str = "/ocomms.auth.v1.AuthService/ResetPassword";

/// Headers through which a client could claim an address (or a route) of
/// its own choosing.
const ADDRESS_CLAIMS: [&str; 12] = [
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-original-forwarded-for",
    "x-real-ip",
    "x-client-ip",
    "x-cluster-client-ip",
    "true-client-ip",
    "cf-connecting-ip",
    "fastly-client-ip",
    "x-ocomms-client-addr",
];

/// Whether a request speaks gRPC or gRPC-web (any of their content types).
pub fn is_grpc(headers: &HeaderMap) -> bool {
    headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| ct.starts_with("application/grpc"))
}

/// Whether a request speaks gRPC-web (any of its content types).
pub fn is_grpc_web(headers: &HeaderMap) -> bool {
    headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| ct.starts_with("application/grpc-web"))
}

/// The service channel for a gRPC path, if it names an OComms service.
fn channel_for(s: &AppState, path: &str) -> Option<tonic::transport::Channel> {
    let service = path.trim_start_matches('/').split('/').next()?;
    let domain = service.strip_prefix("ocomms.")?.split('.').next()?;
    s.clients.health.iter().find(|(name, _)| *name == domain).map(|(_, ch)| ch.clone())
}

pub async fn handle(State(s): State<AppState>, mut req: Request) -> Response {
    if is_grpc(req.headers()) {
        cookie_as_bearer(&s.config, req.headers_mut());
    }
    // The gateway's own service, over gRPC (HTTP/2) or gRPC-web.
    if is_grpc(req.headers()) && req.uri().path().starts_with(crate::events::PATH_PREFIX) {
        return crate::events::serve(s, req).await;
    }
    if !is_grpc_web(req.headers()) {
        // Two-segment paths are also the web client's (`/assets/x.js`, `/invite/<token>`).
        return crate::web::serve(State(s), req).await;
    }
    let (parts, body) = req.into_parts();
    let client = ClientInfo::of(&s.config, &parts);
    let req = Request::from_parts(parts, body);
    let path = req.uri().path().to_owned();
    match path.as_str() {
        SIGN_UP => return answer(req, move |body: pb::SignUpRequest| async move { auth::sign_up_from(&s, client, body).await }).await,
        SIGN_IN => return answer(req, move |body: pb::SignInRequest| async move { auth::sign_in_from(&s, client, body).await }).await,
        FORGET_PASSWORD => {
            return answer(req, move |body: pb::ForgetPasswordRequest| async move { auth::forget_password_from(&s, client, body).await })
                .await;
        }
        RESET_PASSWORD => {
            return answer(req, move |body: pb::ResetPasswordRequest| async move { auth::reset_password_from(&s, client, body).await })
                .await;
        }
        _ => {}
    }
    let Some(channel) = channel_for(&s, &path) else {
        return crate::routes::misc::not_found(req.method().clone(), req.uri().clone()).await.into_response();
    };
    let mut req = req;
    strip_client_claims(req.headers_mut());
    let mut svc = tonic_web::GrpcWebLayer::new().layer(channel);
    let ready = match ServiceExt::<Request>::ready(&mut svc).await {
        Ok(s) => s,
        Err(e) => return unavailable(e),
    };
    match ready.call(req).await {
        Ok(resp) => resp.map(Body::new),
        Err(e) => unavailable(e),
    }
}

/// A browser's call (the web client's event stream, or any other method)
/// authenticates with the session cookie, as its WebSocket does: the cookie
/// becomes the call's bearer token only when the call names no token itself
/// and its `Origin` is one the WebSocket accepts (`ws::origin_allowed`: the
/// gateway's own, or one of `ALLOWED_ORIGINS`; the gateway answers no CORS
/// preflight, so in practice a page of its own origin). A form or a
/// `no-cors` fetch cannot send a gRPC content type. Otherwise the cookie is
/// ignored and the call is unauthenticated.
fn cookie_as_bearer(config: &crate::Config, headers: &mut HeaderMap) {
    if headers.contains_key(http::header::AUTHORIZATION) || !crate::ws::origin_allowed(config, headers) {
        return;
    }
    let Some(token) = crate::extract::cookie_from_headers(headers) else { return };
    if let Ok(value) = http::HeaderValue::from_str(&format!("Bearer {token}")) {
        headers.insert(http::header::AUTHORIZATION, value);
    }
}

/// Removes what a client may not tell a service about itself.
fn strip_client_claims(headers: &mut HeaderMap) {
    for name in ADDRESS_CLAIMS {
        headers.remove(name);
    }
    let internal: Vec<HeaderName> = headers.keys().filter(|k| k.as_str().starts_with("x-ocomms-")).cloned().collect();
    for name in internal {
        headers.remove(name);
    }
}

/// Answers a gRPC-web unary call with `call`, run here in the gateway
/// (tonic-web and tonic's server codec do the framing).
async fn answer<Req, Resp, F, Fut>(req: Request, call: F) -> Response
where
    Req: Send + 'static,
    Resp: Send + 'static,
    tonic_prost::ProstCodec<Resp, Req>: tonic::codec::Codec<Encode = Resp, Decode = Req>,
    F: FnOnce(Req) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ApiResult<Resp>> + Send + 'static,
{
    let svc = tower::service_fn(move |r: http::Request<tonic::body::Body>| {
        let call = call.clone();
        async move {
            let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::<Resp, Req>::default());
            Ok::<_, Infallible>(grpc.unary(Unary(call), r).await)
        }
    });
    match tonic_web::GrpcWebLayer::new().layer(svc).oneshot(req).await {
        Ok(resp) => resp.map(Body::new),
        Err(never) => match never {},
    }
}

/// One unary call answered by a closure.
struct Unary<F>(F);

impl<Req, Resp, F, Fut> tonic::server::UnaryService<Req> for Unary<F>
where
    F: FnOnce(Req) -> Fut + Clone,
    Fut: Future<Output = ApiResult<Resp>> + Send + 'static,
{
    type Response = Resp;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<tonic::Response<Resp>, tonic::Status>> + Send>>;

    fn call(&mut self, request: tonic::Request<Req>) -> Self::Future {
        let answer = (self.0.clone())(request.into_inner());
        Box::pin(async move { answer.await.map(tonic::Response::new).map_err(tonic::Status::from) })
    }
}

/// A gRPC-web answer carrying only `error` as a status (trailers-only:
/// `grpc-status`, `grpc-message`, `x-ocomms-code`, `x-ocomms-details` in the
/// headers), in the encoding the client asked for.
pub async fn refuse(req: Request, error: ApiError) -> Response {
    let retry_after = error.details.as_ref().and_then(|d| d.get("retryAfter")).and_then(serde_json::Value::as_u64);
    let status = tonic::Status::from(error);
    let svc = tower::service_fn(move |_: http::Request<tonic::body::Body>| {
        let status = status.clone();
        async move { Ok::<_, Infallible>(status.into_http::<tonic::body::Body>()) }
    });
    let mut resp = match tonic_web::GrpcWebLayer::new().layer(svc).oneshot(req).await {
        Ok(resp) => resp.map(Body::new),
        Err(never) => match never {},
    };
    if let Some(secs) = retry_after {
        resp.headers_mut().insert(http::header::RETRY_AFTER, secs.into());
    }
    resp
}

fn unavailable(e: impl std::fmt::Display) -> Response {
    tracing::warn!(error = %e, "grpc-web upstream failed");
    ApiError::new(ocomms_runtime::ErrorCode::Unavailable, "the service is unavailable, try again").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_claims_and_internal_metadata_are_stripped() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("x-forwarded-for", "6.6.6.6"),
            ("x-real-ip", "6.6.6.6"),
            ("forwarded", "for=6.6.6.6"),
            ("x-ocomms-client-addr", "6.6.6.6"),
            ("x-ocomms-service-token", "guess"),
            ("x-ocomms-user-id", "someone"),
            ("authorization", "Bearer t"),
            ("user-agent", "ua"),
        ] {
            h.insert(HeaderName::from_static(k), v.parse().expect("ascii"));
        }
        strip_client_claims(&mut h);
        let mut left: Vec<&str> = h.keys().map(HeaderName::as_str).collect();
        left.sort_unstable();
        assert_eq!(left, ["authorization", "user-agent"]);
    }
}
