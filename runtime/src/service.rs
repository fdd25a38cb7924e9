//! What every service reads from its environment, and the `main` they share.

use std::net::SocketAddr;

use crate::config::Env;
use crate::events::Bus;

/// `DATABASE_URL`: the PostgreSQL server (and default database name
/// prefix). Each service uses its own database on it, `<name>_<service>`
/// (`ocomms_auth`, …), unless `<SERVICE>_DATABASE_URL` names one.
pub const DATABASE_URL: &str = "DATABASE_URL";
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/ocomms";
/// `DB_POOL_SIZE`: connections per service pool (default 16).
pub const DB_POOL_SIZE: &str = "DB_POOL_SIZE";
/// `REDIS_URL`: enables multi-node fan-out and shared state; unset means the
/// in-process fallback (one node).
pub const REDIS_URL: &str = "REDIS_URL";
/// `REDIS_PREFIX`: key and channel prefix (default `ocomms`), so that
/// several deployments or tests share one Redis.
pub const REDIS_PREFIX: &str = "REDIS_PREFIX";
/// `SERVICE_TOKEN`: the credential services present when they act on a
/// user's behalf. Required in production; must be the same everywhere.
pub const SERVICE_TOKEN: &str = "SERVICE_TOKEN";
/// `AUTH_GRPC_URL`: where svc-auth answers (default `http://127.0.0.1:50051`).
pub const AUTH_GRPC_URL: &str = "AUTH_GRPC_URL";

/// `SHUTDOWN_DRAIN_SECS`: see [`ServiceConfig::drain`].
pub const SHUTDOWN_DRAIN_SECS: &str = "SHUTDOWN_DRAIN_SECS";

/// `SHUTDOWN_GRACE_SECS`: see [`ServiceConfig::stop_grace`].
pub const SHUTDOWN_GRACE_SECS: &str = "SHUTDOWN_GRACE_SECS";

/// `JOB_MAX_ATTEMPTS`: see [`ServiceConfig::job_attempts`].
pub const JOB_MAX_ATTEMPTS: &str = "JOB_MAX_ATTEMPTS";

/// `GRPC_MAX_IN_FLIGHT`: see [`ServiceConfig::max_in_flight`].
pub const GRPC_MAX_IN_FLIGHT: &str = "GRPC_MAX_IN_FLIGHT";

/// Default gRPC ports, also the launcher's.
pub const PORTS: [(&str, u16); 6] =
    [("auth", 50051), ("messaging", 50052), ("presence", 50053), ("files", 50054), ("scheduler", 50055), ("notify", 50056)];

pub fn default_port(service: &str) -> u16 {
    PORTS.iter().find(|(n, _)| *n == service).map(|(_, p)| *p).unwrap_or(50050)
}

/// The settings every service has.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    pub name: &'static str,
    /// `<SERVICE>_GRPC_ADDR`, default `127.0.0.1:<port>`.
    pub listen: SocketAddr,
    pub database_url: String,
    pub pool_size: u32,
    pub redis_url: Option<String>,
    pub redis_prefix: String,
    pub service_token: String,
    pub auth_url: String,
    /// `AMQP_URL`: RabbitMQ for durable jobs; unset = in-process (one node).
    pub amqp_url: Option<String>,
    /// `AMQP_PREFIX` (default `ocomms`): exchange and queue name prefix.
    pub amqp_prefix: String,
    /// `AMQP_EPHEMERAL`: queues expire ten minutes after last use (tests only).
    pub amqp_ephemeral: bool,
    /// `JOB_MAX_ATTEMPTS` (default 25, 1 to 100): how many times a failing
    /// job is tried (waits doubling from 1 s to 5 minutes; 25 is about an
    /// hour and a half) before it is set aside as dead (`ocomms jobs`).
    pub job_attempts: u32,
    /// `<SERVICE>_METRICS_ADDR`: where a service run on its own serves its
    /// Prometheus metrics (unset: not served; under `ocomms up` the
    /// gateway's `/metrics` has them).
    pub metrics_addr: Option<SocketAddr>,
    /// `SHUTDOWN_DRAIN_SECS` (default 0): on SIGTERM, how long gRPC health
    /// answers NOT_SERVING while calls are still served, so that replicas'
    /// peers move away first (see `grpc::channel`).
    pub drain: std::time::Duration,
    /// `SHUTDOWN_GRACE_SECS` (default 30): after the drain, how long calls
    /// in flight may take to finish before the server stops without them
    /// (keep the pod's termination grace above preStop + drain + this).
    pub stop_grace: std::time::Duration,
    /// `GRPC_MAX_IN_FLIGHT` (default 256, 0 for no limit): calls a service
    /// process serves at once; past it, calls are refused at once with
    /// UNAVAILABLE and `retryAfter` (HTTP 503 with `Retry-After`), so that
    /// overload is answered instead of queued (sized so that at the
    /// measured capacity, about 2,000 sends a second, a full house waits
    /// about 0.1 s).
    pub max_in_flight: usize,
}

