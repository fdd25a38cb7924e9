//! svc-auth's durable jobs (see `ocomms_runtime::jobs`).
//!
//! `guest.expired`: written when a guest joins, due when their access turns
//! read-only; handled here by telling the guest's sockets (`guest:locked`
//! per channel) and recording it in the audit log. Reading already treats
//! an expired guest as locked; the job makes it visible on time.
//!
//! `status.expired`: written when a custom status with `expiresAt` is set,
//! due then; clears the status if it has expired by then (a newer status
//! has its own job) and sends `status:update` to the workspace's members.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use ocomms_proto::auth::v1 as pb;
use ocomms_runtime::db::Pool;
use ocomms_runtime::events::{Bus, Event};
use ocomms_runtime::ids::{UserId, WorkspaceId};
use ocomms_runtime::jobs::{self, Broker, Job};

use crate::store::audit::{self, Entry};
use crate::store::{profiles, workspaces};

pub const GUEST_EXPIRED: &str = "guest.expired";

pub use ocomms_proto::auth::v1::jobs::MEMBER_REMOVED;

/// `removed_at`: what they had from before then goes (a later return keeps
/// its new memberships, however late the job runs).
pub async fn member_removed(
    conn: &mut AsyncPgConnection,
    ws: WorkspaceId,
    user: UserId,
    removed_at: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    let job = pb::MemberRemovedJob {
        workspace_id: ws.to_string(),
        user_id: user.to_string(),
        removed_at: ocomms_runtime::time::rfc3339(removed_at),
    };
    jobs::enqueue(conn, MEMBER_REMOVED, &job, None).await
}

pub async fn schedule_guest_expiry(
    conn: &mut AsyncPgConnection,
    ws: WorkspaceId,
    user: UserId,
    until: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    let job =
        pb::GuestExpiredJob { workspace_id: ws.to_string(), user_id: user.to_string(), expires_at: ocomms_runtime::time::rfc3339(until) };
    jobs::enqueue(conn, GUEST_EXPIRED, &job, Some(until)).await
}

pub const STATUS_EXPIRED: &str = "status.expired";

pub async fn schedule_status_expiry(
    conn: &mut AsyncPgConnection,
    ws: WorkspaceId,
    user: UserId,
    at: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    let job = pb::StatusExpiredJob { workspace_id: ws.to_string(), user_id: user.to_string() };
    jobs::enqueue(conn, STATUS_EXPIRED, &job, Some(at)).await
}

/// Starts the relay of svc-auth's outbox and its consumers.
pub fn start(pool: Pool, broker: Broker, bus: Bus) -> jobs::Relay {
    let relay = jobs::Relay::spawn(pool.clone(), broker.clone(), "auth");
    let (p, b) = (pool.clone(), bus.clone());
    broker.consume("auth.status-expiry", &[STATUS_EXPIRED], move |job| {
        let (pool, bus) = (p.clone(), b.clone());
        async move { status_expired(&pool, &bus, job).await }
    });
    broker.consume("auth.guest-expiry", &[GUEST_EXPIRED], move |job| {
        let (pool, bus) = (pool.clone(), bus.clone());
        async move { guest_expired(&pool, &bus, job).await }
    });
    relay
}

/// The workspace and user a job names.
fn subject(workspace_id: &str, user_id: &str) -> anyhow::Result<(WorkspaceId, UserId)> {
    Ok((ocomms_runtime::ids::parse("workspaceId", workspace_id)?, ocomms_runtime::ids::parse("userId", user_id)?))
}

async fn status_expired(pool: &Pool, bus: &Bus, job: Job) -> anyhow::Result<()> {
    let payload: pb::StatusExpiredJob = job.decode()?;
    let (ws, user) = subject(&payload.workspace_id, &payload.user_id)?;
    let mut conn = pool.get().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let cleared = jobs::once(&mut conn, &job.id, |conn| Box::pin(async move { Ok(profiles::clear_expired_status(conn, ws, user).await?) }))
        .await?
        .unwrap_or(false);
    if cleared {
        let to = workspaces::member_ids(&mut conn, ws).await?;
        let none = serde_json::json!({ "emoji": null, "text": null, "expiresAt": null, "dnd": false });
        bus.publish(Event::to_users(to, "status:update", serde_json::json!({ "userId": user, "workspaceId": ws, "status": none }))).await;
    }
    Ok(())
}

async fn guest_expired(pool: &Pool, bus: &Bus, job: Job) -> anyhow::Result<()> {
    let payload: pb::GuestExpiredJob = job.decode()?;
    let (ws, user) = subject(&payload.workspace_id, &payload.user_id)?;
    let mut conn = pool.get().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    // Still a guest whose access has ended? (They may have been removed,
    // or their expiry moved.)
    let Some(m) = workspaces::membership(&mut conn, ws, user).await? else { return Ok(()) };
    if !m.is_guest || m.expires_at.is_none_or(|e| e > Utc::now()) {
        return Ok(());
    }
    let channels = workspaces::guest_channels(&mut conn, ws, user).await?;
    let fresh = jobs::once(&mut conn, &job.id, |conn| {
        Box::pin(async move {
            audit::record(
                conn,
                Entry {
                    workspace_id: Some(ws),
                    user_id: Some(user),
                    action: "guest_locked",
                    ip_address: None,
                    user_agent: None,
                    details: serde_json::json!({ "expiredAt": m.expires_at }),
                },
            )
            .await;
            Ok(())
        })
    })
    .await?
    .is_some();
    if fresh {
        for c in channels {
            bus.publish(Event::to_users(vec![user], "guest:locked", serde_json::json!({ "channelId": c, "workspaceId": ws }))).await;
        }
    }
    Ok(())
}
