//! svc-messaging: channels, messages, their order and delivery (and later
//! DMs, threads, reactions, pins, read state, search, notes).
//!
//! Layout:
//! - `config.rs`: its environment variables;
//! - `domain.rs`: rules without IO (names, content limits, paging);
//! - `access.rs`: who may see and post where (workspace membership from
//!   svc-auth, cached briefly; channel membership from its own tables);
//! - `store/`: diesel-async queries on its own database;
//! - `grpc.rs`: `ocomms.messaging.v1.MessagingService`.
//!
//! Invariants: svc-messaging never reads svc-auth's tables (it asks svc-auth
//! over gRPC); a message's sequence is taken from its channel's counter row
//! inside the insert transaction, so sequences are gap-free; events are
//! published only after the transaction commits.

mod access;
pub mod config;
pub mod domain;
mod grpc;
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

/// Runs svc-messaging on `listener` until `shutdown` resolves.
pub async fn serve(config: Config, bus: Bus, listener: TcpListener, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
    let pool = ocomms_runtime::db::prepare(&config.common.database_url, MIGRATIONS, config.common.pool_size).await?;
    let identity = Identity::new(ocomms_runtime::grpc::channel(&config.common.auth_url)?, &config.common.service_token, &bus);
    let access = access::Access::new(identity, config.membership_cache_secs);
    let api = grpc::MessagingApi { pool, bus, access };
    let routes = tonic::service::Routes::new(MessagingServiceServer::new(api));
    ocomms_runtime::grpc::serve(SERVICE_NAME, routes, listener, shutdown).await
}
