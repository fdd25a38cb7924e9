//! Serving and calling gRPC.
//!
//! [`serve`] is how every service runs: its tonic routes plus gRPC health
//! (`grpc.health.v1`) and server reflection over every OComms proto, on a
//! listener the caller bound (port 0 in tests), until `shutdown` resolves;
//! in-flight calls finish before it returns.

use std::future::Future;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::service::Routes;
use tonic::transport::{Channel, Endpoint, Server};
use tonic_health::ServingStatus;

/// The largest gRPC message any OComms client or server sends or accepts.
/// A page of history holds up to 200 messages of 40,000 characters (up to
/// 4 bytes each, so 32 MB of content); tonic's default of 4 MiB would make
/// a busy channel unreadable. Apply it with [`sized!`](crate::sized) to
/// every generated client and server.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// Sets [`MAX_MESSAGE_BYTES`] as the encoding and decoding limit of a
/// generated tonic client or server: `sized!(AuthServiceClient::new(ch))`.
#[macro_export]
macro_rules! sized {
    ($e:expr) => {
        $e.max_decoding_message_size($crate::grpc::MAX_MESSAGE_BYTES).max_encoding_message_size($crate::grpc::MAX_MESSAGE_BYTES)
    };
}

/// Serves `routes` with health (reporting `service_name` and the overall
/// server as SERVING) and reflection until `shutdown` resolves.
pub async fn serve(
    service_name: &'static str,
    routes: Routes,
    listener: TcpListener,
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
    Server::builder()
        .tcp_nodelay(true)
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, async move {
            shutdown.await;
            // Both the service and the server as a whole (what Kubernetes'
            // `grpc:` probes ask about) stop answering SERVING.
            reporter.set_service_status(service_name, ServingStatus::NotServing).await;
            reporter.set_service_status("", ServingStatus::NotServing).await;
        })
        .await?;
    tracing::info!(service = service_name, "grpc stopped");
    Ok(())
}

/// A lazily connecting channel to a peer (`http://127.0.0.1:50051`): the
/// peer may start after us; calls fail with UNAVAILABLE until it is up.
pub fn channel(url: &str) -> anyhow::Result<Channel> {
    let endpoint = Endpoint::from_shared(url.to_owned())?
        .connect_timeout(Duration::from_secs(3))
        .timeout(Duration::from_secs(30))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30));
    Ok(endpoint.connect_lazy())
}

/// Like [`channel`], without the 30 s limit on a call: for streams that
/// take as long as the client does (uploads on a slow link). Idle peers are
/// still caught by HTTP/2 keep-alive.
pub fn stream_channel(url: &str) -> anyhow::Result<Channel> {
    let endpoint = Endpoint::from_shared(url.to_owned())?
        .connect_timeout(Duration::from_secs(3))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_timeout(Duration::from_secs(20));
    Ok(endpoint.connect_lazy())
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
/// here, once.
#[macro_export]
macro_rules! grpc_service {
    ($trait_path:path, $ty:ty, { $($method:ident($req:ty) -> $resp:ty;)* }) => {
        #[tonic::async_trait]
        impl $trait_path for $ty {
            $(
                async fn $method(&self, req: tonic::Request<$req>) -> Result<tonic::Response<$resp>, tonic::Status> {
                    use tracing::Instrument as _;
                    let span = $crate::telemetry::server_span(
                        concat!(stringify!($ty), "/", stringify!($method)),
                        stringify!($ty),
                        stringify!($method),
                        req.metadata(),
                    );
                    let started = std::time::Instant::now();
                    let out: Result<tonic::Response<$resp>, tonic::Status> =
                        <$ty>::$method(self, req).instrument(span).await.map(tonic::Response::new).map_err(Into::into);
                    let code = out.as_ref().map_or_else(tonic::Status::code, |_| tonic::Code::Ok);
                    $crate::metrics::grpc(stringify!($ty), stringify!($method), code, started.elapsed().as_secs_f64());
                    out
                }
            )*
        }
    };
}
