//! Every route the gateway serves, in one table: the router is built from
//! it and so is `GET /api/openapi.json`, so the document describes exactly
//! the routes that exist.

pub mod auth;
pub mod channels;
pub mod misc;
pub mod workspaces;

use axum::routing::{MethodRouter, get, post};

use crate::AppState;

/// One route and what the OpenAPI document says of it.
pub struct Route {
    pub method: &'static str,
    /// axum syntax: `/api/channels/{channelId}`.
    pub path: &'static str,
    pub summary: &'static str,
    pub tag: &'static str,
    /// Whether a session is required.
    pub auth: bool,
    /// The request body schema (a name in `components.schemas`), if any.
    pub body: Option<&'static str>,
    /// Success status and the response schema name.
    pub ok: (u16, &'static str),
    /// Query parameters: (name, schema type, description).
    pub query: &'static [(&'static str, &'static str, &'static str)],
    pub handler: fn() -> MethodRouter<AppState>,
}

macro_rules! route {
    ($m:literal $p:literal, $tag:literal, $summary:literal, auth: $auth:expr, body: $body:expr, ok: ($st:literal, $schema:literal), query: $q:expr, $h:expr) => {
        Route { method: $m, path: $p, summary: $summary, tag: $tag, auth: $auth, body: $body, ok: ($st, $schema), query: $q, handler: || $h }
    };
}

const HISTORY_QUERY: &[(&str, &str, &str)] = &[
    ("before", "integer", "page backwards: messages with a smaller sequence"),
    ("after", "integer", "page forwards (and resume): messages with a greater sequence"),
    ("limit", "integer", "page size, default 50, at most 200"),
];

pub fn table() -> Vec<Route> {
    vec![
        route!("post" "/api/auth/sign-up/email", "auth", "Create an account and sign in", auth: false, body: Some("SignUp"), ok: (200, "AuthResponse"), query: &[], post(auth::sign_up)),
        route!("post" "/api/auth/sign-in/email", "auth", "Sign in with email and password (401 `Invalid credentials` whether or not the email exists; 423 while locked)", auth: false, body: Some("SignIn"), ok: (200, "AuthResponse"), query: &[], post(auth::sign_in)),
        route!("post" "/api/auth/sign-out", "auth", "End the current session", auth: true, body: None, ok: (200, "Success"), query: &[], post(auth::sign_out)),
        route!("get" "/api/auth/session", "auth", "The current user and session", auth: true, body: None, ok: (200, "SessionResponse"), query: &[], get(auth::session)),
        route!("post" "/api/workspaces", "workspaces", "Create a workspace; the caller becomes its owner", auth: true, body: Some("CreateWorkspace"), ok: (201, "Workspace"), query: &[], post(workspaces::create)),
        route!("get" "/api/workspaces", "workspaces", "The caller's workspaces", auth: true, body: None, ok: (200, "WorkspaceList"), query: &[], get(workspaces::list)),
        route!("get" "/api/workspaces/{workspaceId}", "workspaces", "One workspace the caller belongs to", auth: true, body: None, ok: (200, "Workspace"), query: &[], get(workspaces::get)),
        route!("get" "/api/workspaces/{workspaceId}/members", "workspaces", "Members with role, isGuest, expiresAt", auth: true, body: None, ok: (200, "MemberList"), query: &[], get(workspaces::members)),
        route!("post" "/api/workspaces/{workspaceId}/invites", "workspaces", "Invite by email (single use) or by link (multi-use); admins and owners", auth: true, body: Some("CreateInvite"), ok: (201, "Invite"), query: &[], post(workspaces::create_invite)),
        route!("post" "/api/invites/{token}/accept", "workspaces", "Join a workspace through an invite", auth: true, body: None, ok: (200, "AcceptInvite"), query: &[], post(workspaces::accept_invite)),
        route!("post" "/api/workspaces/{workspaceId}/join", "workspaces", "Join a workspace whose join policy is open", auth: true, body: None, ok: (200, "Member"), query: &[], post(workspaces::join)),
        route!("post" "/api/workspaces/{workspaceId}/channels", "channels", "Create a channel; the creator joins it", auth: true, body: Some("CreateChannel"), ok: (201, "Channel"), query: &[], post(channels::create)),
        route!("get" "/api/workspaces/{workspaceId}/channels", "channels", "Channels the caller can see, with unreadCount", auth: true, body: None, ok: (200, "ChannelList"), query: &[], get(channels::list)),
        route!("get" "/api/channels/{channelId}", "channels", "One channel", auth: true, body: None, ok: (200, "Channel"), query: &[], get(channels::get)),
        route!("post" "/api/channels/{channelId}/join", "channels", "Join a public channel", auth: true, body: None, ok: (200, "Channel"), query: &[], post(channels::join)),
        route!("post" "/api/channels/{channelId}/leave", "channels", "Leave a channel", auth: true, body: None, ok: (200, "Success"), query: &[], post(channels::leave)),
        route!("get" "/api/channels/{channelId}/messages", "messages", "History by sequence, ascending; `before` pages back, `after` forward (resume after a disconnect with after=<last sequence seen>)", auth: true, body: None, ok: (200, "MessagePage"), query: HISTORY_QUERY, get(channels::history)),
        route!("post" "/api/channels/{channelId}/messages", "messages", "Send a message; a retry with the same clientMsgId returns the first message instead of creating another", auth: true, body: Some("SendMessage"), ok: (201, "Message"), query: &[], post(channels::send)),
        route!("get" "/api/user/storage", "files", "The caller's storage use and quota in bytes", auth: true, body: None, ok: (200, "StorageUsage"), query: &[], get(misc::storage)),
        route!("get" "/api/notifications", "notifications", "The caller's notifications, newest first", auth: true, body: None, ok: (200, "NotificationList"), query: &[("unreadOnly", "boolean", "only unread ones"), ("limit", "integer", "default 50, at most 200")], get(misc::notifications)),
        route!("post" "/api/notifications/{notificationId}/read", "notifications", "Mark a notification read", auth: true, body: None, ok: (200, "Notification"), query: &[], post(misc::notification_read)),
        route!("get" "/api/health", "operations", "Health of the gateway and every service (503 when any is down)", auth: false, body: None, ok: (200, "Health"), query: &[], get(misc::health)),
        route!("get" "/api/openapi.json", "operations", "This document", auth: false, body: None, ok: (200, "Object"), query: &[], get(crate::openapi::document)),
        route!("get" "/api/ws", "realtime", "The WebSocket (upgrade); token by cookie, bearer header or ?token=. See the `x-websocket` section", auth: true, body: None, ok: (101, "Object"), query: &[("token", "string", "the session token, for clients that cannot set headers")], get(crate::ws::upgrade)),
    ]
}
