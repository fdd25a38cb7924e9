//! `ocomms.notify.v1.NotifyService`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Integer, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use ocomms_proto::notify::v1 as pb;
use ocomms_runtime::db::Pool;
use ocomms_runtime::events::{Bus, Event};
use ocomms_runtime::identity::Identity;
use ocomms_runtime::time::rfc3339;
use ocomms_runtime::{ServiceError, ServiceResult, ids};
use tonic::Request;

pub struct NotifyApi {
    pub pool: Pool,
    pub identity: Identity,
    pub bus: Bus,
    pub mailer: crate::mail::Mailer,
    pub service_token: String,
    pub messaging: ocomms_proto::messaging::v1::messaging_service_client::MessagingServiceClient<tonic::transport::Channel>,
    pub pusher: crate::push::Pusher,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Settings {
    #[diesel(sql_type = Text)]
    level: String,
    #[diesel(sql_type = Bool)]
    muted: bool,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = SqlUuid)]
    id: uuid::Uuid,
    #[diesel(sql_type = Text)]
    r#type: String,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Nullable<Text>)]
    body: Option<String>,
    #[diesel(sql_type = Jsonb)]
    data: serde_json::Value,
    #[diesel(sql_type = Bool)]
    is_read: bool,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
}

fn notification_pb(r: Row) -> pb::Notification {
    pb::Notification {
        id: r.id.to_string(),
        r#type: r.r#type,
        title: r.title,
        body: r.body,
        data: r.data.to_string(),
        is_read: r.is_read,
        created_at: rfc3339(r.created_at),
    }
}

/// The user's email digest interval in minutes (the default when unset).
async fn email_minutes(conn: &mut diesel_async::AsyncPgConnection, user: ids::UserId) -> diesel::QueryResult<i32> {
    #[derive(QueryableByName)]
    struct M {
        #[diesel(sql_type = Integer)]
        digest_minutes: i32,
    }
    let m: Option<M> = diesel::sql_query("SELECT digest_minutes FROM email_settings WHERE user_id = $1")
        .bind::<SqlUuid, _>(user)
        .get_result(conn)
        .await
        .optional()?;
    Ok(m.map_or(crate::digest::DEFAULT_MINUTES, |m| m.digest_minutes))
}

const COLUMNS: &str = "id, type, title, body, data, is_read, created_at";

impl NotifyApi {
    pub(crate) async fn list_notifications(
        &self,
        req: Request<pb::ListNotificationsRequest>,
    ) -> ServiceResult<pb::ListNotificationsResponse> {
        let p = self.identity.principal(req.metadata()).await?;
        let r = req.get_ref();
        let limit = match r.limit {
            None | Some(0) => 50,
            Some(l) if l > 200 => return Err(ServiceError::validation("limit", "must be at most 200")),
            Some(l) => l,
        };
        let mut conn = self.pool.get().await?;
        let rows: Vec<Row> = diesel::sql_query(format!(
            "SELECT {COLUMNS} FROM notifications WHERE user_id = $1 AND (NOT $2 OR NOT is_read) ORDER BY created_at DESC LIMIT $3"
        ))
        .bind::<SqlUuid, _>(p.user_id)
        .bind::<Bool, _>(r.unread_only)
        .bind::<Integer, _>(i32::try_from(limit).unwrap_or(50))
        .load(&mut conn)
        .await?;
        let unread: Count = diesel::sql_query("SELECT count(*) AS n FROM notifications WHERE user_id = $1 AND NOT is_read")
            .bind::<SqlUuid, _>(p.user_id)
            .get_result(&mut conn)
            .await?;
        Ok(pb::ListNotificationsResponse {
            notifications: rows.into_iter().map(notification_pb).collect(),
            unread_count: u32::try_from(unread.n).unwrap_or(u32::MAX),
        })
    }

    pub(crate) async fn mark_all_notifications_read(
        &self,
        req: Request<pb::MarkAllNotificationsReadRequest>,
    ) -> ServiceResult<pb::MarkAllNotificationsReadResponse> {
        let p = self.identity.principal(req.metadata()).await?;
        let mut conn = self.pool.get().await?;
        let updated = diesel::sql_query("UPDATE notifications SET is_read = true WHERE user_id = $1 AND NOT is_read")
            .bind::<SqlUuid, _>(p.user_id)
            .execute(&mut conn)
            .await?;
        if updated > 0 {
            self.bus.publish(Event::to_users(vec![p.user_id], "notification:read", serde_json::json!({ "allRead": true }))).await;
        }
        Ok(pb::MarkAllNotificationsReadResponse { updated: u32::try_from(updated).unwrap_or(u32::MAX) })
    }