impl ServiceConfig {
    pub fn from_env(env: &mut Env, name: &'static str) -> Self {
        let upper = name.to_ascii_uppercase();
        let base = env.string(DATABASE_URL, DEFAULT_DATABASE_URL);
        let base_name = crate::db::database_name(&base).unwrap_or("ocomms").to_owned();
        let database_url = env
            .opt_string(&format!("{upper}_DATABASE_URL"))
            .unwrap_or_else(|| crate::db::with_database(&base, &format!("{base_name}_{name}")));
        let listen = env.parse(&format!("{upper}_GRPC_ADDR"), SocketAddr::from(([127, 0, 0, 1], default_port(name))));
        let pool_size = env.parse(DB_POOL_SIZE, 16u32);
        let service_token = env.string(SERVICE_TOKEN, "");
        if service_token.is_empty() {
            tracing::warn!("SERVICE_TOKEN is not set: service-to-service calls on a user's behalf are refused");
        } else if service_token.len() < 16 {
            env.invalid(SERVICE_TOKEN, "must be at least 16 characters");
        }
        Self {
            name,
            listen,
            database_url,
            pool_size,
            redis_url: env.opt_string(REDIS_URL),
            redis_prefix: env.string(REDIS_PREFIX, "ocomms"),
            service_token,
            auth_url: env.string(AUTH_GRPC_URL, "http://127.0.0.1:50051"),
            amqp_url: env.opt_string("AMQP_URL"),
            amqp_prefix: env.string("AMQP_PREFIX", "ocomms"),
            amqp_ephemeral: env.flag("AMQP_EPHEMERAL", false),
            job_attempts: {
                let n = env.parse(JOB_MAX_ATTEMPTS, crate::jobs::Retry::default().attempts);
                if !(1..=100).contains(&n) {
                    env.invalid(JOB_MAX_ATTEMPTS, "must be from 1 to 100");
                }
                n
            },
            drain: std::time::Duration::from_secs_f64(env.parse(SHUTDOWN_DRAIN_SECS, 0.0f64).clamp(0.0, 300.0)),
            stop_grace: std::time::Duration::from_secs_f64(env.parse(SHUTDOWN_GRACE_SECS, 30.0f64).clamp(0.0, 3600.0)),
            max_in_flight: env.parse(GRPC_MAX_IN_FLIGHT, 256usize),
            metrics_addr: {
                let var = format!("{upper}_METRICS_ADDR");
                match env.opt_string(&var).map(|v| v.parse::<SocketAddr>()) {
                    None => None,
                    Some(Ok(a)) => Some(a),
                    Some(Err(_)) => {
                        env.invalid(&var, "must be an address like 0.0.0.0:9090");
                        None
                    }
                }
            },
        }
    }

    /// How the service's gRPC server takes calls and stops.
    pub fn serve_options(&self) -> crate::grpc::ServeOptions {
        crate::grpc::ServeOptions { max_in_flight: self.max_in_flight, drain: self.drain, grace: self.stop_grace }
    }

    /// The job broker this configuration asks for; the jobs the service's
    /// consumers give up on rest in `pool`'s database.
    pub async fn broker(&self, pool: &crate::db::Pool) -> anyhow::Result<crate::jobs::Broker> {
        let retry = crate::jobs::Retry { attempts: self.job_attempts, ..Default::default() };
        Ok(crate::jobs::Broker::connect(self.amqp_url.as_deref(), &self.amqp_prefix, self.amqp_ephemeral, pool).await?.with_retry(retry))
    }

    /// The event bus this configuration asks for.
    pub async fn bus(&self) -> anyhow::Result<Bus> {
        Bus::connect(self.redis_url.as_deref(), &self.redis_prefix).await
    }
}

/// Runs service `$svc` (a crate with `Config` and `serve`) from the
/// environment `$env` until SIGTERM: read its configuration (every bad
/// variable reported at once), serve metrics if asked, connect the bus,
/// bind, serve. `ocomms serve <service>` and each service's binary use it.
#[macro_export]
macro_rules! run_service {
    ($svc:ident, $env:expr) => {
        async {
            let mut env: $crate::config::Env = $env;
            let config = $svc::Config::from_env(&mut env);
            env.finish()?;
            if let Some(addr) = config.common.metrics_addr {
                $crate::metrics::serve(addr).await?;
            }
            let bus = config.common.bus().await?;
            let listen = config.common.listen;
            let listener = anyhow::Context::with_context(tokio::net::TcpListener::bind(listen).await, || format!("binding {listen}"))?;
            let out: anyhow::Result<()> = $svc::serve(config, bus, listener, $crate::grpc::shutdown_signal()).await;
            out
        }
    };
}

/// The `main` of a service binary: [`run_service!`] with the process's
/// environment, then the last spans flushed.
#[macro_export]
macro_rules! service_main {
    ($svc:ident) => {
        #[tokio::main]
        async fn main() -> anyhow::Result<()> {
            $crate::telemetry::init();
            $crate::metrics::install();
            let out = $crate::run_service!($svc, $crate::config::Env::from_process()).await;
            let _ = tokio::task::spawn_blocking($crate::telemetry::flush).await;
            out
        }
    };
}
