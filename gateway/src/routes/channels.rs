//! Channels and their messages.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ocomms_proto::messaging::v1 as pb;
use serde::Deserialize;

use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery, Caller, path_id};

pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    Path(ws): Path<String>,
    ApiJson(mut body): ApiJson<pb::CreateChannelRequest>,
) -> ApiResult<(StatusCode, Json<pb::Channel>)> {
    body.workspace_id = path_id(&ws, "workspace")?;
    let c = s.clients.messaging.clone().create_channel(caller.req(body)).await?.into_inner();
    Ok((StatusCode::CREATED, Json(c)))
}

pub async fn list(State(s): State<AppState>, caller: Caller, Path(ws): Path<String>) -> ApiResult<Json<pb::ListChannelsResponse>> {
    let workspace_id = path_id(&ws, "workspace")?;
    Ok(Json(s.clients.messaging.clone().list_channels(caller.req(pb::ListChannelsRequest { workspace_id })).await?.into_inner()))
}

pub async fn get(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<pb::Channel>> {
    let channel_id = path_id(&id, "channel")?;
    Ok(Json(s.clients.messaging.clone().get_channel(caller.req(pb::GetChannelRequest { channel_id })).await?.into_inner()))
}

pub async fn join(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<pb::Channel>> {
    let channel_id = path_id(&id, "channel")?;
    Ok(Json(s.clients.messaging.clone().join_channel(caller.req(pb::JoinChannelRequest { channel_id })).await?.into_inner()))
}

pub async fn leave(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<serde_json::Value>> {
    let channel_id = path_id(&id, "channel")?;
    s.clients.messaging.clone().leave_channel(caller.req(pb::LeaveChannelRequest { channel_id })).await?;
    Ok(Json(serde_json::json!({ "success": true })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    pub before: Option<i64>,
    pub after: Option<i64>,
    pub limit: Option<u32>,
}

/// Where a message route points: a channel or a conversation.
pub struct Where {
    channel_id: Option<String>,
    conversation_id: Option<String>,
}

impl Where {
    pub fn channel(id: &str) -> ApiResult<Self> {
        Ok(Self { channel_id: Some(path_id(id, "channel")?), conversation_id: None })
    }

    pub fn conversation(id: &str) -> ApiResult<Self> {
        Ok(Self { channel_id: None, conversation_id: Some(path_id(id, "conversation")?) })
    }
}

pub async fn history_of(s: &AppState, caller: &Caller, w: Where, q: HistoryQuery) -> ApiResult<Json<pb::ListMessagesResponse>> {
    let req = pb::ListMessagesRequest {
        channel_id: w.channel_id,
        conversation_id: w.conversation_id,
        before: q.before,
        after: q.after,
        limit: q.limit,
    };
    Ok(Json(s.clients.messaging.clone().list_messages(caller.req(req)).await?.into_inner()))
}

pub async fn send_to(
    s: &AppState,
    caller: &Caller,
    w: Where,
    mut body: pb::SendMessageRequest,
) -> ApiResult<(StatusCode, Json<pb::Message>)> {
    body.channel_id = w.channel_id;
    body.conversation_id = w.conversation_id;
    let m = s.clients.messaging.clone().send_message(caller.req(body)).await?.into_inner();
    Ok((StatusCode::CREATED, Json(m)))
}

pub async fn read_of(s: &AppState, caller: &Caller, w: Where, body: ReadBody) -> ApiResult<Json<pb::UnreadCount>> {
    let req = pb::MarkReadRequest { channel_id: w.channel_id, conversation_id: w.conversation_id, sequence: body.sequence };
    Ok(Json(s.clients.messaging.clone().mark_read(caller.req(req)).await?.into_inner()))
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangesQuery {
    since: Option<i64>,
    limit: Option<u32>,
}

pub async fn changes_of(s: &AppState, caller: &Caller, w: Where, q: ChangesQuery) -> ApiResult<Json<pb::ChangesPage>> {
    let req = pb::ListChangesRequest { channel_id: w.channel_id, conversation_id: w.conversation_id, since: q.since, limit: q.limit };
    Ok(Json(s.clients.messaging.clone().list_changes(caller.req(req)).await?.into_inner()))
}

pub async fn changes(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ChangesQuery>,
) -> ApiResult<Json<pb::ChangesPage>> {
    changes_of(&s, &caller, Where::channel(&id)?, q).await
}

pub async fn conversation_changes(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ChangesQuery>,
) -> ApiResult<Json<pb::ChangesPage>> {
    changes_of(&s, &caller, Where::conversation(&id)?, q).await
}

pub async fn history(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<pb::ListMessagesResponse>> {
    history_of(&s, &caller, Where::channel(&id)?, q).await
}

pub async fn send(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<pb::SendMessageRequest>,
) -> ApiResult<(StatusCode, Json<pb::Message>)> {
    send_to(&s, &caller, Where::channel(&id)?, body).await
}

pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(mut body): ApiJson<pb::UpdateChannelRequest>,
) -> ApiResult<Json<pb::Channel>> {
    body.channel_id = path_id(&id, "channel")?;
    Ok(Json(s.clients.messaging.clone().update_channel(caller.req(body)).await?.into_inner()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddMember {
    user_id: String,
}

pub async fn add_member(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AddMember>,
) -> ApiResult<Json<pb::Channel>> {
    let req = pb::ChannelMemberRequest { channel_id: path_id(&id, "channel")?, user_id: body.user_id };
    Ok(Json(s.clients.messaging.clone().add_channel_member(caller.req(req)).await?.into_inner()))
}

pub async fn remove_member(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, user)): Path<(String, String)>,
) -> ApiResult<Json<pb::Channel>> {
    let req = pb::ChannelMemberRequest { channel_id: path_id(&id, "channel")?, user_id: path_id(&user, "member")? };
    Ok(Json(s.clients.messaging.clone().remove_channel_member(caller.req(req)).await?.into_inner()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadBody {
    sequence: i64,
}

pub async fn read(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReadBody>,
) -> ApiResult<Json<pb::UnreadCount>> {
    read_of(&s, &caller, Where::channel(&id)?, body).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinsQuery {
    before: Option<String>,
    limit: Option<u32>,
}

pub async fn pins(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<PinsQuery>,
) -> ApiResult<Json<pb::ListMessagesResponse>> {
    let req = pb::ListPinsRequest { channel_id: path_id(&id, "channel")?, before: q.before, limit: q.limit };
    Ok(Json(s.clients.messaging.clone().list_pins(caller.req(req)).await?.into_inner()))
}

pub async fn set_pin(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(mut body): ApiJson<pb::SetPinRequest>,
) -> ApiResult<Json<pb::SetPinResponse>> {
    body.channel_id = path_id(&id, "channel")?;
    Ok(Json(s.clients.messaging.clone().set_pin(caller.req(body)).await?.into_inner()))
}

pub async fn unread(State(s): State<AppState>, caller: Caller, Path(ws): Path<String>) -> ApiResult<Json<pb::WorkspaceUnread>> {
    let req = pb::GetUnreadRequest { workspace_id: path_id(&ws, "workspace")? };
    Ok(Json(s.clients.messaging.clone().get_unread(caller.req(req)).await?.into_inner()))
}

pub async fn create_category(
    State(s): State<AppState>,
    caller: Caller,
    Path(ws): Path<String>,
    ApiJson(mut body): ApiJson<pb::CreateCategoryRequest>,
) -> ApiResult<(StatusCode, Json<pb::Category>)> {
    body.workspace_id = path_id(&ws, "workspace")?;
    let c = s.clients.messaging.clone().create_category(caller.req(body)).await?.into_inner();
    Ok((StatusCode::CREATED, Json(c)))
}

pub async fn categories(State(s): State<AppState>, caller: Caller, Path(ws): Path<String>) -> ApiResult<Json<pb::ListCategoriesResponse>> {
    let req = pb::ListCategoriesRequest { workspace_id: path_id(&ws, "workspace")? };
    Ok(Json(s.clients.messaging.clone().list_categories(caller.req(req)).await?.into_inner()))
}
