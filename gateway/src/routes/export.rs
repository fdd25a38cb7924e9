//! `POST /api/admin/export` (seed 3.1): a member's data in a workspace, as
//! one JSON document gathered from every service that holds some. Each
//! service checks the caller may see it (the member themselves, or an owner
//! of the workspace); svc-auth is asked first so that a refusal answers
//! before anything is sent. Messages, the one part without a bound, are
//! fetched a page at a time while the body streams; if a page fails midway
//! the body is cut off, so a client never mistakes a partial export for a
//! whole one.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use ocomms_proto::{auth, files, messaging, notify, scheduler};
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{ApiJson, Caller};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportBody {
    #[serde(default)]
    workspace_id: String,
    #[serde(default)]
    user_id: String,
}

pub async fn export(State(s): State<AppState>, caller: Caller, ApiJson(body): ApiJson<ExportBody>) -> ApiResult<Response> {
    let (ws, user) = (body.workspace_id, body.user_id);
    let who = auth::v1::ExportUserRequest { workspace_id: ws.clone(), user_id: user.clone() };
    let account = s.clients.auth.clone().export_user(caller.req(who)).await?.into_inner();
    let (mut fc, mut nc, mut sc, mut mc) =
        (s.clients.files.clone(), s.clients.notify.clone(), s.clients.scheduler.clone(), s.clients.messaging.clone());
    let (f, n, sc, first) = tokio::try_join!(
        fc.export_files(caller.req(files::v1::ExportUserRequest { workspace_id: ws.clone(), user_id: user.clone() })),
        nc.export_settings(caller.req(notify::v1::ExportUserRequest { workspace_id: ws.clone(), user_id: user.clone() })),
        sc.export_scheduling(caller.req(scheduler::v1::ExportUserRequest { workspace_id: ws.clone(), user_id: user.clone() })),
        mc.export_messages(caller.req(page(&s, &ws, &user, None))),
    )?;
    let (files, settings, scheduling, first) = (f.into_inner(), n.into_inner(), sc.into_inner(), first.into_inner());
    let head = json!({
        "exportedAt": ocomms_runtime::time::rfc3339(chrono::Utc::now()),
        "workspaceId": ws,
        "user": account,
        "files": files.files,
        "settings": { "notifications": settings.channels, "email": settings.email },
        "notes": { "personal": first.personal_note },
        "reminders": scheduling.reminders,
        "scheduledMessages": scheduling.scheduled_messages,
    });
    // `{…head…,"messages":[` then the pages, then `]}`.
    let mut text = head.to_string();
    text.pop();
    text.push_str(",\"messages\":[");
    let state = Pages { s, token: caller.token, ws, user, next: Some(first), first: true, opened: Some(text) };
    let body = Body::from_stream(stream::unfold(state, Pages::step));
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"ocomms-export.json\""));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

fn page(s: &AppState, ws: &str, user: &str, after: Option<String>) -> messaging::v1::ExportMessagesRequest {
    messaging::v1::ExportMessagesRequest {
        workspace_id: ws.to_owned(),
        user_id: user.to_owned(),
        after_id: after,
        limit: Some(s.config.export_page_messages),
    }
}

/// The streamed body's state: the page in hand, and whether more follow.
struct Pages {
    s: AppState,
    token: String,
    ws: String,
    user: String,
    next: Option<messaging::v1::MessageExportPage>,
    first: bool,
    opened: Option<String>,
}

type Chunk = Result<String, std::io::Error>;

impl Pages {
    async fn step(mut self) -> Option<(Chunk, Self)> {
        if let Some(head) = self.opened.take() {
            return Some((Ok(head), self));
        }
        let current = self.next.take()?;
        let mut out = String::new();
        for m in &current.messages {
            if !self.first {
                out.push(',');
            }
            self.first = false;
            match serde_json::to_string(m) {
                Ok(j) => out.push_str(&j),
                Err(e) => return Some((Err(std::io::Error::other(e)), self)),
            }
        }
        if current.has_more {
            let after = current.messages.last().map(|m| m.id.clone());
            let caller = Caller { token: self.token.clone() };
            match self.s.clients.messaging.clone().export_messages(caller.req(page(&self.s, &self.ws, &self.user, after))).await {
                Ok(p) => self.next = Some(p.into_inner()),
                Err(e) => {
                    tracing::warn!(error = %e, "export: a page of messages failed; the body is cut off");
                    return Some((Err(std::io::Error::other(e.to_string())), self));
                }
            }
        } else {
            out.push_str("]}");
        }
        Some((Ok(out), self))
    }
}
