//! Scheduled messages: create, list, change, cancel.

use chrono::Utc;
use diesel_async::AsyncConnection;
use ocomms_proto::scheduler::v1 as pb;
use ocomms_runtime::ids;
use ocomms_runtime::{ServiceError, ServiceResult};
use tonic::Request;

use super::SchedulerApi;
use crate::domain::{self, ScheduledMessageId, ScheduledStatus};
use crate::store::{self, scheduled};
use crate::{convert, policy};
use ocomms_runtime::identity::caller;

/// The answer for a change to one that is no longer pending (or not theirs).
fn not_pending(row: Option<scheduled::Scheduled>) -> ServiceError {
    match row {
        None => ServiceError::not_found("scheduled message"),
        Some(r) => ServiceError::conflict(format!("this scheduled message is {} and can no longer be changed", r.status))
            .with_details(serde_json::json!({ "status": r.status })),
    }
}

impl SchedulerApi {
    pub(crate) async fn create_scheduled_message(
        &self,
        req: Request<pb::CreateScheduledMessageRequest>,
    ) -> ServiceResult<pb::ScheduledMessage> {
        let p = caller(&req)?;
        let r = req.get_ref();
        let content = domain::content(&r.content, !r.attachment_ids.is_empty())?;
        let at = domain::due_time("scheduledFor", &r.scheduled_for, Utc::now())?;
        let tz = domain::timezone(r.timezone.as_deref())?;
        let place =
            policy::can_post(&self.messaging, &self.identity, req.metadata(), r.channel_id.as_deref(), r.conversation_id.as_deref())
                .await?;
        let mut conn = self.conn().await?;
        if scheduled::count_pending(&mut conn, p.user_id).await? >= domain::MAX_PENDING {
            return Err(ServiceError::validation(
                "scheduledFor",
                format!("at most {} scheduled messages may wait at once", domain::MAX_PENDING),
            ));
        }
        drop(conn);
        let id = ScheduledMessageId::new();
        let attachment_ids =
            policy::claim_attachments(&self.files, self.identity.service_token(), p.user_id, id, place.workspace_id, &r.attachment_ids)
                .await?;
        let mut conn = self.conn().await?;
        let row = scheduled::insert(
            &mut conn,
            &scheduled::New {
                id,
                attachment_ids: &attachment_ids,
                workspace_id: place.workspace_id,
                author_id: p.user_id,
                channel_id: place.channel_id,
                conversation_id: place.conversation_id,
                content: &content,
                scheduled_for: at,
                timezone: tz.name(),
            },
        )
        .await?;
        store::notify_wake(&mut conn).await?;
        self.timer.wake();
        Ok(convert::scheduled(&row))
    }

    pub(crate) async fn list_scheduled_messages(
        &self,
        req: Request<pb::ListScheduledMessagesRequest>,
    ) -> ServiceResult<pb::ListScheduledMessagesResponse> {
        let p = caller(&req)?;
        let mut conn = self.conn().await?;
        let rows = scheduled::list_for(&mut conn, p.user_id).await?;
        Ok(pb::ListScheduledMessagesResponse { scheduled_messages: rows.iter().map(convert::scheduled).collect() })
    }

    pub(crate) async fn update_scheduled_message(
        &self,
        req: Request<pb::UpdateScheduledMessageRequest>,
    ) -> ServiceResult<pb::ScheduledMessage> {
        let p = caller(&req)?;
        let r = req.get_ref();
        let id: ScheduledMessageId = ids::parse("scheduledMessageId", &r.scheduled_message_id)?;
        let at = r.scheduled_for.as_deref().map(|t| domain::due_time("scheduledFor", t, Utc::now())).transpose()?;
        let tz = r.timezone.as_deref().map(|z| domain::timezone(Some(z))).transpose()?;
        let mut conn = self.conn().await?;
        let current = scheduled::get_for(&mut conn, id, p.user_id).await?.ok_or_else(|| ServiceError::not_found("scheduled message"))?;
        if current.status != ScheduledStatus::Pending {
            return Err(not_pending(Some(current)));
        }
        let content = match r.content.as_deref() {
            Some(c) => domain::content(c, !current.attachment_ids.is_empty())?,
            None => current.content,
        };
        let at = at.unwrap_or(current.scheduled_for);
        let tz_name = tz.map_or(current.timezone, |t| t.name().to_owned());
        let Some(row) = scheduled::update_pending(&mut conn, id, p.user_id, &content, at, &tz_name).await? else {
            // Claimed for sending meanwhile.
            return Err(not_pending(scheduled::get_for(&mut conn, id, p.user_id).await?));
        };
        store::notify_wake(&mut conn).await?;
        self.timer.wake();
        Ok(convert::scheduled(&row))
    }

    pub(crate) async fn cancel_scheduled_message(
        &self,
        req: Request<pb::CancelScheduledMessageRequest>,
    ) -> ServiceResult<pb::ScheduledMessage> {
        let p = caller(&req)?;
        let id: ScheduledMessageId = ids::parse("scheduledMessageId", &req.get_ref().scheduled_message_id)?;
        let mut conn = self.conn().await?;
        let user = p.user_id;
        let cancelled = conn
            .transaction::<_, ServiceError, _>(async |conn| {
                let row = scheduled::cancel_pending(conn, id, user).await?;
                if let Some(r) = &row {
                    crate::engine::release_attachments(conn, r).await.map_err(ServiceError::internal)?;
                }
                Ok(row)
            })
            .await?;
        match cancelled {
            Some(row) => {
                self.relay.wake();
                Ok(convert::scheduled(&row))
            }
            None => Err(not_pending(scheduled::get_for(&mut conn, id, p.user_id).await?)),
        }
    }
}
