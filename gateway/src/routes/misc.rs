//! Health, storage, notifications, and the fallbacks.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::IntoResponse;
use ocomms_proto::files::v1 as files;
use ocomms_proto::notify::v1 as notify;
use ocomms_runtime::ErrorCode;
use serde::Deserialize;
use serde_json::{Value, json};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiQuery, Caller, path_id};

/// `GET /api/health` (seed): every service's gRPC health, 503 when any is
/// not serving.
pub async fn health(State(s): State<AppState>) -> impl IntoResponse {
    let checks = s.clients.health.iter().map(|(name, channel)| {
        let mut client = tonic_health::pb::health_client::HealthClient::new(channel.clone());
        async move {
            let res = tokio::time::timeout(Duration::from_secs(2), client.check(HealthCheckRequest { service: String::new() })).await;
            let status = match res {
                Ok(Ok(r)) if r.get_ref().status == ServingStatus::Serving as i32 => "ok",
                Ok(Ok(_)) => "not_serving",
                Ok(Err(_)) | Err(_) => "unreachable",
            };
            (*name, status)
        }
    });
    let results = futures_util::future::join_all(checks).await;
    let healthy = results.iter().all(|(_, st)| *st == "ok");
    let services: serde_json::Map<String, Value> = results.into_iter().map(|(n, st)| (n.to_owned(), json!(st))).collect();
    let mut gateway = serde_json::Map::new();
    gateway.insert("sockets".into(), json!(s.hub.socket_count()));
    let body = json!({
        "status": if healthy { "ok" } else { "degraded" },
        "services": services,
        "gateway": gateway,
    });
    (if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, Json(body))
}

pub async fn storage(State(s): State<AppState>, caller: Caller) -> ApiResult<Json<files::StorageUsage>> {
    Ok(Json(s.clients.files.clone().get_storage_usage(caller.req(files::GetStorageUsageRequest {})).await?.into_inner()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NotificationsQuery {
    #[serde(default)]
    unread_only: bool,
    limit: Option<u32>,
}

pub async fn notifications(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<NotificationsQuery>,
) -> ApiResult<Json<notify::ListNotificationsResponse>> {
    let req = notify::ListNotificationsRequest { unread_only: q.unread_only, limit: q.limit };
    Ok(Json(s.clients.notify.clone().list_notifications(caller.req(req)).await?.into_inner()))
}

pub async fn notification_read(State(s): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult<Json<notify::Notification>> {
    let notification_id = path_id(&id, "notification")?;
    let req = notify::MarkNotificationReadRequest { notification_id };
    Ok(Json(s.clients.notify.clone().mark_notification_read(caller.req(req)).await?.into_inner()))
}

pub async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::new(ErrorCode::NotFound, format!("no route for {method} {}", uri.path()))
}

pub async fn method_not_allowed(method: Method, uri: Uri) -> impl IntoResponse {
    let message = format!("method {method} is not allowed on {}", uri.path());
    (StatusCode::METHOD_NOT_ALLOWED, Json(json!({ "error": { "code": "METHOD_NOT_ALLOWED", "message": message } })))
}

pub async fn channel_settings(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<notify::ChannelSettings>> {
    let req = notify::GetChannelSettingsRequest { channel_id: path_id(&id, "channel")? };
    Ok(Json(s.clients.notify.clone().get_channel_settings(caller.req(req)).await?.into_inner()))
}

pub async fn set_channel_settings(
    State(s): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    crate::extract::ApiJson(mut body): crate::extract::ApiJson<notify::SetChannelSettingsRequest>,
) -> ApiResult<Json<notify::ChannelSettings>> {
    body.channel_id = path_id(&id, "channel")?;
    Ok(Json(s.clients.notify.clone().set_channel_settings(caller.req(body)).await?.into_inner()))
}
