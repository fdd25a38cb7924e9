//! Messages by id, and conversations (DMs, group DMs).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ocomms_proto::messaging::v1 as pb;
use serde::Deserialize;

use super::channels::{HistoryQuery, ReadBody, Where};
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, Caller, path_id};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditBody {
    content: String,
}

pub async fn edit(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<EditBody>,
) -> ApiResult<Json<pb::Message>> {
    let req = pb::EditMessageRequest { message_id: path_id(&id, "message")?, content: body.content };
    Ok(Json(s.clients.messaging.clone().edit_message(caller.req(req)).await?.into_inner()))
}

pub async fn delete(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<pb::Message>> {
    let req = pb::DeleteMessageRequest { message_id: path_id(&id, "message")? };
    Ok(Json(s.clients.messaging.clone().delete_message(caller.req(req)).await?.into_inner()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepliesQuery {
    after: Option<i64>,
    limit: Option<u32>,
}

pub async fn replies(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<RepliesQuery>,
) -> ApiResult<Json<pb::ListMessagesResponse>> {
    let req = pb::ListRepliesRequest { message_id: path_id(&id, "message")?, after: q.after, limit: q.limit };
    Ok(Json(s.clients.messaging.clone().list_replies(caller.req(req)).await?.into_inner()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReactionBody {
    emoji: String,
}

pub async fn react(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReactionBody>,
) -> ApiResult<Json<pb::Message>> {
    let req = pb::ToggleReactionRequest { message_id: path_id(&id, "message")?, emoji: body.emoji };
    Ok(Json(s.clients.messaging.clone().toggle_reaction(caller.req(req)).await?.into_inner()))
}

pub async fn open_conversation(
    State(s): State<AppState>,
    caller: Caller,
    Path(ws): Path<String>,
    ApiJson(mut body): ApiJson<pb::OpenConversationRequest>,
) -> ApiResult<Json<pb::Conversation>> {
    body.workspace_id = path_id(&ws, "workspace")?;
    Ok(Json(s.clients.messaging.clone().open_conversation(caller.req(body)).await?.into_inner()))
}

pub async fn conversations(
    State(s): State<AppState>,
    caller: Caller,
    Path(ws): Path<String>,
) -> ApiResult<Json<pb::ListConversationsResponse>> {
    let req = pb::ListConversationsRequest { workspace_id: path_id(&ws, "workspace")? };
    Ok(Json(s.clients.messaging.clone().list_conversations(caller.req(req)).await?.into_inner()))
}

pub async fn history(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<pb::ListMessagesResponse>> {
    super::channels::history_of(&s, &caller, Where::conversation(&id)?, q).await
}

pub async fn send(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<pb::SendMessageRequest>,
) -> ApiResult<(StatusCode, Json<pb::Message>)> {
    super::channels::send_to(&s, &caller, Where::conversation(&id)?, body).await
}

pub async fn read(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReadBody>,
) -> ApiResult<Json<pb::UnreadCount>> {
    super::channels::read_of(&s, &caller, Where::conversation(&id)?, body).await
}

pub async fn create_group(
    State(s): State<AppState>,
    caller: Caller,
    Path(ws): Path<String>,
    ApiJson(mut body): ApiJson<pb::CreateGroupRequest>,
) -> ApiResult<(StatusCode, Json<pb::Group>)> {
    body.workspace_id = path_id(&ws, "workspace")?;
    let g = s.clients.messaging.clone().create_group(caller.req(body)).await?.into_inner();
    Ok((StatusCode::CREATED, Json(g)))
}

pub async fn groups(State(s): State<AppState>, caller: Caller, Path(ws): Path<String>) -> ApiResult<Json<pb::ListGroupsResponse>> {
    let req = pb::ListGroupsRequest { workspace_id: path_id(&ws, "workspace")? };
    Ok(Json(s.clients.messaging.clone().list_groups(caller.req(req)).await?.into_inner()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    limit: Option<u32>,
}

pub async fn search(
    State(s): State<AppState>,
    caller: Caller,
    Path(ws): Path<String>,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<Json<pb::SearchResponse>> {
    let req = pb::SearchRequest { workspace_id: path_id(&ws, "workspace")?, q: q.q, limit: q.limit };
    Ok(Json(s.clients.messaging.clone().search(caller.req(req)).await?.into_inner()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PersonalNoteQuery {
    workspace_id: String,
}

pub async fn personal_note(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<PersonalNoteQuery>,
) -> ApiResult<Json<pb::Note>> {
    let req = pb::GetPersonalNoteRequest { workspace_id: q.workspace_id };
    Ok(Json(s.clients.messaging.clone().get_personal_note(caller.req(req)).await?.into_inner()))
}

/// The seed names the note's place in the query string when saving too
/// (`?workspaceId=`, `?channelId=`; its body is only `{content, version}`);
/// the body form is also accepted. Both, naming different places: 400.
fn place_id(field: &str, query: Option<String>, body: String) -> ApiResult<String> {
    match query.filter(|q| !q.is_empty()) {
        None => Ok(body),
        Some(q) if body.is_empty() || body == q => Ok(q),
        Some(_) => Err(ApiError::validation(format!("{field}: the query string and the body name different ones"))),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SavePersonalNoteQuery {
    workspace_id: Option<String>,
}

pub async fn save_personal_note(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<SavePersonalNoteQuery>,
    ApiJson(mut body): ApiJson<pb::SavePersonalNoteRequest>,
) -> ApiResult<Json<pb::Note>> {
    body.workspace_id = place_id("workspaceId", q.workspace_id, body.workspace_id)?;
    Ok(Json(s.clients.messaging.clone().save_personal_note(caller.req(body)).await?.into_inner()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChannelNoteQuery {
    channel_id: String,
}

pub async fn channel_note(State(s): State<AppState>, caller: Caller, ApiQuery(q): ApiQuery<ChannelNoteQuery>) -> ApiResult<Json<pb::Note>> {
    let req = pb::GetChannelNoteRequest { channel_id: q.channel_id };
    Ok(Json(s.clients.messaging.clone().get_channel_note(caller.req(req)).await?.into_inner()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SaveChannelNoteQuery {
    channel_id: Option<String>,
}

pub async fn save_channel_note(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<SaveChannelNoteQuery>,
    ApiJson(mut body): ApiJson<pb::SaveChannelNoteRequest>,
) -> ApiResult<Json<pb::Note>> {
    body.channel_id = place_id("channelId", q.channel_id, body.channel_id)?;
    Ok(Json(s.clients.messaging.clone().save_channel_note(caller.req(body)).await?.into_inner()))
}

pub async fn create_bookmark(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<pb::CreateBookmarkRequest>,
) -> ApiResult<(StatusCode, Json<pb::Bookmark>)> {
    let b = s.clients.messaging.clone().create_bookmark(caller.req(body)).await?.into_inner();
    Ok((StatusCode::CREATED, Json(b)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BookmarksQuery {
    workspace_id: Option<String>,
    before: Option<String>,
    limit: Option<u32>,
}

pub async fn bookmarks(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<BookmarksQuery>,
) -> ApiResult<Json<pb::ListBookmarksResponse>> {
    let req = pb::ListBookmarksRequest { workspace_id: q.workspace_id, before: q.before, limit: q.limit };
    Ok(Json(s.clients.messaging.clone().list_bookmarks(caller.req(req)).await?.into_inner()))
}

pub async fn delete_bookmark(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<serde_json::Value>> {
    let req = pb::DeleteBookmarkRequest { bookmark_id: path_id(&id, "bookmark")? };
    s.clients.messaging.clone().delete_bookmark(caller.req(req)).await?;
    Ok(Json(serde_json::json!({ "success": true })))
}
