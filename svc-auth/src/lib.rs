//! svc-auth: users, sessions, passwords, lockout, workspaces, members,
//! invites (and later 2FA, guests, profiles, audit reads).
//!
//! Layout:
//! - `config.rs`: its environment variables;
//! - `domain.rs`: rules without IO (validation, lockout algorithm, roles);
//! - `password.rs`: argon2id hashing on a bounded pool of threads (503 when
//!   its queue is full);
//! - `store/`: diesel-async queries on its own database (`schema.rs`,
//!   `migrations/`);
//! - `grpc.rs`: `ocomms.auth.v1.AuthService`, decoding requests, calling
//!   the domain and the store, encoding answers.
//!
//! svc-auth is the only service that reads sessions: every other service
//! resolves tokens by calling `ResolveToken` (see `ocomms_runtime::identity`).

pub mod config;
mod convert;
pub mod domain;
mod grpc;
pub mod jobs;
mod lockout;
pub mod password;
mod schema;
pub mod store;
pub mod testing;
pub mod totp;

use std::future::Future;

use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use ocomms_proto::auth::v1::auth_service_server::{AuthServiceServer, SERVICE_NAME};
use ocomms_runtime::events::Bus;
use tokio::net::TcpListener;

pub use config::Config;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Runs svc-auth on `listener` until `shutdown` resolves.
pub async fn serve(config: Config, bus: Bus, listener: TcpListener, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
    let stopping = config.common.serve_options();
    let pool = ocomms_runtime::db::prepare(&config.common.database_url, MIGRATIONS, config.common.pool_size).await?;
    let broker = config.common.broker().await?;
    let relay = jobs::start(pool.clone(), broker, bus.clone());
    let api = grpc::AuthApi::new(pool, bus, &config, relay)?;
    let routes = tonic::service::Routes::new(ocomms_runtime::sized!(AuthServiceServer::new(api)));
    ocomms_runtime::grpc::serve(SERVICE_NAME, routes, listener, stopping, shutdown).await
}
