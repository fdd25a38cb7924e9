//! Scheduled messages and reminders (svc-scheduler).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ocomms_proto::scheduler::v1 as pb;
use serde::Deserialize;

use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{ApiJson, Caller, path_id};

pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<pb::CreateScheduledMessageRequest>,
) -> ApiResult<(StatusCode, Json<pb::ScheduledMessage>)> {
    let m = s.clients.scheduler.clone().create_scheduled_message(caller.req(body)).await?.into_inner();
    Ok((StatusCode::CREATED, Json(m)))
}

pub async fn list(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<pb::ListScheduledMessagesResponse>> {
    Ok(Json(s.clients.scheduler.clone().list_scheduled_messages(caller.req(pb::ListScheduledMessagesRequest {})).await?.into_inner()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateBody {
    content: Option<String>,
    scheduled_for: Option<String>,
    timezone: Option<String>,
}

pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateBody>,
) -> ApiResult<Json<pb::ScheduledMessage>> {
    let req = pb::UpdateScheduledMessageRequest {
        scheduled_message_id: path_id(&id, "scheduled message")?,
        content: body.content,
        scheduled_for: body.scheduled_for,
        timezone: body.timezone,
    };
    Ok(Json(s.clients.scheduler.clone().update_scheduled_message(caller.req(req)).await?.into_inner()))
}

pub async fn cancel(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<pb::ScheduledMessage>> {
    let req = pb::CancelScheduledMessageRequest { scheduled_message_id: path_id(&id, "scheduled message")? };
    Ok(Json(s.clients.scheduler.clone().cancel_scheduled_message(caller.req(req)).await?.into_inner()))
}

pub async fn create_reminder(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<pb::CreateReminderRequest>,
) -> ApiResult<(StatusCode, Json<pb::Reminder>)> {
    let r = s.clients.scheduler.clone().create_reminder(caller.req(body)).await?.into_inner();
    Ok((StatusCode::CREATED, Json(r)))
}

pub async fn reminders(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<pb::ListRemindersResponse>> {
    Ok(Json(s.clients.scheduler.clone().list_reminders(caller.req(pb::ListRemindersRequest {})).await?.into_inner()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SnoozeBody {
    #[serde(default)]
    until: String,
}

pub async fn snooze(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SnoozeBody>,
) -> ApiResult<Json<pb::Reminder>> {
    let req = pb::SnoozeReminderRequest { reminder_id: path_id(&id, "reminder")?, until: body.until };
    Ok(Json(s.clients.scheduler.clone().snooze_reminder(caller.req(req)).await?.into_inner()))
}

pub async fn complete(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<pb::Reminder>> {
    let req = pb::CompleteReminderRequest { reminder_id: path_id(&id, "reminder")? };
    Ok(Json(s.clients.scheduler.clone().complete_reminder(caller.req(req)).await?.into_inner()))
}

pub async fn cancel_reminder(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<pb::Reminder>> {
    let req = pb::CancelReminderRequest { reminder_id: path_id(&id, "reminder")? };
    Ok(Json(s.clients.scheduler.clone().cancel_reminder(caller.req(req)).await?.into_inner()))
}