    /// GDPR export (seed 3.1): the member's settings for the workspace's
    /// channels they can see, and their email setting.
    pub(crate) async fn export_settings(&self, req: Request<pb::ExportUserRequest>) -> ServiceResult<pb::SettingsExport> {
        let r = req.get_ref();
        let (_, ws, user) = self.identity.may_export(req.metadata(), &r.workspace_id, &r.user_id).await?;
        // The workspace's channels as the member sees them (asked on their behalf).
        let list = ocomms_runtime::identity::service_request(
            &self.service_token,
            user,
            ocomms_proto::messaging::v1::ListChannelsRequest { workspace_id: ws.to_string() },
        );
        let channels: Vec<uuid::Uuid> = match self.messaging.clone().list_channels(list).await {
            Ok(l) => l.into_inner().channels.iter().filter_map(|c| c.id.parse().ok()).collect(),
            Err(s) if s.code() == tonic::Code::NotFound => Vec::new(),
            Err(s) => return Err(ServiceError::from(s)),
        };
        let mut conn = self.pool.get().await?;
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = SqlUuid)]
            channel_id: uuid::Uuid,
            #[diesel(sql_type = Text)]
            level: String,
            #[diesel(sql_type = Bool)]
            muted: bool,
        }
        let rows: Vec<Row> = diesel::sql_query(
            "SELECT channel_id, level, muted FROM channel_notification_settings WHERE user_id = $1 AND channel_id = ANY($2) ORDER BY channel_id",
        )
        .bind::<SqlUuid, _>(user)
        .bind::<diesel::sql_types::Array<SqlUuid>, _>(&channels)
        .load(&mut conn)
        .await?;
        let minutes = email_minutes(&mut conn, user).await?;
        Ok(pb::SettingsExport {
            channels: rows
                .into_iter()
                .map(|r| pb::ChannelSettings { channel_id: r.channel_id.to_string(), level: r.level, muted: r.muted })
                .collect(),
            email: Some(pb::EmailSettings { digest_minutes: u32::try_from(minutes).unwrap_or_default() }),
        })
    }

    pub(crate) async fn get_email_settings(&self, req: Request<pb::GetEmailSettingsRequest>) -> ServiceResult<pb::EmailSettings> {
        let p = self.identity.principal(req.metadata()).await?;
        let mut conn = self.pool.get().await?;
        let minutes = email_minutes(&mut conn, p.user_id).await?;
        Ok(pb::EmailSettings { digest_minutes: u32::try_from(minutes).unwrap_or_default() })
    }

    pub(crate) async fn set_email_settings(&self, req: Request<pb::SetEmailSettingsRequest>) -> ServiceResult<pb::EmailSettings> {
        let p = self.identity.principal(req.metadata()).await?;
        let minutes = req.get_ref().digest_minutes.ok_or_else(|| ServiceError::validation("digestMinutes", "required"))?;
        if minutes > 1440 {
            return Err(ServiceError::validation("digestMinutes", "must be 0 (off) to 1440"));
        }
        let mut conn = self.pool.get().await?;
        diesel::sql_query(
            "INSERT INTO email_settings (user_id, digest_minutes) VALUES ($1, $2)
             ON CONFLICT (user_id) DO UPDATE SET digest_minutes = excluded.digest_minutes, updated_at = now()",
        )
        .bind::<SqlUuid, _>(p.user_id)
        .bind::<Integer, _>(i32::try_from(minutes).unwrap_or_default())
        .execute(&mut conn)
        .await?;
        Ok(pb::EmailSettings { digest_minutes: minutes })
    }

    pub(crate) async fn get_vapid_public_key(&self, req: Request<pb::GetVapidPublicKeyRequest>) -> ServiceResult<pb::VapidPublicKey> {
        self.identity.principal(req.metadata()).await?;
        let vapid = self.pusher.vapid.as_ref().ok_or_else(|| ServiceError::not_found("web push (not configured on this server)"))?;
        Ok(pb::VapidPublicKey { public_key: vapid.public_key.clone() })
    }

    pub(crate) async fn subscribe(&self, req: Request<pb::PushSubscribeRequest>) -> ServiceResult<pb::PushSubscribeResponse> {
        use base64::Engine as _;
        let p = self.identity.principal(req.metadata()).await?;
        let sub = req.get_ref().subscription.as_ref().ok_or_else(|| ServiceError::validation("subscription", "required"))?;
        let url = self.pusher.check_endpoint(&sub.endpoint).map_err(|e| ServiceError::validation("subscription.endpoint", e))?;
        let keys = sub.keys.as_ref().ok_or_else(|| ServiceError::validation("subscription.keys", "required"))?;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let p256dh = b64.decode(keys.p256dh.trim_end_matches('=')).unwrap_or_default();
        if web_push_native::p256::PublicKey::from_sec1_bytes(&p256dh).is_err() {
            return Err(ServiceError::validation("subscription.keys.p256dh", "must be a P-256 public key, base64url"));
        }
        if b64.decode(keys.auth.trim_end_matches('=')).map(|a| a.len()).unwrap_or_default() != 16 {
            return Err(ServiceError::validation("subscription.keys.auth", "must be 16 bytes, base64url"));
        }
        if self.pusher.vapid.is_none() {
            return Err(ServiceError::not_found("web push (not configured on this server)"));
        }
        let mut conn = self.pool.get().await?;
        // The same endpoint again: its owner renews it, or the browser it
        // belongs to (same keys) changed accounts. Someone else naming it
        // cannot take it over.
        let stored = diesel::sql_query(
            "INSERT INTO push_subscriptions (id, user_id, endpoint, p256dh, auth) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (endpoint) DO UPDATE SET user_id = excluded.user_id, p256dh = excluded.p256dh, auth = excluded.auth, created_at = now()
             WHERE push_subscriptions.user_id = excluded.user_id
                OR (push_subscriptions.p256dh = excluded.p256dh AND push_subscriptions.auth = excluded.auth)",
        )
        .bind::<SqlUuid, _>(uuid::Uuid::now_v7())
        .bind::<SqlUuid, _>(p.user_id)
        .bind::<Text, _>(url.as_str())
        .bind::<Text, _>(&keys.p256dh)
        .bind::<Text, _>(&keys.auth)
        .execute(&mut conn)
        .await?;
        if stored == 0 {
            return Err(ServiceError::conflict("this endpoint is registered with other keys"));
        }
        // At most 20 browsers per user: the oldest make room.
        diesel::sql_query(
            "DELETE FROM push_subscriptions WHERE user_id = $1 AND id NOT IN
               (SELECT id FROM push_subscriptions WHERE user_id = $1 ORDER BY created_at DESC LIMIT 20)",
        )
        .bind::<SqlUuid, _>(p.user_id)
        .execute(&mut conn)
        .await?;
        Ok(pb::PushSubscribeResponse { success: true })
    }

    pub(crate) async fn unsubscribe(&self, req: Request<pb::PushUnsubscribeRequest>) -> ServiceResult<pb::PushSubscribeResponse> {
        let p = self.identity.principal(req.metadata()).await?;
        let endpoint = &req.get_ref().endpoint;
        if endpoint.is_empty() || endpoint.len() > 2048 {
            return Err(ServiceError::validation("endpoint", "required, at most 2048 characters"));
        }
        // Stored normalized (as the URL parser writes it).
        let normalized = url::Url::parse(endpoint).map(|u| u.to_string()).unwrap_or_else(|_| endpoint.clone());
        let mut conn = self.pool.get().await?;
        diesel::sql_query("DELETE FROM push_subscriptions WHERE user_id = $1 AND endpoint IN ($2, $3)")
            .bind::<SqlUuid, _>(p.user_id)
            .bind::<Text, _>(endpoint)
            .bind::<Text, _>(&normalized)
            .execute(&mut conn)
            .await?;
        Ok(pb::PushSubscribeResponse { success: true })
    }

    pub(crate) async fn mark_notification_read(&self, req: Request<pb::MarkNotificationReadRequest>) -> ServiceResult<pb::Notification> {
        let p = self.identity.principal(req.metadata()).await?;
        let id: uuid::Uuid = ids::parse("notificationId", &req.get_ref().notification_id)?;
        let mut conn = self.pool.get().await?;
        let row: Row =
            diesel::sql_query(format!("UPDATE notifications SET is_read = true WHERE id = $1 AND user_id = $2 RETURNING {COLUMNS}"))
                .bind::<SqlUuid, _>(id)
                .bind::<SqlUuid, _>(p.user_id)
                .get_result(&mut conn)
                .await
                .optional()?
                .ok_or_else(|| ServiceError::not_found("notification"))?;
        self.bus.publish(Event::to_users(vec![p.user_id], "notification:read", serde_json::json!({ "notificationId": id }))).await;
        Ok(notification_pb(row))
    }
}

