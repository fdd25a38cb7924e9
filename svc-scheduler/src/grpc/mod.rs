//! `ocomms.scheduler.v1.SchedulerService`: decode, resolve the caller, ask
//! the policy, call the store, encode. One file per area.

mod reminder_ops;
mod scheduled_ops;

use ocomms_proto::messaging::v1::messaging_service_client::MessagingServiceClient;
use ocomms_proto::scheduler::v1 as pb;
use ocomms_runtime::ServiceResult;
use ocomms_runtime::db::{Conn, Pool};
use ocomms_runtime::identity::{Identity, caller};
use tonic::transport::Channel;

use crate::engine::Timer;

pub struct SchedulerApi {
    pub pool: Pool,
    pub identity: Identity,
    pub messaging: MessagingServiceClient<Channel>,
    /// Woken when something may now be due sooner.
    pub timer: Timer,
    /// svc-files, where attachments are claimed.
    pub files: ocomms_proto::files::v1::files_service_client::FilesServiceClient<Channel>,
    pub relay: ocomms_runtime::jobs::Relay,
}

impl SchedulerApi {
    async fn conn(&self) -> ServiceResult<Conn<'_>> {
        Ok(self.pool.get().await?)
    }

    /// GDPR export (seed 3.1): the member's reminders and scheduled
    /// messages in the workspace.
    pub(crate) async fn export_scheduling(&self, req: tonic::Request<pb::ExportUserRequest>) -> ServiceResult<pb::SchedulingExport> {
        let r = req.get_ref();
        let me = caller(&req)?;
        let (ws, user) = ocomms_domain::membership::may_export(&self.identity, req.metadata(), &me, &r.workspace_id, &r.user_id).await?;
        let mut conn = self.conn().await?;
        // Reminders of no workspace go only to the user themselves.
        let reminders = crate::store::reminders::all_in(&mut conn, user, ws, me.user_id == user).await?;
        let scheduled = crate::store::scheduled::all_in(&mut conn, user, ws).await?;
        Ok(pb::SchedulingExport {
            reminders: reminders.iter().map(crate::convert::reminder).collect(),
            scheduled_messages: scheduled.iter().map(crate::convert::scheduled).collect(),
        })
    }
}

impl ocomms_runtime::identity::ServesCallers for SchedulerApi {
    fn callers(&self) -> &dyn ocomms_runtime::identity::Callers {
        &self.identity
    }
}

ocomms_runtime::grpc_service!(pb::scheduler_service_server::SchedulerService, SchedulerApi, {
    create_scheduled_message(pb::CreateScheduledMessageRequest) -> pb::ScheduledMessage;
    list_scheduled_messages(pb::ListScheduledMessagesRequest) -> pb::ListScheduledMessagesResponse;
    update_scheduled_message(pb::UpdateScheduledMessageRequest) -> pb::ScheduledMessage;
    cancel_scheduled_message(pb::CancelScheduledMessageRequest) -> pb::ScheduledMessage;
    create_reminder(pb::CreateReminderRequest) -> pb::Reminder;
    list_reminders(pb::ListRemindersRequest) -> pb::ListRemindersResponse;
    snooze_reminder(pb::SnoozeReminderRequest) -> pb::Reminder;
    complete_reminder(pb::CompleteReminderRequest) -> pb::Reminder;
    cancel_reminder(pb::CancelReminderRequest) -> pb::Reminder;
    export_scheduling(pb::ExportUserRequest) -> pb::SchedulingExport;
});
