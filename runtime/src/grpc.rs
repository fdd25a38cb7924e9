//! Serving and calling gRPC.
//!
//! [`serve`] is how every service runs: its tonic routes plus gRPC health
//! (`grpc.health.v1`) and server reflection over every OComms proto, on a
//! listener the caller bound (port 0 in tests), until `shutdown` resolves;
//! in-flight calls finish before it returns.

use std::future::Future;
use std::time::Duration;

use std::collections::BTreeMap;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::service::Routes;

use tonic::transport::channel::Change;
use tonic::transport::{Channel, Endpoint, Server};
use tonic_health::ServingStatus;

/// The largest gRPC message any OComms client or server sends or accepts.
/// A page of history holds up to 200 messages of 40,000 characters (up to
/// 4 bytes each, so 32 MB of content); tonic's default of 4 MiB would make
/// a busy channel unreadable. Apply it with [`sized!`](crate::sized) to
/// every generated client and server.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// How a server takes calls and stops (`GRPC_MAX_IN_FLIGHT`,
/// `SHUTDOWN_DRAIN_SECS`, `SHUTDOWN_GRACE_SECS`; see `ServiceConfig`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ServeOptions {
    /// Calls being handled at most (0: no limit), counted until their
    /// answer starts (a download streaming out, or an export, no longer
    /// counts; an upload does while it streams in); more are refused at
    /// once with UNAVAILABLE and `retryAfter` (`ServiceError::overloaded`).
    /// Health checks are always answered.
    pub max_in_flight: usize,
    /// Health answers NOT_SERVING this long while calls are still served.
    pub drain: Duration,
    /// Then calls in flight get this long to finish.
    pub grace: Duration,
}

/// Sets [`MAX_MESSAGE_BYTES`] as the encoding and decoding limit of a
/// generated tonic client or server: `sized!(AuthServiceClient::new(ch))`.
#[macro_export]
macro_rules! sized {
    ($e:expr) => {
        $e.max_decoding_message_size($crate::grpc::MAX_MESSAGE_BYTES).max_encoding_message_size($crate::grpc::MAX_MESSAGE_BYTES)
    };
}

