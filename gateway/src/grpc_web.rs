//! gRPC-web on the gateway's port (api.md): a browser or any HTTP/1.1
//! client calls `POST /ocomms.<domain>.v1.<Service>/<Method>` with
//! `content-type: application/grpc-web+proto` (or `grpc-web-text`); the
//! call is translated to gRPC (tonic-web) and forwarded, metadata and all,
//! to the service that owns the package. Identity works as for direct gRPC:
//! the `authorization` header travels on.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service, ServiceExt};

use crate::AppState;
use crate::error::ApiError;

/// The service channel for a gRPC path, if it names an OComms service.
fn channel_for(s: &AppState, path: &str) -> Option<tonic::transport::Channel> {
    let service = path.trim_start_matches('/').split('/').next()?;
    let domain = service.strip_prefix("ocomms.")?.split('.').next()?;
    s.clients.health.iter().find(|(name, _)| *name == domain).map(|(_, ch)| ch.clone())
}

pub async fn handle(State(s): State<AppState>, req: Request) -> Response {
    let is_grpc_web = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/grpc-web"));
    let Some(channel) = channel_for(&s, req.uri().path()).filter(|_| is_grpc_web) else {
        return crate::routes::misc::not_found(req.method().clone(), req.uri().clone()).await.into_response();
    };
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

fn unavailable(e: impl std::fmt::Display) -> Response {
    tracing::warn!(error = %e, "grpc-web upstream failed");
    ApiError::new(ocomms_runtime::ErrorCode::Unavailable, "the service is unavailable, try again").into_response()
}
