//! The web client (`web/`, built into `WEB_DIR`), served at `/`.
//!
//! Hashed assets (`/assets/*`) are cached for a year; everything else
//! (`index.html`, the service worker, the manifest) is revalidated on every
//! load so a new release reaches browsers at once. Paths without a file
//! extension that match no file are the client's own routes
//! (`/invite/<token>`, `/w/<id>/c/<id>`): they get `index.html`. HTML carries
//! a strict Content-Security-Policy (no inline script or style) that reports
//! to `/api/csp-report`. Anything under `/api/` never reaches here: unknown
//! API paths answer the JSON 404.

use std::path::Path;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use crate::AppState;
use crate::routes::misc::{method_not_allowed, not_found};

/// The policy every HTML page of the client is served with.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
     media-src 'self' blob:; font-src 'self'; connect-src 'self'; worker-src 'self'; manifest-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; report-uri /api/csp-report";

pub async fn serve(State(s): State<AppState>, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    if path == "/api" || path.starts_with("/api/") {
        return not_found(req.method().clone(), req.uri().clone()).await.into_response();
    }
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return method_not_allowed(req.method().clone(), req.uri().clone()).await.into_response();
    }
    let dir = s.config.web_dir.as_path();
    let index = dir.join("index.html");
    if !index.is_file() {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!(
                "The web client is not built ({} has no index.html). Build it with `npm --prefix web ci && npm --prefix web run build`, \
                 or run `bash scripts/up.sh`, which does.\n",
                dir.display()
            ),
        )
            .into_response();
    }
    // Only plain relative segments: no `..`, no hidden files, no backslashes.
    let rel = path.trim_start_matches('/');
    let safe = rel.split('/').all(|seg| !seg.starts_with('.') && !seg.contains('\\'));
    let file = if rel.is_empty() || !safe { None } else { Some(dir.join(rel)).filter(|p| p.is_file()) };
    let is_asset = rel.starts_with("assets/");
    let target = match file {
        Some(f) => f,
        // A missing asset or file is a 404, not the app (a stale page must
        // not get HTML for its script).
        None if is_asset || has_extension(rel) || !safe => {
            return (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "not found\n").into_response();
        }
        None => index,
    };
    let html = target.extension().is_some_and(|e| e == "html");
    let mut res = match ServeFile::new(&target).oneshot(req).await {
        Ok(r) => r.map(Body::new),
        Err(e) => {
            tracing::warn!(error = %e, "serving the web client failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let cache = if is_asset && res.status().is_success() { "public, max-age=31536000, immutable" } else { "no-cache" };
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if html {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    res
}

fn has_extension(rel: &str) -> bool {
    Path::new(rel.rsplit('/').next().unwrap_or_default()).extension().is_some()
}

/// A path as it may be logged: the token of an invite link (`/invite/<token>`,
/// the client's own route) is a credential and stays out of logs.
/// The API's invite routes (`/api/invites/<token>/…`) likewise.
pub fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    if let Some(rest) = path.strip_prefix("/invite/")
        && !rest.is_empty()
    {
        return "/invite/…".into();
    }
    if let Some(rest) = path.strip_prefix("/api/invites/")
        && !rest.is_empty()
    {
        let tail = rest.split_once('/').map(|(_, t)| format!("/{t}")).unwrap_or_default();
        return format!("/api/invites/…{tail}").into();
    }
    path.into()
}