/// Serves `routes` with health (reporting `service_name` and the overall
/// server as SERVING) and reflection until `shutdown` resolves. Then health
/// answers NOT_SERVING while calls are still accepted for `stopping.drain`,
/// so that balancing peers ([`channel`]) move their calls to other
/// replicas before this one stops listening; in-flight calls then get
/// `stopping.grace` to finish (an error if some did not).
pub async fn serve(
    service_name: &'static str,
    routes: Routes,
    listener: TcpListener,
    stopping: ServeOptions,
    shutdown: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter.set_service_status(service_name, ServingStatus::Serving).await;
    reporter.set_service_status("", ServingStatus::Serving).await;
    // Advertise only what this server serves (the descriptor set holds
    // every OComms proto).
    let reflection_builder = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(ocomms_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .with_service_name(service_name)
            .with_service_name("grpc.health.v1.Health")
            .with_service_name("grpc.reflection.v1.ServerReflection")
    };
    let reflection = reflection_builder().build_v1()?;
    let reflection_alpha = reflection_builder().build_v1alpha()?;
    let routes = routes.add_service(health).add_service(reflection).add_service(reflection_alpha);
    let addr = listener.local_addr()?;
    tracing::info!(service = service_name, %addr, "grpc listening");
    // The builder's `tcp_nodelay` does not reach streams we accept ourselves:
    // without this, multi-frame answers wait ~40 ms for delayed ACKs.
    let incoming = futures_util::StreamExt::map(TcpListenerStream::new(listener), |conn| {
        if let Ok(tcp) = &conn
            && let Err(e) = tcp.set_nodelay(true)
        {
            tracing::warn!(error = %e, "TCP_NODELAY failed");
        }
        conn
    });
    let ServeOptions { max_in_flight, drain, grace } = stopping;
    let stopping = std::sync::Arc::new(tokio::sync::Notify::new());
    let stopped = stopping.clone();
    // No server-side HTTP/2 keep-alive: with it, hyper's graceful shutdown
    // can wait on a keep-alive ping instead of closing (hyperium/hyper#3050;
    // the rolling-restart test saw replicas outlive a 20 s grace). Clients
    // (`channel`) ping every 30 s, which keeps connections and finds dead ones.
    let in_flight = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = in_flight.clone();
    let busy = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let server = Server::builder()
        .tcp_nodelay(true)
        .layer(tower::layer::layer_fn(move |inner| Counted {
            inner,
            count: count.clone(),
            busy: busy.clone(),
            max: max_in_flight,
            service: service_name,
        }))
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, async move {
            shutdown.await;
            // Both the service and the server as a whole (what Kubernetes'
            // `grpc:` probes ask about) stop answering SERVING.
            reporter.set_service_status(service_name, ServingStatus::NotServing).await;
            reporter.set_service_status("", ServingStatus::NotServing).await;
            if !drain.is_zero() {
                tracing::info!(service = service_name, drain_ms = drain.as_millis() as u64, "draining before stopping");
                tokio::time::sleep(drain).await;
            }
            stopped.notify_one();
        });
    // Calls in flight (answers still streaming included) finish within
    // `grace`; connections left idle by peers do not hold the process (hyper
    // waits for every connection to close, and some peers keep theirs).
    tokio::select! {
        out = server => out?,
        cut = async {
            stopping.notified().await;
            let deadline = tokio::time::Instant::now() + grace;
            while in_flight.load(std::sync::atomic::Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let left = in_flight.load(std::sync::atomic::Ordering::SeqCst);
            if left == 0 {
                // A moment for connections to close by themselves.
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            left
        } => {
            if cut > 0 {
                tracing::error!(service = service_name, calls = cut, "calls still open {grace:?} after shutdown: stopping without them");
                anyhow::bail!("{service_name}: {cut} calls still in flight {grace:?} after shutdown were cut off");
            }
            tracing::info!(service = service_name, "no call in flight; connections peers left open are closed");
        }
    }
    tracing::info!(service = service_name, "grpc stopped");
    Ok(())
}

/// Counts the calls in flight, each until its answer has been sent in full
/// (or dropped), for stopping; and the calls being handled, until their
/// answer starts, refusing calls past `max` of those (but health checks).
#[derive(Clone)]
struct Counted<S> {
    inner: S,
    count: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    busy: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    max: usize,
    service: &'static str,
}

struct InFlight(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl<S, B> tower::Service<http::Request<B>> for Counted<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let busy_before = self.busy.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let handling = InFlight(self.busy.clone());
        if self.max > 0 && busy_before >= self.max && !req.uri().path().starts_with("/grpc.health.") {
            drop(handling);
            crate::metrics::overloaded(self.service);
            let refused = tonic::Status::from(crate::ServiceError::overloaded()).into_http::<tonic::body::Body>();
            return Box::pin(async move { Ok(refused) });
        }
        self.count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let guard = InFlight(self.count.clone());
        let answer = self.inner.call(req);
        Box::pin(async move {
            let resp = answer.await;
            drop(handling);
            let resp = resp?;
            // Held by the body: a streamed answer counts until it ends.
            Ok(resp.map(|body| {
                tonic::body::Body::new(http_body_util::BodyExt::map_frame(body, move |frame| {
                    let _held = &guard;
                    frame
                }))
            }))
        })
    }
}

/// A channel to a peer, connecting lazily (the peer may start after us;
/// calls fail with UNAVAILABLE until it is up), with a 30 s limit per call.
///
/// `url` is one address (`http://127.0.0.1:50052`) or a comma-separated
/// list of the replicas of one service, and a host name may stand for
/// several addresses (a Kubernetes headless Service). One IP address (or
/// `localhost`) gets a plain channel. Anything else is balanced over the
/// replicas that answer gRPC health with SERVING, checked every
/// [`PROBE_INTERVAL`] (names re-resolved as often): a replica that is
/// stopping (health turns NOT_SERVING for `SHUTDOWN_DRAIN_SECS` before it
/// stops listening) or dead leaves the set within an interval and comes
/// back when it answers again. When none answers, all stay in the set, so
/// that calls fail at once with UNAVAILABLE rather than wait.
pub fn channel(url: &str) -> anyhow::Result<Channel> {
    connect(url, Kind::Unary)
}

