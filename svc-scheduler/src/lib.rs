//! svc-scheduler: scheduled messages, reminders, status and guest expiry,
//! cleanup jobs. Every delayed job keeps its truth in PostgreSQL (it
//! survives any restart); RabbitMQ carries due work to the workers.
//!
//! Layout: `config.rs`; `grpc.rs`, `ocomms.scheduler.v1.SchedulerService`.
//! So far it lists scheduled messages; scheduling and the workers come with
//! their issue.

pub mod config;
mod grpc;

use std::future::Future;

use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use ocomms_proto::scheduler::v1::scheduler_service_server::{SERVICE_NAME, SchedulerServiceServer};
use ocomms_runtime::events::Bus;
use ocomms_runtime::identity::Identity;
use tokio::net::TcpListener;

pub use config::Config;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Runs svc-scheduler on `listener` until `shutdown` resolves.
pub async fn serve(config: Config, bus: Bus, listener: TcpListener, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
    let pool = ocomms_runtime::db::prepare(&config.common.database_url, MIGRATIONS, config.common.pool_size).await?;
    let identity = Identity::new(ocomms_runtime::grpc::channel(&config.common.auth_url)?, &config.common.service_token, &bus);
    let api = grpc::SchedulerApi { pool, identity };
    let routes = tonic::service::Routes::new(ocomms_runtime::sized!(SchedulerServiceServer::new(api)));
    ocomms_runtime::grpc::serve(SERVICE_NAME, routes, listener, shutdown).await
}
