//! The bell: list, mark read, mark all read.

use ocomms_proto::notify::v1 as pb;
use ocomms_runtime::events::Event;
use ocomms_runtime::{ServiceError, ServiceResult, ids};
use tonic::Request;

use super::NotifyApi;
use crate::domain::{self, NotificationId};
use crate::{convert, store};
use ocomms_runtime::identity::caller;

impl NotifyApi {
    pub(crate) async fn list_notifications(
        &self,
        req: Request<pb::ListNotificationsRequest>,
    ) -> ServiceResult<pb::ListNotificationsResponse> {
        let p = caller(&req)?;
        let r = req.get_ref();
        let limit = i32::try_from(domain::PAGE.of(r.limit)?).unwrap_or(i32::MAX);
        let mut conn = self.conn().await?;
        let rows = store::notifications::list(&mut conn, p.user_id, r.unread_only, limit).await?;
        let unread = store::notifications::unread_count(&mut conn, p.user_id).await?;
        Ok(pb::ListNotificationsResponse {
            notifications: rows.into_iter().map(convert::notification).collect(),
            unread_count: u32::try_from(unread).unwrap_or(u32::MAX),
        })
    }

    pub(crate) async fn mark_all_notifications_read(
        &self,
        req: Request<pb::MarkAllNotificationsReadRequest>,
    ) -> ServiceResult<pb::MarkAllNotificationsReadResponse> {
        let p = caller(&req)?;
        let mut conn = self.conn().await?;
        let updated = store::notifications::mark_all_read(&mut conn, p.user_id).await?;
        if updated > 0 {
            self.bus.publish(Event::to_users(vec![p.user_id], "notification:read", serde_json::json!({ "allRead": true }))).await;
        }
        Ok(pb::MarkAllNotificationsReadResponse { updated: u32::try_from(updated).unwrap_or(u32::MAX) })
    }

    pub(crate) async fn mark_notification_read(&self, req: Request<pb::MarkNotificationReadRequest>) -> ServiceResult<pb::Notification> {
        let p = caller(&req)?;
        let id: NotificationId = ids::parse("notificationId", &req.get_ref().notification_id)?;
        let mut conn = self.conn().await?;
        let row =
            store::notifications::mark_read(&mut conn, id, p.user_id).await?.ok_or_else(|| ServiceError::not_found("notification"))?;
        self.bus.publish(Event::to_users(vec![p.user_id], "notification:read", serde_json::json!({ "notificationId": id }))).await;
        Ok(convert::notification(row))
    }
}
