//! The engine: PostgreSQL is the timer, RabbitMQ carries the work.
//!
//! The timer sleeps until the earliest due time (or until woken: a change
//! through this replica, or `NOTIFY ocomms_scheduler_wake` from another
//! one; at most [`IDLE`] as a safety net). When something is due it claims
//! it with `FOR UPDATE SKIP LOCKED` (replicas never claim the same row) and,
//! **in the same transaction**, writes the job that carries it out into the
//! outbox:
//!
//! - a scheduled message goes `pending → processing` with a
//!   `scheduler.send` job; the consumer sends it as its author through
//!   svc-messaging with the client id `scheduled:<id>`, then marks it `sent`.
//!   A crash anywhere redelivers the job, and the retry's send returns the
//!   message the first attempt created: sent exactly once. When the author
//!   may no longer post there it becomes `failed` with the reason, and a
//!   `scheduled.failed` job tells them (svc-notify).
//! - a reminder becomes `fired` (or, when recurring, moves to its next
//!   occurrence) with a `reminder.fired` job: svc-notify makes the
//!   notification once per job and sends `reminder:fired`.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use chrono_tz::Tz;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::StreamExt;
use ocomms_proto::messaging::v1 as m;
use ocomms_proto::messaging::v1::messaging_service_client::MessagingServiceClient;
use ocomms_proto::scheduler::v1 as pb;
use ocomms_runtime::db::Pool;
use ocomms_runtime::jobs::{self, Broker, Job, Relay};
use ocomms_runtime::{ErrorCode, ServiceError};
use tokio::sync::Notify;
use tonic::transport::Channel;

use crate::convert;
use crate::domain::{self, ReminderStatus, ScheduledMessageId};
use crate::store::{self, reminders, scheduled};

pub use ocomms_proto::scheduler::v1::jobs::{REMINDER_FIRED, SCHEDULED_FAILED, SEND};

/// The longest the timer sleeps without being woken.
pub const IDLE: Duration = Duration::from_secs(30);
/// Rows claimed per transaction.
const BATCH: i64 = 500;

/// Wakes this replica's timer.
#[derive(Clone, Default)]
pub struct Timer {
    wake: Arc<Notify>,
}

impl Timer {
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// What the engine needs.
#[derive(Clone)]
pub struct Engine {
    pub pool: Pool,
    pub relay: Relay,
    pub messaging: MessagingServiceClient<Channel>,
    pub service_token: String,
    /// Test-only (`SCHEDULER_CRASH_AT`): the process kills itself (SIGKILL)
    /// at this point: `claimed`, `sent` or `marked`.
    pub crash_at: Option<String>,
}

impl Engine {
    /// Starts the timer, its LISTEN connection and the `scheduler.send`
    /// consumer.
    pub fn start(self, broker: &Broker, database_url: &str, timer: Timer) {
        let me = self.clone();
        broker.consume("scheduler.send", &[SEND], move |job| {
            let me = me.clone();
            async move { me.send(job).await }
        });
        tokio::spawn(listen(database_url.to_owned(), timer.clone()));
        tokio::spawn(async move {
            loop {
                let next = match self.tick().await {
                    Ok(next) => next,
                    Err(e) => {
                        tracing::warn!(error = format!("{e:#}"), "scheduler timer failed; retrying");
                        Some(Utc::now() + chrono::Duration::seconds(1))
                    }
                };
                let sleep = next.map_or(IDLE, |at| (at - Utc::now()).to_std().unwrap_or(Duration::ZERO).min(IDLE));
                if sleep.is_zero() {
                    continue;
                }
                tokio::select! {
                    _ = timer.wake.notified() => {}
                    _ = tokio::time::sleep(sleep) => {}
                }
            }
        });
    }

    fn crash_point(&self, at: &str) {
        if self.crash_at.as_deref() == Some(at) {
            tracing::error!(at, "SCHEDULER_CRASH_AT: killing this process");
            let _ = std::process::Command::new("kill").arg("-KILL").arg(std::process::id().to_string()).status();
            std::process::abort();
        }
    }

    /// Claims everything due, then says when the next thing is due.
    async fn tick(&self) -> anyhow::Result<Option<chrono::DateTime<Utc>>> {
        let mut conn = self.pool.get().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        loop {
            let claimed = conn
                .transaction::<_, anyhow::Error, _>(async |conn| {
                    let ids = scheduled::claim_due(conn, BATCH).await?;
                    let jobs: Vec<pb::SendDueJob> = ids.iter().map(|id| pb::SendDueJob { scheduled_message_id: id.to_string() }).collect();
                    jobs::enqueue_all(conn, SEND, &jobs).await?;
                    let fired = fire_reminders(conn).await?;
                    Ok(ids.len() + fired)
                })
                .await?;
            if claimed == 0 {
                break;
            }
            self.crash_point("claimed");
            self.relay.wake();
            if (claimed as i64) < BATCH {
                break;
            }
        }
        Ok(store::next_due(&mut conn).await?)
    }

