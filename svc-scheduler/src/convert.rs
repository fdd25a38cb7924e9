//! Rows to protos.

use ocomms_proto::scheduler::v1 as pb;
use ocomms_runtime::time::{opt_rfc3339, rfc3339};

use crate::store::reminders::Reminder;
use crate::store::scheduled::Scheduled;

pub fn scheduled(r: &Scheduled) -> pb::ScheduledMessage {
    pb::ScheduledMessage {
        id: r.id.to_string(),
        workspace_id: r.workspace_id.to_string(),
        channel_id: r.channel_id.map(|c| c.to_string()),
        conversation_id: r.conversation_id.map(|c| c.to_string()),
        content: r.content.clone(),
        scheduled_for: rfc3339(r.scheduled_for),
        timezone: r.timezone.clone(),
        status: r.status.to_string(),
        error: r.error.clone(),
        message_id: r.message_id.map(|m| m.to_string()),
        created_at: rfc3339(r.created_at),
        updated_at: rfc3339(r.updated_at),
        attachment_ids: r.attachment_ids.iter().map(ToString::to_string).collect(),
    }
}

pub fn reminder(r: &Reminder) -> pb::Reminder {
    pb::Reminder {
        id: r.id.to_string(),
        workspace_id: r.workspace_id.map(|w| w.to_string()),
        message_id: r.message_id.map(|m| m.to_string()),
        text: r.text.clone(),
        remind_at: rfc3339(r.remind_at),
        recurrence: r.recurrence.map(|r| r.to_string()),
        timezone: r.timezone.clone(),
        status: r.status.to_string(),
        snoozed_until: opt_rfc3339(r.snoozed_until),
        created_at: rfc3339(r.created_at),
        fired_at: opt_rfc3339(r.fired_at),
    }
}
