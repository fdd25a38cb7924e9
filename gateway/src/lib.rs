//! The edge of OComms: REST under `/api/*`, the WebSocket at `/api/ws`,
//! and the OpenAPI document, translated into gRPC calls to the services.
//!
//! Layout:
//! - `config.rs`: its environment variables;
//! - `routes/`: the router: the routes the protos declare
//!   (`google.api.http`), the handlers of those that differ in kind
//!   (`routes::custom`) and the routes that are no RPC (`routes::described`);
//! - `rest.rs`: the generic forwarder of declared routes: path, query and
//!   body into the request message, the caller's token as gRPC metadata,
//!   the answer as JSON (the services own every rule);
//! - `extract.rs`: extractors whose failures answer in the seed's error
//!   shape, and the caller's token (bearer header or cookie);
//! - `error.rs`: the seed's JSON error shape, from gRPC statuses;
//! - `ws.rs`: the socket protocol; `hub.rs`: sockets by user and the
//!   dispatcher that delivers bus events to them;
//! - `openapi.rs`: the document, generated from the protos' declarations;
//! - `grpc_web.rs`: gRPC-web for every service on the same port;
//! - `events.rs`: the WebSocket's events as a gRPC server stream
//!   (`ocomms.gateway.v1.EventsService/Subscribe`, gRPC and gRPC-web);
//! - `ratelimit.rs`: the seed's rate limits; `metrics.rs`: Prometheus;
//! - `web.rs`: the web client's files at `/` (`WEB_DIR`).
//!
//! Invariants: the gateway holds no database and no business rule; it never
//! decides who a caller is (svc-auth does, for every service: the gateway
//! asks it, through the identity cache, to know whose rate-limit allowance a
//! request spends, and which user a socket or event stream belongs to);
//! only it speaks HTTP/JSON.

#![recursion_limit = "512"]

pub mod config;
pub mod error;
pub mod events;
pub mod extract;
pub mod grpc_web;
pub mod hub;
pub mod metrics;
pub mod openapi;
pub mod ratelimit;
pub mod rest;
pub mod routes;
pub mod web;
pub mod ws;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use ocomms_proto::auth::v1::auth_service_client::AuthServiceClient;
use ocomms_proto::files::v1::files_service_client::FilesServiceClient;
use ocomms_proto::messaging::v1::messaging_service_client::MessagingServiceClient;
use ocomms_proto::notify::v1::notify_service_client::NotifyServiceClient;
use ocomms_proto::presence::v1::presence_service_client::PresenceServiceClient;
use ocomms_proto::scheduler::v1::scheduler_service_client::SchedulerServiceClient;
use ocomms_runtime::events::Bus;
use ocomms_runtime::identity::Identity;
use tokio::net::TcpListener;
use tonic::transport::Channel;

pub use config::Config;

/// gRPC clients of every service (cheap to clone; one HTTP/2 connection each).
#[derive(Clone)]
pub struct Clients {
    pub auth: AuthServiceClient<Channel>,
    pub messaging: MessagingServiceClient<Channel>,
    pub presence: PresenceServiceClient<Channel>,
    pub files: FilesServiceClient<Channel>,
    /// svc-files for uploads and downloads: no limit on a call's duration.
    pub file_streams: FilesServiceClient<Channel>,
    pub scheduler: SchedulerServiceClient<Channel>,
    pub notify: NotifyServiceClient<Channel>,
    /// Each service's channel, for health checks.
    pub health: Vec<(&'static str, Channel)>,
}

impl Clients {
    pub fn connect(urls: &config::ServiceUrls) -> anyhow::Result<Self> {
        let ch = ocomms_runtime::grpc::channel;
        Ok(Self {
            auth: ocomms_runtime::sized!(AuthServiceClient::new(ch(&urls.auth)?)),
            messaging: ocomms_runtime::sized!(MessagingServiceClient::new(ch(&urls.messaging)?)),
            presence: ocomms_runtime::sized!(PresenceServiceClient::new(ch(&urls.presence)?)),
            files: ocomms_runtime::sized!(FilesServiceClient::new(ch(&urls.files)?)),
            file_streams: ocomms_runtime::sized!(FilesServiceClient::new(ocomms_runtime::grpc::stream_channel(&urls.files)?)),
            scheduler: ocomms_runtime::sized!(SchedulerServiceClient::new(ch(&urls.scheduler)?)),
            notify: ocomms_runtime::sized!(NotifyServiceClient::new(ch(&urls.notify)?)),
            health: urls.all().into_iter().map(|(n, u)| Ok((n, ch(u)?))).collect::<anyhow::Result<_>>()?,
        })
    }
}

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    /// Shared, not copied: a socket's task holds an `AppState` for its
    /// lifetime, and the clients by value are most of its size.
    pub clients: Arc<Clients>,
    pub hub: Arc<hub::Hub>,
    pub limiter: ratelimit::Limiter,
    pub metrics: Arc<metrics::Metrics>,
    /// Tokens resolved through svc-auth (cached, dropped on revocation):
    /// whose rate-limit allowance a request spends.
    pub identity: Identity,
    /// Turns true when the gateway is stopping: open event streams end
    /// (graceful shutdown waits for every response to finish).
    pub stopping: tokio::sync::watch::Receiver<bool>,
}

