//! Consumes svc-scheduler's jobs: `reminder.fired` (a notification, then
//! `reminder:fired` and `notification:new` on the user's sockets) and
//! `scheduled.failed` (the author is told why their message was not sent).
//! Each job makes its notification once (`processed_events`), however often
//! it is delivered; the socket events follow the commit.

use ocomms_proto::scheduler::v1 as pb;
use ocomms_proto::scheduler::v1::jobs::{REMINDER_FIRED, SCHEDULED_FAILED};
use ocomms_runtime::db::Pool;
use ocomms_runtime::events::{Bus, Event};
use ocomms_runtime::ids::{UserId, WorkspaceId};

use crate::domain::NotificationKind;
use ocomms_runtime::jobs::{self, Broker, Job};

pub fn start(pool: Pool, broker: &Broker, bus: Bus) {
    broker.consume("notify.scheduler", &[REMINDER_FIRED, SCHEDULED_FAILED], move |job| {
        let (pool, bus) = (pool.clone(), bus.clone());
        async move { handle(&pool, &bus, job).await }
    });
}

/// What one job says to its user.
struct Told {
    user: UserId,
    workspace: Option<WorkspaceId>,
    kind: NotificationKind,
    title: String,
    body: String,
    data: serde_json::Value,
    /// The event that goes with the notification, if any.
    event: Option<(&'static str, serde_json::Value)>,
}

fn told(job: &Job) -> anyhow::Result<Told> {
    if job.key == REMINDER_FIRED {
        let j: pb::ReminderFiredJob = job.decode()?;
        let r = j.reminder.ok_or_else(|| anyhow::anyhow!("reminder.fired without a reminder"))?;
        let title = match (&r.text, &r.message_id) {
            (Some(t), _) => format!("Reminder: {}", t.chars().take(200).collect::<String>()),
            (None, Some(_)) => "Reminder about a message".to_owned(),
            (None, None) => "Reminder".to_owned(),
        };
        Ok(Told {
            user: j.user_id.parse()?,
            workspace: r.workspace_id.as_deref().and_then(|w| w.parse().ok()),
            kind: NotificationKind::Reminder,
            title,
            body: r.text.clone().unwrap_or_default(),
            data: serde_json::json!({ "reminderId": r.id, "messageId": r.message_id, "workspaceId": r.workspace_id }),
            event: Some(("reminder:fired", serde_json::json!({ "reminder": r }))),
        })
    } else {
        let j: pb::ScheduledFailedJob = job.decode()?;
        let s = j.scheduled_message.ok_or_else(|| anyhow::anyhow!("scheduled.failed without a message"))?;
        Ok(Told {
            user: j.user_id.parse()?,
            workspace: s.workspace_id.parse().ok(),
            kind: NotificationKind::ScheduledFailed,
            title: "Your scheduled message was not sent".to_owned(),
            body: s.error.clone().unwrap_or_default(),
            data: serde_json::json!({
                "scheduledMessageId": s.id, "workspaceId": s.workspace_id,
                "channelId": s.channel_id, "conversationId": s.conversation_id,
            }),
            event: None,
        })
    }
}

async fn handle(pool: &Pool, bus: &Bus, job: Job) -> anyhow::Result<()> {
    let t = told(&job)?;
    let mut conn = pool.get().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let (user, workspace, kind, title, body, data) = (t.user, t.workspace, t.kind, t.title, t.body, t.data);
    let made = jobs::once(&mut conn, &job.id, move |conn| {
        Box::pin(async move {
            let n = crate::store::notifications::New { user, workspace, kind, title: &title, body: &body, data: &data };
            Ok(crate::store::notifications::insert(conn, &n).await?)
        })
    })
    .await?;
    if let Some(notification) = made {
        if let Some((name, data)) = t.event {
            bus.publish(Event::to_users(vec![user], name, data)).await;
        }
        bus.publish(Event::to_users(vec![user], "notification:new", serde_json::json!({ "notification": notification }))).await;
    }
    Ok(())
}