impl NotifyApi {
    /// The channel, if the caller can see it (asked of svc-messaging on
    /// their behalf); NOT_FOUND otherwise.
    async fn visible_channel(&self, meta: &tonic::metadata::MetadataMap, channel: &str) -> ServiceResult<uuid::Uuid> {
        let id: uuid::Uuid = ids::parse("channelId", channel)?;
        let req = self.identity.forward(meta, ocomms_proto::messaging::v1::GetChannelRequest { channel_id: id.to_string() });
        self.messaging.clone().get_channel(req).await.map_err(ServiceError::from)?;
        Ok(id)
    }

    async fn settings_of(&self, user: ocomms_runtime::ids::UserId, channel: uuid::Uuid) -> ServiceResult<pb::ChannelSettings> {
        let mut conn = self.pool.get().await?;
        let row: Option<Settings> =
            diesel::sql_query("SELECT level, muted FROM channel_notification_settings WHERE user_id = $1 AND channel_id = $2")
                .bind::<SqlUuid, _>(user)
                .bind::<SqlUuid, _>(channel)
                .get_result(&mut conn)
                .await
                .optional()?;
        let (level, muted) = row.map(|r| (r.level, r.muted)).unwrap_or_else(|| ("all".to_owned(), false));
        Ok(pb::ChannelSettings { channel_id: channel.to_string(), level, muted })
    }

