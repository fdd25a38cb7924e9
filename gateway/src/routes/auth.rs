//! `/api/auth/*` (seed 3.1): sign-up, sign-in, sign-out, session.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use ocomms_proto::auth::v1 as pb;
use serde_json::json;

use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{ApiJson, COOKIE_NAME, Caller, ClientInfo};

const COOKIE_MAX_AGE: i64 = 30 * 24 * 3600;

fn session_cookie(s: &AppState, token: &str, max_age: i64) -> Option<HeaderValue> {
    let secure = if s.config.cookie_secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{COOKIE_NAME}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")).ok()
}

fn with_cookie(s: &AppState, auth: pb::AuthResponse) -> Response {
    let cookie = session_cookie(s, &auth.token, COOKIE_MAX_AGE);
    let mut resp = Json(auth).into_response();
    if let Some(c) = cookie {
        resp.headers_mut().insert(header::SET_COOKIE, c);
    }
    resp
}

/// A request to svc-auth whose `ipAddress` and `userAgent` the gateway
/// filled from the connection ([`ClientInfo`]). It carries the service
/// credential, naming no user: svc-auth believes those fields only from a
/// caller that has it, and otherwise records the gRPC peer's address. (Calls
/// a client makes through gRPC-web are never sent with it, see `grpc_web`.)
fn vouched<T>(s: &AppState, message: T) -> tonic::Request<T> {
    ocomms_runtime::identity::service_call(&s.config.service_token, message)
}

/// Sign-up from `client`, whatever address or agent the body names (REST and gRPC-web).
pub async fn sign_up_from(s: &AppState, client: ClientInfo, mut body: pb::SignUpRequest) -> ApiResult<pb::AuthResponse> {
    body.ip_address = client.ip;
    body.user_agent = client.user_agent;
    Ok(s.clients.auth.clone().sign_up(vouched(s, body)).await?.into_inner())
}

/// Sign-in from `client` (REST and gRPC-web).
pub async fn sign_in_from(s: &AppState, client: ClientInfo, mut body: pb::SignInRequest) -> ApiResult<pb::AuthResponse> {
    body.ip_address = client.ip;
    body.user_agent = client.user_agent;
    Ok(s.clients.auth.clone().sign_in(vouched(s, body)).await?.into_inner())
}

/// A password reset asked for from `client` (REST and gRPC-web).
pub async fn forget_password_from(
    s: &AppState,
    client: ClientInfo,
    mut body: pb::ForgetPasswordRequest,
) -> ApiResult<pb::ForgetPasswordResponse> {
    body.ip_address = client.ip;
    body.user_agent = client.user_agent;
    Ok(s.clients.auth.clone().forget_password(vouched(s, body)).await?.into_inner())
}

pub async fn sign_up(State(s): State<AppState>, client: ClientInfo, ApiJson(body): ApiJson<pb::SignUpRequest>) -> ApiResult<Response> {
    let auth = sign_up_from(&s, client, body).await?;
    Ok(with_cookie(&s, auth))
}

pub async fn sign_in(State(s): State<AppState>, client: ClientInfo, ApiJson(body): ApiJson<pb::SignInRequest>) -> ApiResult<Response> {
    let auth = sign_in_from(&s, client, body).await?;
    Ok(with_cookie(&s, auth))
}

pub async fn sign_out(State(s): State<AppState>, caller: Caller) -> ApiResult<Response> {
    s.clients.auth.clone().sign_out(caller.req(pb::SignOutRequest {})).await?;
    let mut resp = Json(json!({ "success": true })).into_response();
    if let Some(c) = session_cookie(&s, "", 0) {
        resp.headers_mut().insert(header::SET_COOKIE, c);
    }
    Ok(resp)
}

pub async fn forget_password(
    State(s): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<pb::ForgetPasswordRequest>,
) -> ApiResult<Json<serde_json::Value>> {
    forget_password_from(&s, client, body).await?;
    Ok(Json(json!({ "success": true })))
}

/// A password reset from `client` (REST and gRPC-web).
pub async fn reset_password_from(
    s: &AppState,
    client: ClientInfo,
    mut body: pb::ResetPasswordRequest,
) -> ApiResult<pb::ResetPasswordResponse> {
    body.ip_address = client.ip;
    body.user_agent = client.user_agent;
    Ok(s.clients.auth.clone().reset_password(vouched(s, body)).await?.into_inner())
}

pub async fn reset_password(
    State(s): State<AppState>,
    client: ClientInfo,
    ApiJson(body): ApiJson<pb::ResetPasswordRequest>,
) -> ApiResult<Json<serde_json::Value>> {
    reset_password_from(&s, client, body).await?;
    Ok(Json(json!({ "success": true })))
}
