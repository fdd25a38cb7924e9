//! svc-scheduler: scheduled messages and reminders, sent and fired exactly
//! once at their time. Every due time lives in PostgreSQL (it survives any
//! restart); RabbitMQ carries due work to the workers (`engine.rs`).
//!
//! Layout (the one every service has, see docs/architecture.md):
//! `config.rs`; `grpc/` decodes, reads the caller, asks `policy.rs`,
//! calls `store/`, encodes with `convert.rs`; `domain.rs` holds the rules
//! without IO (times, zones, recurrence); `engine.rs` the timer and jobs.

pub mod config;
mod convert;
pub mod domain;
pub mod engine;
mod grpc;
mod policy;
pub mod store;

use std::future::Future;

use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use ocomms_proto::messaging::v1::messaging_service_client::MessagingServiceClient;
use ocomms_proto::scheduler::v1::scheduler_service_server::{SERVICE_NAME, SchedulerServiceServer};
use ocomms_runtime::events::Bus;
use ocomms_runtime::identity::Identity;
use tokio::net::TcpListener;

pub use config::Config;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Runs svc-scheduler on `listener` until `shutdown` resolves.
pub async fn serve(config: Config, bus: Bus, listener: TcpListener, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
    let stopping = config.common.serve_options();
    let pool = ocomms_runtime::db::prepare(&config.common.database_url, MIGRATIONS, config.common.pool_size).await?;
    let identity = Identity::new(ocomms_runtime::grpc::channel(&config.common.auth_url)?, &config.common.service_token, &bus);
    let messaging = ocomms_runtime::sized!(MessagingServiceClient::new(ocomms_runtime::grpc::channel(&config.messaging_url)?));
    let broker = config.common.broker(&pool).await?;
    let relay = ocomms_runtime::jobs::Relay::spawn(pool.clone(), broker.clone(), "scheduler");
    let files = ocomms_runtime::sized!(ocomms_proto::files::v1::files_service_client::FilesServiceClient::new(
        ocomms_runtime::grpc::channel(&config.files_url)?
    ));
    let timer = engine::Timer::default();
    engine::Engine {
        pool: pool.clone(),
        relay: relay.clone(),
        messaging: messaging.clone(),
        service_token: config.common.service_token.clone(),
        crash_at: config.crash_at.clone(),
    }
    .start(&broker, &config.common.database_url, timer.clone());
    let api = grpc::SchedulerApi { pool, identity, messaging, timer, files, relay };
    let routes = tonic::service::Routes::new(ocomms_runtime::sized!(SchedulerServiceServer::new(api)));
    ocomms_runtime::grpc::serve(SERVICE_NAME, routes, listener, stopping, shutdown).await
}
