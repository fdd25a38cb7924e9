//! svc-auth: users, sessions, passwords, lockout, two-factor, workspaces,
//! members and roles, invites, guests, join requests, profiles, statuses
//! and the audit log.
//!
//! Layout (the one every service has, `docs/architecture.md`):
//! - `config.rs`: its environment variables;
//! - `domain.rs`: rules without IO (validation, lockout delays, roles,
//!   tokens, typed ids);
//! - `lockout.rs`: the lockout as it runs against the database;
//! - `password.rs`: argon2id hashing on a bounded pool of threads (503 when
//!   its queue is full); `totp.rs`: RFC 6238 codes and backup codes;
//! - `store/`: diesel-async queries on its own database (`schema.rs`,
//!   `migrations/`); `convert.rs`: rows to protos;
//! - `grpc/`: `ocomms.auth.v1.AuthService`, decoding requests, calling
//!   the domain and the store, encoding answers;
//! - `jobs.rs`: its delayed jobs (guest and status expiry, member removal);
//!   `testing.rs`: svc-auth on port 0 for other crates' tests.
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
mod policy;
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
    let broker = config.common.broker(&pool).await?;
    let relay = jobs::start(pool.clone(), broker, bus.clone());
    let api = grpc::AuthApi::new(pool, bus, &config, relay)?;
    let routes = tonic::service::Routes::new(ocomms_runtime::sized!(AuthServiceServer::new(api)));
    ocomms_runtime::grpc::serve(SERVICE_NAME, routes, listener, stopping, shutdown).await
}
