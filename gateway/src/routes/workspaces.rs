//! Workspaces, members, invites.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ocomms_proto::auth::v1 as pb;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Caller, path_id};

pub async fn create_invite(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(mut body): ApiJson<pb::CreateInviteRequest>,
) -> ApiResult<(StatusCode, Json<pb::Invite>)> {
    body.workspace_id = path_id(&id, "workspace")?;
    let invite = s.clients.auth.clone().create_invite(caller.req(body)).await?.into_inner();
    Ok((StatusCode::CREATED, Json(with_url(&s, invite))))
}

/// An invite as answered: the record plus the link to share.
fn with_url(s: &AppState, mut invite: pb::Invite) -> pb::Invite {
    invite.url = format!("{}/invite/{}", s.config.public_url, invite.token);
    invite
}

/// 200 with the membership when the workspace is open; 202 with the
/// pending request when it takes requests.
pub async fn join(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<(StatusCode, Json<Value>)> {
    let workspace_id = path_id(&id, "workspace")?;
    let r = s.clients.auth.clone().join_workspace(caller.req(pb::JoinWorkspaceRequest { workspace_id })).await?.into_inner();
    match (r.member, r.request) {
        (Some(m), _) => Ok((StatusCode::OK, Json(json!(m)))),
        (None, Some(req)) => Ok((StatusCode::ACCEPTED, Json(json!({ "request": req })))),
        (None, None) => Err(ApiError::not_found("workspace")),
    }
}

pub async fn create_guest_invite(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(mut body): ApiJson<pb::CreateGuestInviteRequest>,
) -> ApiResult<(StatusCode, Json<pb::Invite>)> {
    body.workspace_id = path_id(&id, "workspace")?;
    let invite = s.clients.auth.clone().create_guest_invite(caller.req(body)).await?.into_inner();
    Ok((StatusCode::CREATED, Json(with_url(&s, invite))))
}
