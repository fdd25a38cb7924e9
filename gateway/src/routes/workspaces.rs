//! Workspaces, members, invites.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ocomms_proto::auth::v1 as pb;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Caller, path_id};

pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<pb::CreateWorkspaceRequest>,
) -> ApiResult<(StatusCode, Json<pb::Workspace>)> {
    let ws = s.clients.auth.clone().create_workspace(caller.req(body)).await?.into_inner();
    Ok((StatusCode::CREATED, Json(ws)))
}

pub async fn list(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<pb::ListWorkspacesResponse>> {
    Ok(Json(s.clients.auth.clone().list_workspaces(caller.req(pb::ListWorkspacesRequest {})).await?.into_inner()))
}

pub async fn get(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<pb::Workspace>> {
    let workspace_id = path_id(&id, "workspace")?;
    Ok(Json(s.clients.auth.clone().get_workspace(caller.req(pb::GetWorkspaceRequest { workspace_id })).await?.into_inner()))
}

pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(mut body): ApiJson<pb::UpdateWorkspaceRequest>,
) -> ApiResult<Json<pb::Workspace>> {
    body.workspace_id = path_id(&id, "workspace")?;
    Ok(Json(s.clients.auth.clone().update_workspace(caller.req(body)).await?.into_inner()))
}

pub async fn members(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<pb::ListMembersResponse>> {
    let workspace_id = path_id(&id, "workspace")?;
    Ok(Json(s.clients.auth.clone().list_members(caller.req(pb::ListMembersRequest { workspace_id })).await?.into_inner()))
}

pub async fn create_invite(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(mut body): ApiJson<pb::CreateInviteRequest>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    body.workspace_id = path_id(&id, "workspace")?;
    let invite = s.clients.auth.clone().create_invite(caller.req(body)).await?.into_inner();
    Ok((StatusCode::CREATED, Json(with_url(&s, &invite))))
}

/// An invite as answered: the record plus the link to share.
fn with_url(s: &AppState, invite: &pb::Invite) -> Value {
    let mut v = json!(invite);
    v["url"] = json!(format!("{}/invite/{}", s.config.public_url, invite.token));
    v
}

pub async fn accept_invite(
    State(s): State<AppState>,
    caller: Caller,
    Path(token): Path<String>,
) -> ApiResult<Json<pb::AcceptInviteResponse>> {
    Ok(Json(s.clients.auth.clone().accept_invite(caller.req(pb::AcceptInviteRequest { token })).await?.into_inner()))
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
) -> ApiResult<(StatusCode, Json<Value>)> {
    body.workspace_id = path_id(&id, "workspace")?;
    let invite = s.clients.auth.clone().create_guest_invite(caller.req(body)).await?.into_inner();
    Ok((StatusCode::CREATED, Json(with_url(&s, &invite))))
}

pub async fn join_requests(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<pb::ListJoinRequestsResponse>> {
    let req = pb::ListJoinRequestsRequest { workspace_id: path_id(&id, "workspace")? };
    Ok(Json(s.clients.auth.clone().list_join_requests(caller.req(req)).await?.into_inner()))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    approve: bool,
}

pub async fn decide_join_request(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, request)): Path<(String, String)>,
    ApiJson(body): ApiJson<Decision>,
) -> ApiResult<Json<pb::JoinRequest>> {
    let req = pb::DecideJoinRequestRequest {
        workspace_id: path_id(&id, "workspace")?,
        request_id: path_id(&request, "join request")?,
        approve: body.approve,
    };
    Ok(Json(s.clients.auth.clone().decide_join_request(caller.req(req)).await?.into_inner()))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    role: String,
}

pub async fn update_member(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, user)): Path<(String, String)>,
    ApiJson(body): ApiJson<RoleBody>,
) -> ApiResult<Json<pb::Member>> {
    let req = pb::UpdateMemberRequest { workspace_id: path_id(&id, "workspace")?, user_id: path_id(&user, "member")?, role: body.role };
    Ok(Json(s.clients.auth.clone().update_member(caller.req(req)).await?.into_inner()))
}

pub async fn remove_member(State(s): State<AppState>, caller: Caller, Path((id, user)): Path<(String, String)>) -> ApiResult<Json<Value>> {
    let req = pb::RemoveMemberRequest { workspace_id: path_id(&id, "workspace")?, user_id: path_id(&user, "member")? };
    s.clients.auth.clone().remove_member(caller.req(req)).await?;
    Ok(Json(json!({ "success": true })))
}

pub async fn profile(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<pb::Profile>> {
    let req = pb::GetProfileRequest { workspace_id: path_id(&id, "workspace")?, user_id: None };
    Ok(Json(s.clients.auth.clone().get_profile(caller.req(req)).await?.into_inner()))
}

pub async fn member_profile(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, user)): Path<(String, String)>,
) -> ApiResult<Json<pb::Profile>> {
    let req = pb::GetProfileRequest { workspace_id: path_id(&id, "workspace")?, user_id: Some(path_id(&user, "member")?) };
    Ok(Json(s.clients.auth.clone().get_profile(caller.req(req)).await?.into_inner()))
}

pub async fn update_profile(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(mut body): ApiJson<pb::UpdateProfileRequest>,
) -> ApiResult<Json<pb::Profile>> {
    body.workspace_id = path_id(&id, "workspace")?;
    Ok(Json(s.clients.auth.clone().update_profile(caller.req(body)).await?.into_inner()))
}

pub async fn set_status(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(mut body): ApiJson<pb::SetStatusRequest>,
) -> ApiResult<Json<pb::UserStatus>> {
    body.workspace_id = path_id(&id, "workspace")?;
    Ok(Json(s.clients.auth.clone().set_status(caller.req(body)).await?.into_inner()))
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LastVisited {
    workspace_id: String,
}

pub async fn last_visited(State(s): State<AppState>, caller: Caller, ApiJson(body): ApiJson<LastVisited>) -> ApiResult<Json<Value>> {
    let req = pb::SetLastVisitedRequest { workspace_id: body.workspace_id };
    s.clients.auth.clone().set_last_visited(caller.req(req)).await?;
    Ok(Json(json!({ "success": true })))
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuditQuery {
    workspace_id: Option<String>,
    start_date: Option<String>,
    end_date: Option<String>,
    action: Option<String>,
    limit: Option<u32>,
    offset: Option<u32>,
}

pub async fn audit_logs(
    State(s): State<AppState>,
    caller: Caller,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<AuditQuery>,
) -> ApiResult<Json<pb::ListAuditLogsResponse>> {
    let workspace_id = q.workspace_id.ok_or_else(|| ApiError::validation("workspaceId: is required"))?;
    let req = pb::ListAuditLogsRequest {
        workspace_id,
        start_date: q.start_date,
        end_date: q.end_date,
        action: q.action,
        limit: q.limit,
        offset: q.offset,
    };
    Ok(Json(s.clients.auth.clone().list_audit_logs(caller.req(req)).await?.into_inner()))
}
