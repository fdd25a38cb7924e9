//! svc-notify: notifications, per-channel notification settings, DND, web
//! push and email.
//!
//! Layout (the one every service has, `docs/architecture.md`): `config.rs`;
//! `grpc/`, `ocomms.notify.v1.NotifyService`; `policy.rs` (who may see
//! what it tells of, asked of svc-messaging); `domain.rs` (typed ids,
//! levels, rules without IO); `convert.rs`; `store/` (its queries;
//! `store/notifications.rs` is the one place notifications are made, each
//! with its push jobs); the consumers of other services' jobs: `mentions.rs`
//! (`message.mentioned`: mentions, thread replies, DMs) and `scheduled.rs`
//! (reminders, failed scheduled messages); `push.rs`, web push (its own
//! `notify.push` jobs); `digest.rs`, unread mentions and DMs by email in
//! batches; `mail.rs`, SMTP or the log; `testing.rs`, a push
//! service for tests that checks VAPID and decrypts.

pub mod config;
mod convert;
pub mod digest;
pub mod domain;
mod grpc;
pub mod mail;
pub mod mentions;
mod policy;
pub mod push;
pub mod scheduled;
mod store;
pub mod testing;

use std::future::Future;

use diesel_migrations::{EmbeddedMigrations, embed_migrations};
use ocomms_proto::notify::v1::notify_service_server::{NotifyServiceServer, SERVICE_NAME};
use ocomms_runtime::events::Bus;
use ocomms_runtime::identity::Identity;
use tokio::net::TcpListener;

pub use config::Config;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Runs svc-notify on `listener` until `shutdown` resolves.
pub async fn serve(config: Config, bus: Bus, listener: TcpListener, shutdown: impl Future<Output = ()> + Send) -> anyhow::Result<()> {
    let stopping = config.common.serve_options();
    let pool = ocomms_runtime::db::prepare(&config.common.database_url, MIGRATIONS, config.common.pool_size).await?;
    let identity = Identity::new(ocomms_runtime::grpc::channel(&config.common.auth_url)?, &config.common.service_token, &bus);
    let mailer = mail::Mailer::from_config(config.smtp.as_ref())?;
    let broker = config.common.broker(&pool).await?;
    let messaging = ocomms_runtime::sized!(ocomms_proto::messaging::v1::messaging_service_client::MessagingServiceClient::new(
        ocomms_runtime::grpc::channel(&config.messaging_url,)?
    ));
    // Pushes go through svc-notify's own outbox (committed with the notification).
    let _relay = ocomms_runtime::jobs::Relay::spawn(pool.clone(), broker.clone(), "notify");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let pusher = push::Pusher {
        vapid: config.vapid.clone().map(std::sync::Arc::new),
        allowed_hosts: std::sync::Arc::new(config.push_allowed_hosts.clone()),
        http_timeout: std::time::Duration::from_secs(10),
    };
    let presence = push::Presence {
        client: ocomms_proto::presence::v1::presence_service_client::PresenceServiceClient::new(ocomms_runtime::grpc::channel(
            &config.presence_url,
        )?),
        service_token: config.common.service_token.clone(),
    };
    push::start(pool.clone(), &broker, pusher.clone(), presence.clone());
    let delay = std::time::Duration::from_secs(config.email_digest_delay_secs);
    digest::Digest {
        pool: pool.clone(),
        mailer: mailer.clone(),
        presence,
        auth: identity.auth_client(),
        messaging: messaging.clone(),
        service_token: config.common.service_token.clone(),
        delay,
        tick: delay.clamp(std::time::Duration::from_secs(1), std::time::Duration::from_secs(5)),
        public_url: config.public_url.clone(),
    }
    .start();
    mentions::start(
        pool.clone(),
        &broker,
        bus.clone(),
        mentions::Auth { client: identity.auth_client(), messaging: messaging.clone(), service_token: config.common.service_token.clone() },
    );
    scheduled::start(pool.clone(), &broker, bus.clone());
    let api = grpc::NotifyApi { pool, identity, bus, mailer, service_token: config.common.service_token.clone(), messaging, pusher };
    let routes = tonic::service::Routes::new(ocomms_runtime::sized!(NotifyServiceServer::new(api)));
    ocomms_runtime::grpc::serve(SERVICE_NAME, routes, listener, stopping, shutdown).await
}
