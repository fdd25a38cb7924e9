//! svc-messaging: channels, DMs and group DMs, messages and threads,
//! reactions, pins, read state, mentions, search, notes, bookmarks and
//! user groups.
//!
//! Layout (the one every service has, `docs/architecture.md`):
//! - `config.rs`: its environment variables;
//! - `domain.rs`: rules without IO (names, content limits, mentions,
//!   paging, where a message lives, the thread rule, typed ids);
//! - `access.rs`: workspace memberships from svc-auth, cached briefly;
//! - `policy.rs`: who sees a place and who may do what there;
//! - `store/`: diesel-async queries on its own database;
//! - `grpc/`: `ocomms.messaging.v1.MessagingService`, one file per area.
//!
//! Invariants: svc-messaging never reads svc-auth's tables (it asks svc-auth
//! over gRPC); a message's sequence is taken from its place's counter row
//! in the statement that inserts it (`store::messages::write_new`), so
//! sequences are gap-free; events are published only after the
//! transaction commits.

mod access;
pub mod config;
mod convert;
pub mod domain;
mod grpc;
mod policy;
mod schema;
pub mod store;

use std::future::Future;

use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use ocomms_proto::messaging::v1::messaging_service_server::{MessagingServiceServer, SERVICE_NAME};
use ocomms_runtime::events::Bus;
use ocomms_runtime::identity::Identity;
use tokio::net::TcpListener;

pub use config::Config;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// svc-auth's durable job when someone leaves or is removed from a workspace.
pub use ocomms_proto::auth::v1::jobs::MEMBER_REMOVED;

/// The durable job a message with mentions causes (consumed by svc-notify).
pub use ocomms_proto::messaging::v1::jobs::MESSAGE_MENTIONED;

/// Runs svc-messaging on `listener` until `shutdown` resolves.
pub async fn serve(config: Config, bus: Bus, listener: TcpListener, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
    let stopping = config.common.serve_options();
    let pool = ocomms_runtime::db::prepare(&config.common.database_url, MIGRATIONS, config.common.pool_size).await?;
    let identity = Identity::new(ocomms_runtime::grpc::channel(&config.common.auth_url)?, &config.common.service_token, &bus);
    let access = access::Access::new(identity, config.membership_cache_secs);
    tokio::spawn(on_member_removed(bus.subscribe(), access.clone()));
    let broker = config.common.broker(&pool).await?;
    let relay = ocomms_runtime::jobs::Relay::spawn(pool.clone(), broker.clone(), "messaging");
    let (p2, a2) = (pool.clone(), access.clone());
    broker.consume("messaging.member-removed", &[MEMBER_REMOVED], move |job| {
        let (pool, access) = (p2.clone(), a2.clone());
        async move { drop_memberships(&pool, &access, &job.decode()?).await }
    });
    let presence = ocomms_runtime::sized!(ocomms_proto::presence::v1::presence_service_client::PresenceServiceClient::new(
        ocomms_runtime::grpc::channel(&config.presence_url,)?
    ));
    let files = ocomms_runtime::sized!(ocomms_proto::files::v1::files_service_client::FilesServiceClient::new(
        ocomms_runtime::grpc::channel(&config.files_url)?
    ));
    let api = grpc::MessagingApi { pool, bus, access, presence, relay, files };
    let routes = tonic::service::Routes::new(ocomms_runtime::sized!(MessagingServiceServer::new(api)));
    ocomms_runtime::grpc::serve(SERVICE_NAME, routes, listener, stopping, shutdown).await
}

/// When svc-auth announces on the bus that someone left or was removed
/// from a workspace, this replica forgets their cached membership at once.
async fn on_member_removed(
    mut events: tokio::sync::broadcast::Receiver<std::sync::Arc<ocomms_runtime::events::Event>>,
    access: access::Access,
) {
    use tokio::sync::broadcast::error::RecvError;
    loop {
        let ev = match events.recv().await {
            Ok(ev) => ev,
            Err(RecvError::Lagged(n)) => {
                // A removal may be among the missed: no cached membership stays.
                tracing::warn!(missed = n, "messaging fell behind the event bus");
                access.forget_all();
                continue;
            }
            Err(RecvError::Closed) => return,
        };
        if ev.name == ocomms_runtime::events::BUS_RESUBSCRIBED {
            // Removals published while Redis was away were missed.
            access.forget_all();
            continue;
        }
        if ev.name != ocomms_runtime::events::MEMBER_REMOVED {
            continue;
        }
        let Ok(removed) = ev.decode::<ocomms_proto::auth::v1::MemberRemovedEvent>() else { continue };
        if let (Ok(ws), Ok(user)) = (removed.workspace_id.parse(), removed.user_id.parse()) {
            access.forget(ws, user);
        }
    }
}

/// The durable side (job `member.removed`; svc-auth also calls
/// `RemoveWorkspaceMember` before it answers, so this is the guarantee, not
/// the fast path): their channel memberships and their part in the
/// workspace's conversations go, so they stop reading and receiving them
/// (the others keep them). Idempotent.
async fn drop_memberships(
    pool: &ocomms_runtime::db::Pool,
    access: &access::Access,
    job: &ocomms_proto::auth::v1::MemberRemovedJob,
) -> anyhow::Result<()> {
    let ws = ocomms_runtime::ids::parse("workspaceId", &job.workspace_id)?;
    let user = ocomms_runtime::ids::parse("userId", &job.user_id)?;
    // Jobs written before `removedAt` existed: everything up to now.
    let removed_at = chrono::DateTime::parse_from_rfc3339(&job.removed_at).ok().map(|t| t.to_utc());
    remove_workspace_member(pool, access, ws, user, removed_at.unwrap_or_else(chrono::Utc::now)).await
}

/// Ends what the user had in the workspace from before `removed_at`: their
/// channel memberships, their part in its conversations, their used guest
/// grants. Memberships taken after it (they came back) stay. Idempotent.
pub(crate) async fn remove_workspace_member(
    pool: &ocomms_runtime::db::Pool,
    access: &access::Access,
    ws: ocomms_runtime::ids::WorkspaceId,
    user: ocomms_runtime::ids::UserId,
    removed_at: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    access.forget(ws, user);
    let mut conn = pool.get().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    store::channels::remove_from_workspace(&mut conn, ws, user, removed_at).await?;
    store::conversations::remove_from_workspace(&mut conn, ws, user, removed_at).await?;
    Ok(())
}
