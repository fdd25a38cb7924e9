//! Reminders: create, list, snooze, complete, cancel.

use chrono::Utc;
use ocomms_domain::MessageId;
use ocomms_proto::scheduler::v1 as pb;
use ocomms_runtime::ids::{self};
use ocomms_runtime::{ServiceError, ServiceResult};
use tonic::Request;

use super::SchedulerApi;
use crate::domain::{self, ReminderId, ReminderStatus};
use crate::store::{self, reminders};
use crate::{convert, policy};
use ocomms_runtime::identity::{Principal, caller};

/// The answer for a change to one that ended (or is not theirs).
fn ended(row: Option<reminders::Reminder>) -> ServiceError {
    match row {
        None => ServiceError::not_found("reminder"),
        Some(r) => ServiceError::conflict(format!("this reminder is {}", r.status)).with_details(serde_json::json!({ "status": r.status })),
    }
}

impl SchedulerApi {
    pub(crate) async fn create_reminder(&self, req: Request<pb::CreateReminderRequest>) -> ServiceResult<pb::Reminder> {
        let p = caller(&req)?;
        let r = req.get_ref();
        let message: Option<MessageId> = ids::parse_opt("messageId", r.message_id.as_deref())?;
        let text = domain::reminder_text(r.text.as_deref())?;
        if message.is_none() && text.is_none() {
            return Err(ServiceError::validation("text", "give a messageId or a text"));
        }
        let at = domain::due_time("remindAt", &r.remind_at, Utc::now())?;
        let recurrence = domain::recurrence(r.recurrence.as_deref())?;
        let tz = domain::timezone(r.timezone.as_deref())?;
        let workspace_id = match message {
            Some(m) => Some(policy::can_see_message(&self.messaging, &self.identity, req.metadata(), m).await?),
            None => None,
        };
        let mut conn = self.conn().await?;
        let row = reminders::insert(
            &mut conn,
            &reminders::New {
                workspace_id,
                user_id: p.user_id,
                message_id: message,
                text: text.as_deref(),
                remind_at: at,
                recurrence: recurrence.map(domain::Recurrence::as_str),
                timezone: tz.name(),
                local_time: domain::local_time(at, tz),
            },
        )
        .await?;
        store::notify_wake(&mut conn).await?;
        self.timer.wake();
        Ok(convert::reminder(&row))
    }

    pub(crate) async fn list_reminders(&self, req: Request<pb::ListRemindersRequest>) -> ServiceResult<pb::ListRemindersResponse> {
        let p = caller(&req)?;
        let mut conn = self.conn().await?;
        let rows = reminders::list_for(&mut conn, p.user_id).await?;
        Ok(pb::ListRemindersResponse { reminders: rows.iter().map(convert::reminder).collect() })
    }

    pub(crate) async fn snooze_reminder(&self, req: Request<pb::SnoozeReminderRequest>) -> ServiceResult<pb::Reminder> {
        let p = caller(&req)?;
        let r = req.get_ref();
        let id: ReminderId = ids::parse("reminderId", &r.reminder_id)?;
        let until = domain::due_time("until", &r.until, Utc::now())?;
        let mut conn = self.conn().await?;
        match reminders::snooze(&mut conn, id, p.user_id, until).await? {
            Some(row) => {
                store::notify_wake(&mut conn).await?;
                self.timer.wake();
                Ok(convert::reminder(&row))
            }
            None => Err(ended(reminders::get_for(&mut conn, id, p.user_id).await?)),
        }
    }

    pub(crate) async fn complete_reminder(&self, req: Request<pb::CompleteReminderRequest>) -> ServiceResult<pb::Reminder> {
        self.end_reminder(&caller(&req)?, &req.get_ref().reminder_id, ReminderStatus::Completed).await
    }

    pub(crate) async fn cancel_reminder(&self, req: Request<pb::CancelReminderRequest>) -> ServiceResult<pb::Reminder> {
        self.end_reminder(&caller(&req)?, &req.get_ref().reminder_id, ReminderStatus::Cancelled).await
    }

    async fn end_reminder(&self, p: &Principal, id: &str, status: ReminderStatus) -> ServiceResult<pb::Reminder> {
        let id: ReminderId = ids::parse("reminderId", id)?;
        let mut conn = self.conn().await?;
        match reminders::end(&mut conn, id, p.user_id, status).await? {
            Some(row) => Ok(convert::reminder(&row)),
            None => Err(ended(reminders::get_for(&mut conn, id, p.user_id).await?)),
        }
    }
}
