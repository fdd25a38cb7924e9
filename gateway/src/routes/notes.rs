//! Saving notes: the place may be named in the query string or the body.

use axum::Json;
use axum::extract::State;
use ocomms_proto::messaging::v1 as pb;
use serde::Deserialize;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, Caller};

/// The seed names the note's place in the query string when saving too
/// (`?workspaceId=`, `?channelId=`; its body is only `{content, version}`);
/// the body form is also accepted. Both, naming different places: 400; a
/// query value that is no UUID: 400.
fn place_id(field: &str, query: Option<String>, body: String) -> ApiResult<String> {
    if query.as_deref().is_some_and(|q| uuid::Uuid::parse_str(q).is_err()) {
        return Err(ApiError::validation(format!("{field}: must be a UUID")));
    }
    match query {
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