/// The client's address: the peer, or `X-Forwarded-For` behind a trusted proxy.
pub fn client_ip(config: &Config, req: &axum::http::request::Parts) -> String {
    let forwarded = config
        .trust_proxy
        .then(|| req.headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()))
        .flatten()
        // The rightmost entry is the one our proxy appended; entries to its
        // left come from the client and can be forged.
        .and_then(|v| v.rsplit(',').next())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    forwarded
        .or_else(|| req.extensions.get::<axum::extract::ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string()))
        .unwrap_or_else(|| "unknown".to_owned())
}

async fn rate_limit(
    axum::extract::State(s): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let path = req.uri().path();
    // The web client's files are not the API: loading the app spends nothing.
    let static_file = !path.starts_with("/api/") && !grpc_web::is_grpc(req.headers());
    if s.limiter.is_off() || static_file || path == "/api/health" || path == "/api/openapi.json" || path == "/metrics" {
        return next.run(req).await;
    }
    let bucket = ratelimit::Bucket::of(req.method(), path);
    let (parts, body) = req.into_parts();
    let key = rate_limit_key(&s, bucket, &parts).await;
    if let Err(e) = s.limiter.check(bucket, &key).await {
        let req = axum::extract::Request::from_parts(parts, body);
        // A gRPC-web client gets a gRPC status it can read.
        return if grpc_web::is_grpc_web(req.headers()) { grpc_web::refuse(req, e).await } else { e.into_response() };
    }
    next.run(axum::extract::Request::from_parts(parts, body)).await
}

/// Whose allowance a request spends: the signed-in user's (their token
/// resolved by svc-auth, through the cache) on the buckets kept per
/// account, else the client address's. A token that does not resolve
/// counts as no token, so invented tokens never get allowances of their own.
async fn rate_limit_key(s: &AppState, bucket: ratelimit::Bucket, parts: &axum::http::request::Parts) -> String {
    if bucket.per_account()
        && let Some(token) = extract::token_from_headers(&parts.headers)
        && let Ok(principal) = s.identity.resolve(&token).await
    {
        return ratelimit::user_key(principal.user_id);
    }
    ratelimit::addr_key(&client_ip(&s.config, parts))
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    routes::router()
        // gRPC-web for every service (`/ocomms.<domain>.v1.<Service>/<Method>`).
        .route("/{service}/{method}", axum::routing::any(grpc_web::handle))
        .fallback(web::serve)
        .method_not_allowed_fallback(routes::misc::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), rate_limit))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(DefaultBodyLimit::max(1024 * 1024))
        // Spans name the path only: a query string may carry a token (`/api/ws?token=`).
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let span = tracing::info_span!("http", method = %req.method(), path = %web::loggable_path(req.uri().path()));
            ocomms_runtime::telemetry::http_parent(&span, req.headers());
            span
        }))
        .with_state(state)
}

/// Runs the gateway from the environment `env` until `shutdown` resolves:
/// `ocomms serve gateway` and the gateway's own binary.
pub async fn run(mut env: ocomms_runtime::config::Env, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    let config = Config::from_env(&mut env);
    env.finish()?;
    let bus = Bus::connect(config.redis_url.as_deref(), &config.redis_prefix).await?;
    let listener = TcpListener::bind(config.listen).await?;
    serve(config, bus, listener, shutdown).await
}

/// Runs the gateway on `listener` until `shutdown` resolves; events from
/// `bus` reach the sockets connected here.
pub async fn serve(
    config: Config,
    bus: Bus,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let clients = Clients::connect(&config.services)?;
    let identity = Identity::new(ocomms_runtime::grpc::channel(&config.services.auth)?, &config.service_token, &bus);
    let metrics = Arc::new(metrics::Metrics::default());
    let hub = hub::Hub::new(config.ws_queue_frames, metrics.clone());
    let dispatcher = tokio::spawn(hub.clone().dispatch(bus));
    let limiter = match (&config.rate_limit_enabled, &config.redis_url) {
        (false, _) => ratelimit::Limiter::off(),
        (true, Some(url)) => {
            let conn = redis::Client::open(url.as_str())?.get_connection_manager().await?;
            ratelimit::Limiter::redis(conn, &config.redis_prefix)
        }
        (true, None) => ratelimit::Limiter::local(),
    };
    let (stop_streams, stopping) = tokio::sync::watch::channel(false);
    let state = AppState { config: Arc::new(config), clients: Arc::new(clients), hub, limiter, metrics, identity, stopping };
    tracing::info!(addr = %listener.local_addr()?, "gateway listening");
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    // Small responses must not wait for delayed ACKs (Nagle).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "TCP_NODELAY failed");
        }
    });
    let shutdown = async move {
        shutdown.await;
        let _ = stop_streams.send(true);
    };
    let result = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    dispatcher.abort();
    result?;
    tracing::info!("gateway stopped");
    Ok(())
}