    /// Sends one claimed scheduled message, exactly once.
    async fn send(&self, job: Job) -> anyhow::Result<()> {
        let j: pb::SendDueJob = job.decode()?;
        let id: ScheduledMessageId = j.scheduled_message_id.parse()?;
        let mut conn = self.pool.get().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let Some(row) = scheduled::get(&mut conn, id).await? else { return Ok(()) };
        drop(conn);
        if row.status != domain::ScheduledStatus::Processing {
            // Done by an earlier delivery.
            return Ok(());
        }
        let req = m::SendMessageRequest {
            channel_id: row.channel_id.map(|c| c.to_string()),
            conversation_id: row.conversation_id.map(|c| c.to_string()),
            content: row.content.clone(),
            client_msg_id: Some(format!("scheduled:{id}")),
            // Sent under its own id: the attachments were claimed for it.
            message_id: Some(id.to_string()),
            attachment_ids: row.attachment_ids.iter().map(ToString::to_string).collect(),
            ..Default::default()
        };
        let sent =
            self.messaging.clone().send_message(ocomms_runtime::identity::service_request(&self.service_token, row.author_id, req)).await;
        let mut conn = self.pool.get().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        match sent {
            Ok(message) => {
                self.crash_point("sent");
                let message_id = message.into_inner().id.parse()?;
                scheduled::mark_sent(&mut conn, id, message_id).await?;
                self.crash_point("marked");
                Ok(())
            }
            Err(status) => {
                let e = ServiceError::from_status(&status);
                let Some(reason) = permanent_failure(&e) else {
                    anyhow::bail!("sending scheduled message {id}: {status}");
                };
                conn.transaction::<_, anyhow::Error, _>(async |conn| {
                    if let Some(failed) = scheduled::mark_failed(conn, id, &reason).await? {
                        let job = pb::ScheduledFailedJob {
                            user_id: failed.author_id.to_string(),
                            scheduled_message: Some(convert::scheduled(&failed)),
                        };
                        jobs::enqueue_all(conn, SCHEDULED_FAILED, &[job]).await?;
                        release_attachments(conn, &failed).await?;
                    }
                    Ok(())
                })
                .await?;
                self.relay.wake();
                Ok(())
            }
        }
    }
}

/// Why a send can never succeed (the author cannot post there any more), or
/// `None` for a failure worth retrying (a service down, a timeout).
fn permanent_failure(e: &ServiceError) -> Option<String> {
    let why = match e.code {
        ErrorCode::NotFound => "the channel or conversation no longer exists, or you can no longer see it".to_owned(),
        ErrorCode::Forbidden | ErrorCode::GuestLocked => format!("you can no longer post there: {}", e.message),
        ErrorCode::Unauthorized => "your account can no longer post".to_owned(),
        ErrorCode::Validation | ErrorCode::Conflict => format!("the message was refused: {}", e.message),
        _ => return None,
    };
    Some(why)
}

/// A scheduled message that will not be sent lets go of its attachments:
/// svc-files withdraws them and removes them later, as for a deleted
/// message (call in the transaction that cancels or fails it).
pub async fn release_attachments(conn: &mut AsyncPgConnection, row: &scheduled::Scheduled) -> anyhow::Result<()> {
    if row.attachment_ids.is_empty() {
        return Ok(());
    }
    let job = m::MessageDeletedJob { message_id: row.id.to_string() };
    jobs::enqueue_all(conn, ocomms_proto::messaging::v1::jobs::MESSAGE_DELETED, &[job]).await
}

/// Fires the due reminders (in the caller's transaction).
async fn fire_reminders(conn: &mut AsyncPgConnection) -> anyhow::Result<usize> {
    let due = reminders::lock_due(conn, BATCH).await?;
    let now = Utc::now();
    let mut out = Vec::with_capacity(due.len());
    for r in &due {
        let tz: Tz = r.timezone.parse().unwrap_or(Tz::UTC);
        let next = match (r.recurrence, r.local_time) {
            (Some(rec), Some(local)) => Some(domain::next_occurrence(r.remind_at, rec, tz, local, now)),
            _ => None,
        };
        reminders::fired(conn, r.id, next).await?;
        let mut snapshot = convert::reminder(r);
        snapshot.status = ReminderStatus::Fired.as_str().to_owned();
        snapshot.fired_at = Some(ocomms_runtime::time::rfc3339(now));
        snapshot.snoozed_until = None;
        out.push(pb::ReminderFiredJob { user_id: r.user_id.to_string(), reminder: Some(snapshot) });
    }
    jobs::enqueue_all(conn, REMINDER_FIRED, &out).await?;
    Ok(due.len())
}

/// LISTENs for wake-ups from other replicas, reconnecting when lost.
async fn listen(database_url: String, timer: Timer) {
    loop {
        match AsyncPgConnection::establish(&database_url).await {
            Ok(mut conn) => {
                let listening = diesel::sql_query(format!("LISTEN {}", store::WAKE_CHANNEL)).execute(&mut conn).await;
                if let Err(e) = listening {
                    tracing::warn!(error = %e, "scheduler LISTEN failed; retrying");
                } else {
                    // Anything may have changed while not listening.
                    timer.wake();
                    let mut stream = std::pin::pin!(conn.notifications_stream());
                    while let Some(n) = stream.next().await {
                        if n.is_err() {
                            break;
                        }
                        timer.wake();
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "scheduler LISTEN connection failed; retrying"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
