//! Every route the gateway serves. Most are declared in the protos
//! (`google.api.http` on an RPC) and served by the generic forwarder
//! (`crate::rest`); `custom` lists the declared routes the gateway answers
//! with handlers of its own, and `described` the few routes that are no
//! RPC, with what the OpenAPI document says of them.

pub mod auth;
pub mod export;
pub mod files;
pub mod misc;
pub mod notes;
pub mod workspaces;

use std::collections::HashMap;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{MethodRouter, get, post};
use ocomms_proto::rest as spec;

use crate::AppState;
use crate::rest::{Forward, method_router};

/// The RPCs declared as REST routes in the protos, read from their options.
pub fn declared() -> Vec<spec::Route> {
    spec::routes(ocomms_proto::descriptor_pool()).unwrap_or_else(|e| panic!("build.rs checked the annotations: {e}"))
}

type MakeForward = fn(&str, Forward) -> MethodRouter<AppState>;

macro_rules! forwarders {
    ($( ($client:ident, $method:ident, $req:ty, $resp:ty, $grpc:literal), )*) => {
        /// The typed forwarder of every declared route not `custom`, by gRPC path.
        fn forwarders() -> HashMap<&'static str, MakeForward> {
            HashMap::from([$(
                ($grpc, (|verb: &str, forward: Forward| {
                    method_router::<$req, $resp>(verb, forward, |clients, req| Box::pin(async move { clients.$client.clone().$method(req).await }))
                }) as MakeForward),
            )*])
        }
    };
}
ocomms_proto::http_routes!(forwarders);

/// Declared routes (`custom: true` in their proto) answered by handlers of
/// the gateway's own: the HTTP side differs in kind (cookies, the
/// connection's address, links the gateway adds).
pub fn custom() -> Vec<(&'static str, &'static str, MethodRouter<AppState>)> {
    vec![
        ("post", "/api/auth/sign-up/email", post(auth::sign_up)),
        ("post", "/api/auth/sign-in/email", post(auth::sign_in)),
        ("post", "/api/auth/sign-out", post(auth::sign_out)),
        ("post", "/api/auth/forget-password", post(auth::forget_password)),
        ("post", "/api/auth/reset-password", post(auth::reset_password)),
        ("post", "/api/workspaces/{workspaceId}/invites", post(workspaces::create_invite)),
        ("post", "/api/workspaces/{workspaceId}/guest-invites", post(workspaces::create_guest_invite)),
        // The place may come from the query string (the seed's form) or the body.
        ("post", "/api/notes/personal", post(notes::save_personal_note)),
        ("post", "/api/notes/channel", post(notes::save_channel_note)),
    ]
}

/// A route that is no RPC, and what the document says of it.
pub struct Described {
    pub method: &'static str,
    /// axum syntax: `/api/files/{fileId}`.
    pub path: &'static str,
    pub summary: &'static str,
    pub tag: &'static str,
    /// Whether a session is required.
    pub auth: bool,
    /// The request body schema (a name in `components.schemas`, or
    /// `multipart:<name>`), if any.
    pub body: Option<&'static str>,
    /// Success status and the response schema (a proto message's name, or
    /// one of `openapi::written_schemas`).
    pub ok: (u16, &'static str),
    /// Query parameters: (name, JSON type, description).
    pub query: &'static [(&'static str, &'static str, &'static str)],
    /// Why it can answer 409, if it can.
    pub conflict: &'static str,
    pub handler: fn() -> MethodRouter<AppState>,
}

macro_rules! route {
    ($m:literal $p:literal, $tag:literal, $summary:literal, auth: $auth:expr, body: $body:expr, ok: ($st:literal, $schema:literal), query: $q:expr, $h:expr) => {
        Described {
            method: $m,
            path: $p,
            summary: $summary,
            tag: $tag,
            auth: $auth,
            body: $body,
            ok: ($st, $schema),
            query: $q,
            conflict: "",
            handler: || $h,
        }
    };
}