/// Like [`channel`], without the 30 s limit on a call: for streams that
/// take as long as the client does (uploads on a slow link). Idle peers are
/// still caught by HTTP/2 keep-alive.
pub fn stream_channel(url: &str) -> anyhow::Result<Channel> {
    connect(url, Kind::Stream)
}

/// How often a balanced [`channel`] checks its replicas' health.
pub const PROBE_INTERVAL: Duration = Duration::from_millis(500);

#[derive(Clone, Copy)]
enum Kind {
    Unary,
    Stream,
}

fn endpoint(url: &str, kind: Kind) -> anyhow::Result<Endpoint> {
    let endpoint = Endpoint::from_shared(url.to_owned())?
        .connect_timeout(Duration::from_secs(3))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30));
    Ok(match kind {
        Kind::Unary => endpoint.timeout(Duration::from_secs(30)),
        Kind::Stream => endpoint.keep_alive_timeout(Duration::from_secs(20)),
    })
}

/// One replica address of a peer: a host (IP or name) and a port.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Target {
    host: String,
    port: u16,
}

fn targets(url: &str) -> anyhow::Result<Vec<Target>> {
    let mut out = Vec::new();
    for part in url.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let uri: tonic::transport::Uri = part.parse().map_err(|e| anyhow::anyhow!("{part:?} is not a URL: {e}"))?;
        anyhow::ensure!(uri.scheme_str() == Some("http"), "{part:?}: only http:// peers are supported");
        let host = uri.host().ok_or_else(|| anyhow::anyhow!("{part:?} has no host"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let port = uri.port_u16().unwrap_or(80);
        out.push(Target { host, port });
    }
    anyhow::ensure!(!out.is_empty(), "no peer address in {url:?}");
    Ok(out)
}

fn connect(url: &str, kind: Kind) -> anyhow::Result<Channel> {
    let targets = targets(url)?;
    if let [one] = targets.as_slice()
        && (one.host.parse::<std::net::IpAddr>().is_ok() || one.host == "localhost")
    {
        return Ok(endpoint(url.trim(), kind)?.connect_lazy());
    }
    // One balanced channel (and one discovery task) per peer and kind in a
    // process, however many clients are made from it.
    static BALANCED: std::sync::Mutex<Vec<(String, bool, Channel)>> = std::sync::Mutex::new(Vec::new());
    let stream = matches!(kind, Kind::Stream);
    let mut known = BALANCED.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    if let Some((_, _, ch)) = known.iter().find(|(u, s, _)| u == url && *s == stream) {
        return Ok(ch.clone());
    }
    let (channel, changes) = Channel::balance_channel::<String>(64);
    tokio::spawn(discover(url.trim().to_owned(), targets, kind, changes));
    known.push((url.to_owned(), stream, channel.clone()));
    Ok(channel)
}

/// Keeps a balanced channel's set of replicas: resolves the targets (within
/// a second; on failure the last answer stands), checks each address's
/// health at once (each within half a second), inserts and removes. When
/// nothing resolves at all, the configured URLs themselves stand in, so
/// calls fail fast instead of waiting for an endpoint.
async fn discover(url: String, targets: Vec<Target>, kind: Kind, changes: tokio::sync::mpsc::Sender<Change<String, Endpoint>>) {
    use std::collections::{BTreeSet, HashMap};
    use tonic_health::pb::health_client::HealthClient;
    let mut current: BTreeSet<String> = BTreeSet::new();
    let mut resolved: BTreeSet<std::net::SocketAddr> = BTreeSet::new();
    let mut probes: HashMap<std::net::SocketAddr, HealthClient<Channel>> = HashMap::new();
    let mut first = true;
    while !changes.is_closed() {
        let mut addrs = BTreeSet::new();
        let mut failed = false;
        for t in &targets {
            match tokio::time::timeout(Duration::from_secs(1), tokio::net::lookup_host((t.host.as_str(), t.port))).await {
                Ok(Ok(found)) => addrs.extend(found),
                Ok(Err(e)) => {
                    failed = true;
                    tracing::warn!(host = %t.host, error = %e, "cannot resolve a peer");
                }
                Err(_) => {
                    failed = true;
                    tracing::warn!(host = %t.host, "resolving a peer timed out");
                }
            }
        }
        if failed && addrs.is_empty() {
            addrs.clone_from(&resolved);
        }
        resolved.clone_from(&addrs);
        probes.retain(|a, _| addrs.contains(a));
        let mut healthy: BTreeSet<std::net::SocketAddr> = BTreeSet::new();
        if first {
            // Calls may start at once; health decides from the next round.
            healthy.clone_from(&addrs);
        } else {
            let checks = addrs.iter().filter_map(|addr| {
                let probe = match probes.get(addr) {
                    Some(p) => p.clone(),
                    None => {
                        let e = Endpoint::from_shared(addr_url(*addr)).ok()?;
                        let p = HealthClient::new(
                            e.connect_timeout(Duration::from_millis(300)).timeout(Duration::from_millis(500)).connect_lazy(),
                        );
                        probes.insert(*addr, p.clone());
                        p
                    }
                };
                let addr = *addr;
                Some(async move { serving(probe).await.then_some(addr) })
            });
            healthy.extend(futures_util::future::join_all(checks.collect::<Vec<_>>()).await.into_iter().flatten());
        }
        let chosen = if healthy.is_empty() { addrs } else { healthy };
        let mut wanted: BTreeMap<String, Endpoint> = BTreeMap::new();
        for a in chosen {
            if let Ok(e) = endpoint(&addr_url(a), kind) {
                wanted.insert(addr_url(a), e);
            }
        }
        if wanted.is_empty() {
            // Nothing known: the names themselves (resolved per connection).
            for part in url.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                if let Ok(e) = endpoint(part, kind) {
                    wanted.insert(part.to_owned(), e);
                }
            }
        }
        for gone in current.iter().filter(|k| !wanted.contains_key(*k)) {
            tracing::info!(peer = %gone, "peer replica left the balanced set");
            if changes.send(Change::Remove(gone.clone())).await.is_err() {
                return;
            }
        }
        for (key, e) in wanted.iter().filter(|(k, _)| !current.contains(*k)) {
            if !first {
                tracing::info!(peer = %key, "peer replica joined the balanced set");
            }
            if changes.send(Change::Insert(key.clone(), e.clone())).await.is_err() {
                return;
            }
        }
        current = wanted.into_keys().collect();
        first = false;
        tokio::time::sleep(PROBE_INTERVAL).await;
    }
}

