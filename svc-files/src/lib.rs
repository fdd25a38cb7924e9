//! svc-files: uploads, validation, quotas, storage (S3 or a local
//! directory), avatars, custom emoji and link previews.
//!
//! Layout: `config.rs`; `grpc.rs`, `ocomms.files.v1.FilesService`; its
//! database holds file records, per-user storage accounting, custom emoji
//! and link previews (`migrations/`). So far it answers storage usage;
//! uploads come with their issue.

pub mod config;
mod grpc;

use std::future::Future;

use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use ocomms_proto::files::v1::files_service_server::{FilesServiceServer, SERVICE_NAME};
use ocomms_runtime::events::Bus;
use ocomms_runtime::identity::Identity;
use tokio::net::TcpListener;

pub use config::Config;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Runs svc-files on `listener` until `shutdown` resolves.
pub async fn serve(config: Config, bus: Bus, listener: TcpListener, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
    let pool = ocomms_runtime::db::prepare(&config.common.database_url, MIGRATIONS, config.common.pool_size).await?;
    let identity = Identity::new(ocomms_runtime::grpc::channel(&config.common.auth_url)?, &config.common.service_token, &bus);
    let api = grpc::FilesApi { pool, identity, quota_bytes: config.quota_bytes };
    let routes = tonic::service::Routes::new(ocomms_runtime::sized!(FilesServiceServer::new(api)));
    ocomms_runtime::grpc::serve(SERVICE_NAME, routes, listener, shutdown).await
}
