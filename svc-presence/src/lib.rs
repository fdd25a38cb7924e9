//! svc-presence: who is active, away or offline in each workspace (typing
//! indicators are svc-messaging's `Typing`: they need channel access).
//!
//! Layout (the one every service has, `docs/architecture.md`): `config.rs`;
//! `domain.rs` (statuses, what shows once live presence expires);
//! `store/` (`live.rs`, the live statuses in a Redis hash per workspace
//! when `REDIS_URL` is set, process memory otherwise; `last_seen.rs`, its
//! database, which keeps only the last status each user set, for "last
//! seen" after the live entry expires); `convert.rs`; `grpc/`,
//! `ocomms.presence.v1.PresenceService`.

pub mod config;
mod convert;
pub mod domain;
mod grpc;
pub mod store;

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
        Some(url) => store::live::Live::redis(url, &config.common.redis_prefix, config.ttl_secs).await?,
        None => store::live::Live::memory(config.ttl_secs),
    };
    let api = grpc::PresenceApi { pool, bus, identity, live };
    let routes = tonic::service::Routes::new(ocomms_runtime::sized!(PresenceServiceServer::new(api)));
    ocomms_runtime::grpc::serve(SERVICE_NAME, routes, listener, stopping, shutdown).await
}