fn addr_url(addr: std::net::SocketAddr) -> String {
    format!("http://{addr}")
}

/// Whether a peer answers gRPC health (the whole server) with SERVING.
pub async fn serving(mut probe: tonic_health::pb::health_client::HealthClient<Channel>) -> bool {
    matches!(
        probe.check(tonic_health::pb::HealthCheckRequest { service: String::new() }).await,
        Ok(r) if r.get_ref().status == tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    )
}

/// Resolves when the process is asked to stop (SIGTERM or Ctrl-C).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested");
}

/// Implements a generated tonic service trait by delegating each method to
/// the inherent method of the same name, which returns a
/// [`ServiceResult`](crate::ServiceResult): handlers use `?` on any error
/// that converts into `ServiceError`, and the mapping to `Status` happens
/// here, once. Before the handler runs, the caller is resolved, once,
/// through the service's [`ServesCallers`](crate::identity::ServesCallers);
/// handlers read it with [`caller`](crate::identity::caller). Each call is
/// traced and counted. Associated stream types come first:
/// `grpc_service!(Trait, Api, type DownloadStream = Stream; { … })`.
#[macro_export]
macro_rules! grpc_service {
    ($trait_path:path, $ty:ty, $(type $assoc:ident = $aty:ty;)* { $($method:ident($req:ty) -> $resp:ty;)* }) => {
        #[tonic::async_trait]
        impl $trait_path for $ty {
            $(type $assoc = $aty;)*
            $(
                async fn $method(&self, mut req: tonic::Request<$req>) -> Result<tonic::Response<$resp>, tonic::Status> {
                    use tracing::Instrument as _;
                    let span = $crate::telemetry::server_span(
                        concat!(stringify!($ty), "/", stringify!($method)),
                        stringify!($ty),
                        stringify!($method),
                        req.metadata(),
                    );
                    let started = std::time::Instant::now();
                    let out: Result<tonic::Response<$resp>, tonic::Status> = async {
                        $crate::identity::resolve_caller($crate::identity::ServesCallers::callers(self), &mut req).await;
                        <$ty>::$method(self, req).await
                    }
                    .instrument(span)
                    .await
                    .map(tonic::Response::new)
                    .map_err(Into::into);
                    let code = out.as_ref().map_or_else(tonic::Status::code, |_| tonic::Code::Ok);
                    $crate::metrics::grpc(stringify!($ty), stringify!($method), code, started.elapsed().as_secs_f64());
                    out
                }
            )*
        }
    };
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tower::Service;

    use super::Counted;
    use crate::{ErrorCode, ServiceError};

    /// A service whose calls wait until released.
    #[derive(Clone)]
    struct Held(Arc<tokio::sync::Notify>);

    impl Service<http::Request<()>> for Held {
        type Response = http::Response<tonic::body::Body>;
        type Error = std::convert::Infallible;
        type Future = std::pin::Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

        fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
            std::task::Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: http::Request<()>) -> Self::Future {
            let release = self.0.clone();
            Box::pin(async move {
                release.notified().await;
                Ok(http::Response::new(tonic::body::Body::empty()))
            })
        }
    }

    fn call(path: &str) -> http::Request<()> {
        http::Request::builder().uri(path).body(()).expect("request")
    }

    #[tokio::test]
    async fn calls_past_the_limit_are_refused_at_once_and_health_checks_still_answered() {
        let release = Arc::new(tokio::sync::Notify::new());
        let count = Arc::new(AtomicUsize::new(0));
        let mut server = Counted { inner: Held(release.clone()), count: count.clone(), busy: Arc::default(), max: 2, service: "test" };
        let first = tokio::spawn(server.call(call("/ocomms.messaging.v1.MessagingService/SendMessage")));
        let second = tokio::spawn(server.call(call("/ocomms.messaging.v1.MessagingService/SendMessage")));
        assert_eq!(count.load(Ordering::SeqCst), 2);

        // The third is answered without reaching the service.
        let refused = tokio::time::timeout(std::time::Duration::from_secs(1), server.call(call("/ocomms.auth.v1.AuthService/GetSession")))
            .await
            .expect("answered at once")
            .expect("a response");
        let status = tonic::Status::from_header_map(refused.headers()).expect("a gRPC status");
        assert_eq!(status.code(), tonic::Code::Unavailable);
        let error = ServiceError::from_status(&status);
        assert_eq!(error.code, ErrorCode::Unavailable);
        assert_eq!(error.details.as_ref().and_then(|d| d["retryAfter"].as_u64()), Some(1), "clients are told when to retry");
        assert_eq!(count.load(Ordering::SeqCst), 2, "a refused call is not counted in flight");

        // Health checks reach the service whatever the load.
        let health = tokio::spawn(server.call(call("/grpc.health.v1.Health/Check")));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!health.is_finished(), "a health check waits for the (held) service, it is not refused");
        assert_eq!(count.load(Ordering::SeqCst), 3);

        // Once calls finish, new ones are taken again.
        release.notify_waiters();
        for done in [first, second, health] {
            done.await.expect("joined").expect("answered");
        }
        assert_eq!(count.load(Ordering::SeqCst), 0);
        let taken = tokio::spawn(server.call(call("/ocomms.messaging.v1.MessagingService/SendMessage")));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!taken.is_finished(), "taken, waiting for the service");
        release.notify_waiters();
        taken.await.expect("joined").expect("answered");
    }
}