    pub(crate) async fn get_channel_settings(&self, req: Request<pb::GetChannelSettingsRequest>) -> ServiceResult<pb::ChannelSettings> {
        let p = self.identity.principal(req.metadata()).await?;
        let channel = self.visible_channel(req.metadata(), &req.get_ref().channel_id).await?;
        self.settings_of(p.user_id, channel).await
    }

    pub(crate) async fn set_channel_settings(&self, req: Request<pb::SetChannelSettingsRequest>) -> ServiceResult<pb::ChannelSettings> {
        let p = self.identity.principal(req.metadata()).await?;
        let r = req.get_ref();
        if let Some(l) = r.level.as_deref()
            && !matches!(l, "all" | "mentions" | "none")
        {
            return Err(ServiceError::validation("level", "must be all, mentions or none"));
        }
        let channel = self.visible_channel(req.metadata(), &r.channel_id).await?;
        let current = self.settings_of(p.user_id, channel).await?;
        let level = r.level.clone().unwrap_or(current.level);
        let muted = r.muted.unwrap_or(current.muted);
        let mut conn = self.pool.get().await?;
        diesel::sql_query(
            "INSERT INTO channel_notification_settings (user_id, channel_id, level, muted) VALUES ($1, $2, $3, $4)
             ON CONFLICT (user_id, channel_id) DO UPDATE SET level = excluded.level, muted = excluded.muted, updated_at = now()",
        )
        .bind::<SqlUuid, _>(p.user_id)
        .bind::<SqlUuid, _>(channel)
        .bind::<Text, _>(&level)
        .bind::<Bool, _>(muted)
        .execute(&mut conn)
        .await?;
        Ok(pb::ChannelSettings { channel_id: channel.to_string(), level, muted })
    }

    pub(crate) async fn send_email(&self, req: Request<pb::SendEmailRequest>) -> ServiceResult<pb::SendEmailResponse> {
        // Only services (with the shared credential) send email.
        if ocomms_runtime::identity::service_principal(req.metadata(), &self.service_token)?.is_none() {
            return Err(ServiceError::forbidden("internal call"));
        }
        let r = req.get_ref();
        let by = self.mailer.send(&r.to, &r.subject, &r.body).await?;
        Ok(pb::SendEmailResponse { delivered_by: by.to_owned() })
    }
}

ocomms_runtime::grpc_service!(pb::notify_service_server::NotifyService, NotifyApi, {
    send_email(pb::SendEmailRequest) -> pb::SendEmailResponse;
    get_channel_settings(pb::GetChannelSettingsRequest) -> pb::ChannelSettings;
    set_channel_settings(pb::SetChannelSettingsRequest) -> pb::ChannelSettings;
    list_notifications(pb::ListNotificationsRequest) -> pb::ListNotificationsResponse;
    mark_notification_read(pb::MarkNotificationReadRequest) -> pb::Notification;
    mark_all_notifications_read(pb::MarkAllNotificationsReadRequest) -> pb::MarkAllNotificationsReadResponse;
    get_vapid_public_key(pb::GetVapidPublicKeyRequest) -> pb::VapidPublicKey;
    get_email_settings(pb::GetEmailSettingsRequest) -> pb::EmailSettings;
    set_email_settings(pb::SetEmailSettingsRequest) -> pb::EmailSettings;
    export_settings(pb::ExportUserRequest) -> pb::SettingsExport;
    subscribe(pb::PushSubscribeRequest) -> pb::PushSubscribeResponse;
    unsubscribe(pb::PushUnsubscribeRequest) -> pb::PushSubscribeResponse;
});