pub fn described() -> Vec<Described> {
    let mut routes = vec![
        route!("post" "/api/admin/export", "admin", "GDPR export of a member's data in a workspace (the member themselves, or an owner; other members 403, outsiders 404): account, profile and status, the messages they wrote, files they uploaded with download URLs, notification settings, notes, reminders and scheduled messages, as one JSON document streamed as an attachment", auth: true, body: Some("ExportRequest"), ok: (200, "Export"), query: &[], post(export::export)),
        route!("post" "/api/workspaces/{workspaceId}/join", "workspaces", "Join an open workspace (200, the membership), or ask to join one that takes requests (202, {request})", auth: true, body: None, ok: (200, "Member"), query: &[], post(workspaces::join)),
        route!("post" "/api/upload/attachment", "files", "Upload a file to attach to a message (multipart `file`): 25 MB of JPEG, PNG, GIF, WebP or PDF, told by its bytes (400 INVALID_FILE_TYPE otherwise; 413 FILE_TOO_LARGE; 413 QUOTA_EXCEEDED). Send its id in attachmentIds; unattached uploads are removed after 7 days", auth: true, body: Some("multipart:UploadAttachment"), ok: (200, "File"), query: &[], post(files::upload_attachment).layer(DefaultBodyLimit::max(files::MAX_UPLOAD_BODY))),
        route!("post" "/api/upload/avatar", "files", "Upload an avatar (multipart: optional `workspaceId` first, then `file`): 5 MB of JPEG, PNG or WebP, re-encoded (EXIF dropped); that workspace's profile, or every profile, points at it", auth: true, body: Some("multipart:UploadAvatar"), ok: (200, "File"), query: &[], post(files::upload_avatar).layer(DefaultBodyLimit::max(files::MAX_UPLOAD_BODY))),
        route!("post" "/api/upload/emoji", "files", "Add a custom emoji (admins; multipart: `workspaceId` and `name` first, then `file`): 256 KB of PNG or GIF; names unique per workspace (409)", auth: true, body: Some("multipart:UploadEmoji"), ok: (201, "Emoji"), query: &[], post(files::upload_emoji).layer(DefaultBodyLimit::max(files::MAX_UPLOAD_BODY))),
        route!("get" "/api/files/{fileId}", "files", "Download a file: its uploader, anyone who can see the message it is attached to (not after the message is deleted), members of an avatar's or emoji's workspace; 404 for everyone else. Range requests (206, 416); nosniff; images inline, everything else as an attachment", auth: true, body: None, ok: (200, "Binary"), query: &[], get(files::download)),
        route!("get" "/api/files/{fileId}/thumbnail", "files", "An image attachment's thumbnail (at most 400 px; the image itself until it is made), same access as the file", auth: true, body: None, ok: (200, "Binary"), query: &[], get(files::thumbnail)),
        route!("post" "/api/csp-report", "ops", "A browser's Content-Security-Policy violation report (application/csp-report or application/reports+json, at most 16 KB): counted in metrics and logged", auth: false, body: Some("CspReport"), ok: (204, "Empty"), query: &[], post(misc::csp_report)),
        route!("get" "/api/health", "operations", "Health of the gateway and every service (503 when any is down)", auth: false, body: None, ok: (200, "Health"), query: &[], get(misc::health)),
        route!("get" "/metrics", "operations", "Prometheus metrics of this gateway (requests by route and status, sockets, events)", auth: false, body: None, ok: (200, "Metrics"), query: &[], get(crate::metrics::render)),
        route!("get" "/api/openapi.json", "operations", "This document", auth: false, body: None, ok: (200, "Object"), query: &[], get(crate::openapi::document)),
        route!("get" "/api/ws", "realtime", "The WebSocket (upgrade); token by bearer header, ?token= or cookie. With the cookie alone, the page's Origin must be the gateway's own or one of ALLOWED_ORIGINS (else 403). See the `x-websocket` section", auth: true, body: None, ok: (101, "Object"), query: &[("token", "string", "the session token, for clients that cannot set headers")], get(crate::ws::upgrade)),
    ];
    for r in &mut routes {
        if r.path == "/api/upload/emoji" {
            r.conflict = "the workspace has an emoji with this name";
        }
    }
    routes
}

/// The router of every route: declared ones (forwarded, or custom), then
/// the described ones.
pub fn router() -> Router<AppState> {
    let mut router = Router::new();
    let forwarders = forwarders();
    let mut custom: HashMap<(String, String), MethodRouter<AppState>> =
        custom().into_iter().map(|(m, p, h)| ((m.to_owned(), p.to_owned()), h)).collect();
    for route in declared() {
        for binding in &route.bindings {
            let handler = if route.options.custom {
                custom
                    .remove(&(binding.verb.clone(), binding.path.clone()))
                    .unwrap_or_else(|| panic!("custom route {} {} has no handler in routes::custom", binding.verb, binding.path))
            } else {
                let make = forwarders.get(route.grpc_path().as_str()).unwrap_or_else(|| panic!("{} has no forwarder", route.grpc_path()));
                make(&binding.verb, Forward::new(&route, binding))
            };
            router = router.route(&binding.path, handler);
        }
    }
    if let Some(((m, p), _)) = custom.into_iter().next() {
        panic!("routes::custom lists {m} {p}, which no proto declares as a custom route");
    }
    for route in described() {
        router = router.route(route.path, (route.handler)());
    }
    router
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every declared route has its handler and every handler its route
    /// (the router panics otherwise, so building it is the test).
    #[test]
    fn every_declared_route_is_served() {
        let _ = router();
    }

    #[test]
    fn no_route_is_served_twice() {
        let mut seen = std::collections::HashSet::new();
        for route in declared() {
            for b in &route.bindings {
                assert!(seen.insert((b.verb.clone(), b.path.clone())), "{} {} twice", b.verb, b.path);
            }
        }
        for d in described() {
            assert!(seen.insert((d.method.to_owned(), d.path.to_owned())), "{} {} twice", d.method, d.path);
        }
    }
}
