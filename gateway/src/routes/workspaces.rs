//! Workspaces, members, invites.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ocomms_proto::auth::v1 as pb;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, Caller, path_id};

pub async fn create(State(s): State<AppState>, caller: Caller, ApiJson(body): ApiJson<pb::CreateWorkspaceRequest>) -> ApiResult<(StatusCode, Json<pb::Workspace>)> {
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
    let url = format!("{}/invite/{}", s.config.public_url, invite.token);
    let mut v = serde_json::to_value(&invite).map_err(|e| ApiError::from(ocomms_runtime::ServiceError::internal(e)))?;
    v["url"] = json!(url);
    Ok((StatusCode::CREATED, Json(v)))
}

pub async fn accept_invite(State(s): State<AppState>, caller: Caller, Path(token): Path<String>) -> ApiResult<Json<pb::AcceptInviteResponse>> {
    Ok(Json(s.clients.auth.clone().accept_invite(caller.req(pb::AcceptInviteRequest { token })).await?.into_inner()))
}

pub async fn join(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<pb::Member>> {
    let workspace_id = path_id(&id, "workspace")?;
    Ok(Json(s.clients.auth.clone().join_workspace(caller.req(pb::JoinWorkspaceRequest { workspace_id })).await?.into_inner()))
}
