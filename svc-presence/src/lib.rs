//! svc-presence: who is active, away or offline in each workspace (and
//! later typing indicators).
//!
//! Layout: `config.rs`; `live.rs`, the live presence store (Redis hash per
//! workspace when `REDIS_URL` is set, process memory otherwise); `grpc.rs`,
//! `ocomms.presence.v1.PresenceService`. Its database keeps only the last
//! status each user set (`last_seen`), for "last seen" after the live entry
//! expires.

pub mod config;
mod grpc;
pub mod live;

use std::future::Future;

use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use ocomms_proto::presence::v1::presence_service_server::{PresenceServiceServer, SERVICE_NAME};
use ocomms_runtime::events::Bus;
use ocomms_runtime::identity::Identity;
use tokio::net::TcpListener;

pub use config::Config;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Runs svc-presence on `listener` until `shutdown` resolves.
pub async fn serve(config: Config, bus: Bus, listener: TcpListener, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
    let stopping = config.common.serve_options();
    let pool = ocomms_runtime::db::prepare(&config.common.database_url, MIGRATIONS, config.common.pool_size).await?;
    let identity = Identity::new(ocomms_runtime::grpc::channel(&config.common.auth_url)?, &config.common.service_token, &bus);
    let live = match &config.common.redis_url {
        Some(url) => live::Live::redis(url, &config.common.redis_prefix, config.ttl_secs).await?,
        None => live::Live::memory(config.ttl_secs),
    };
    let api = grpc::PresenceApi { pool, bus, identity, live };
    let routes = tonic::service::Routes::new(ocomms_runtime::sized!(PresenceServiceServer::new(api)));
    ocomms_runtime::grpc::serve(SERVICE_NAME, routes, listener, stopping, shutdown).await
}
