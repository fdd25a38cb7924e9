//! svc-files: uploads (attachments, avatars, custom emoji), checked as they
//! stream and stored in S3 or a local directory; downloads checked against
//! who may see what a file belongs to; exact per-user quotas; thumbnails
//! and cleanup as durable jobs.
//!
//! Layout (the one svc-scheduler set, see docs/architecture.md): `config.rs`;
//! `grpc/` decodes, resolves the caller, asks `policy.rs`, calls `store/`
//! and `storage.rs`, encodes with `convert.rs`; `domain.rs` holds the rules
//! without IO (kinds, limits, types, names); `images.rs` decodes and
//! encodes off the runtime; `engine.rs` runs the jobs.

pub mod config;
mod convert;
pub mod domain;
mod engine;
mod grpc;
mod images;
mod policy;
pub mod previews;
pub mod storage;
mod store;

use std::future::Future;

use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use ocomms_proto::files::v1::files_service_server::{FilesServiceServer, SERVICE_NAME};
use ocomms_proto::messaging::v1::messaging_service_client::MessagingServiceClient;
use ocomms_runtime::events::Bus;
use ocomms_runtime::identity::Identity;
use tokio::net::TcpListener;

pub use config::Config;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Runs svc-files on `listener` until `shutdown` resolves.
pub async fn serve(config: Config, bus: Bus, listener: TcpListener, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
    let stopping = config.common.serve_options();
    let pool = ocomms_runtime::db::prepare(&config.common.database_url, MIGRATIONS, config.common.pool_size).await?;
    let identity = Identity::new(ocomms_runtime::grpc::channel(&config.common.auth_url)?, &config.common.service_token, &bus);
    let messaging = ocomms_runtime::sized!(MessagingServiceClient::new(ocomms_runtime::grpc::channel(&config.messaging_url)?));
    let storage = storage::Storage::from_config(config.s3.as_ref(), &config.upload_dir).await?;
    let broker = config.common.broker(&pool).await?;
    let relay = ocomms_runtime::jobs::Relay::spawn(pool.clone(), broker.clone(), "files");
    let cleanup_after = chrono::Duration::seconds(config.cleanup_after_secs);
    // One TLS implementation for the fetches (ring, as for S3).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let fetcher = previews::Fetcher { allowed_hosts: config.preview_allowed_hosts.clone(), timeout: std::time::Duration::from_secs(5) };
    engine::Engine {
        pool: pool.clone(),
        storage: storage.clone(),
        relay: relay.clone(),
        cleanup_after,
        fetcher,
        messaging: messaging.clone(),
        service_token: config.common.service_token.clone(),
    }
    .start(&broker);
    let api = grpc::FilesApi {
        pool,
        auth: identity.auth_client(),
        identity,
        messaging,
        storage,
        quota_bytes: config.quota_bytes,
        cleanup_after,
        relay,
    };
    let routes = tonic::service::Routes::new(ocomms_runtime::sized!(FilesServiceServer::new(api)));
    ocomms_runtime::grpc::serve(SERVICE_NAME, routes, listener, stopping, shutdown).await
}
