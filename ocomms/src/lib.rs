//! The OComms launcher: every service and the gateway in one process, each
//! on its own port and talking to the others over real gRPC on loopback,
//! exactly as they do when deployed apart.
//!
//! [`start`] is used by `ocomms up` and by the end-to-end tests (with
//! port 0 and per-test databases).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use ocomms_runtime::config::Env;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub mod cli;
pub mod jobs;
pub mod topology;

pub const SERVICES: [&str; 6] = ["auth", "messaging", "presence", "files", "scheduler", "notify"];

/// A running stack.
pub struct Stack {
    pub gateway: SocketAddr,
    /// Each service's gRPC address.
    pub services: Vec<(&'static str, SocketAddr)>,
    /// Degraded modes in force (no Redis, no S3, …), as printed at start.
    pub fallbacks: Vec<String>,
    cancel: CancellationToken,
    tasks: JoinSet<(String, anyhow::Result<()>)>,
}

/// Every part's configuration, read from one environment.
pub struct Configs {
    pub auth: svc_auth::Config,
    pub messaging: svc_messaging::Config,
    pub presence: svc_presence::Config,
    pub files: svc_files::Config,
    pub scheduler: svc_scheduler::Config,
    pub notify: svc_notify::Config,
    pub gateway: ocomms_gateway::Config,
}

impl Configs {
    /// Reads every part's variables from `env` (all of them: the launcher
    /// forwards no allow-list, so a new variable reaches its service).
    pub fn read(env: &mut Env) -> Self {
        Self {
            auth: svc_auth::Config::from_env(env),
            messaging: svc_messaging::Config::from_env(env),
            presence: svc_presence::Config::from_env(env),
            files: svc_files::Config::from_env(env),
            scheduler: svc_scheduler::Config::from_env(env),
            notify: svc_notify::Config::from_env(env),
            gateway: ocomms_gateway::Config::from_env(env),
        }
    }
}

/// Starts every service and the gateway from `env` (see the README for the
/// variables), and returns once all of them answer health checks.
pub async fn start(env: &Env) -> anyhow::Result<Stack> {
    ocomms_runtime::metrics::install();
    let mut overrides = HashMap::new();
    // One process: a service credential nobody else knows is enough.
    if env.opt_string("SERVICE_TOKEN").is_none() {
        overrides.insert("SERVICE_TOKEN".to_owned(), random_token());
    }
    if env.opt_string("TWO_FACTOR_KEY").is_none() {
        overrides.insert("TWO_FACTOR_KEY".to_owned(), local_key(&env.string("DATA_DIR", "./data"))?);
    }
    let mut env = env.with(&overrides);
    let Configs { auth, messaging, presence, files, scheduler, notify, gateway } = Configs::read(&mut env);
    env.finish()?;

    let bus = auth.common.bus().await?;
    let mut fallbacks = Vec::new();
    if !bus.is_redis() {
        fallbacks.push("no REDIS_URL: in-process fan-out and presence (single node)".to_owned());
    }
    if files.s3.is_none() {
        fallbacks.push(format!("no S3_BUCKET: files stored under {}", files.upload_dir));
    }
    if notify.smtp_host.is_none() {
        fallbacks.push("no SMTP_HOST: emails are logged, not sent".to_owned());
    }
    if notify.vapid.is_none() {
        fallbacks.push("no VAPID keys: web push is off".to_owned());
    }
    if scheduler.common.amqp_url.is_none() {
        fallbacks.push("no AMQP_URL: jobs run in process".to_owned());
    }

    async fn bind(addr: SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
        TcpListener::bind(addr).await.with_context(|| format!("binding {what} to {addr}"))
    }
    let listeners = [
        bind(auth.common.listen, "auth").await?,
        bind(messaging.common.listen, "messaging").await?,
        bind(presence.common.listen, "presence").await?,
        bind(files.common.listen, "files").await?,
        bind(scheduler.common.listen, "scheduler").await?,
        bind(notify.common.listen, "notify").await?,
    ];
    let gw_listener = bind(gateway.listen, "gateway").await?;
    let addrs: Vec<SocketAddr> = listeners.iter().map(|l| l.local_addr()).collect::<Result<_, _>>()?;
    let services: Vec<(&'static str, SocketAddr)> = SERVICES.iter().copied().zip(addrs.iter().copied()).collect();
    let url = |i: usize| format!("http://{}", addrs[i]);

    // Everyone reaches svc-auth where it actually listens.
    let mut auth = auth;
    let mut messaging = messaging;
    let mut presence = presence;
    let mut files = files;
    let mut scheduler = scheduler;
    let mut notify = notify;
    auth.notify_url = url(5);
    auth.messaging_url = url(1);
    messaging.presence_url = url(2);
    messaging.files_url = url(3);
    notify.messaging_url = url(1);
    notify.presence_url = url(2);
    scheduler.messaging_url = url(1);
    scheduler.files_url = url(3);
    files.messaging_url = url(1);
    for common in
        [&mut auth.common, &mut messaging.common, &mut presence.common, &mut files.common, &mut scheduler.common, &mut notify.common]
    {
        common.auth_url = url(0);
    }
    let mut gateway = gateway;
    gateway.services = ocomms_gateway::config::ServiceUrls {
        auth: url(0),
        messaging: url(1),
        presence: url(2),
        files: url(3),
        scheduler: url(4),
        notify: url(5),
    };
    let gateway_addr = gw_listener.local_addr()?;

    let cancel = CancellationToken::new();
    let mut tasks = JoinSet::new();
    let [l_auth, l_msg, l_pres, l_files, l_sched, l_notify] = listeners;
    let stop = |c: &CancellationToken| c.clone().cancelled_owned();
    spawn(&mut tasks, "auth", svc_auth::serve(auth, bus.clone(), l_auth, stop(&cancel)));
    spawn(&mut tasks, "messaging", svc_messaging::serve(messaging, bus.clone(), l_msg, stop(&cancel)));
    spawn(&mut tasks, "presence", svc_presence::serve(presence, bus.clone(), l_pres, stop(&cancel)));
    spawn(&mut tasks, "files", svc_files::serve(files, bus.clone(), l_files, stop(&cancel)));
    spawn(&mut tasks, "scheduler", svc_scheduler::serve(scheduler, bus.clone(), l_sched, stop(&cancel)));
    spawn(&mut tasks, "notify", svc_notify::serve(notify, bus.clone(), l_notify, stop(&cancel)));
    spawn(&mut tasks, "gateway", ocomms_gateway::serve(gateway, bus, gw_listener, stop(&cancel)));

    let mut stack = Stack { gateway: gateway_addr, services, fallbacks, cancel, tasks };
    if let Err(e) = stack.wait_healthy().await {
        stack.cancel.cancel();
        while stack.tasks.join_next().await.is_some() {}
        return Err(e);
    }
    Ok(stack)
}

fn spawn<F>(tasks: &mut JoinSet<(String, anyhow::Result<()>)>, name: &str, fut: F)
where
    F: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let name = name.to_owned();
    tasks.spawn(async move { (name, fut.await) });
}

/// The key encrypting TOTP secrets when none is configured: kept in
/// `<DATA_DIR>/two-factor.key` (created once, mode 0600) so that secrets
/// stay readable across restarts of a single-node install.
fn local_key(dir: &str) -> anyhow::Result<String> {
    use base64::Engine;
    use rand::RngCore;
    let path = std::path::Path::new(dir).join("two-factor.key");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        return Ok(existing.trim().to_owned());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {dir}"))?;
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    let text = base64::engine::general_purpose::STANDARD.encode(key);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    use std::io::Write;
    opts.open(&path).and_then(|mut f| f.write_all(text.as_bytes())).with_context(|| format!("writing {}", path.display()))?;
    tracing::info!(path = %path.display(), "created the key that encrypts two-factor secrets");
    Ok(text)
}

fn random_token() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

impl Stack {
    /// Waits until every service answers gRPC health with SERVING (they
    /// create and migrate their databases first), or one of them fails.
    async fn wait_healthy(&mut self) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(Ok((name, result))) = futures_now(&mut self.tasks) {
                return Err(result.err().unwrap_or_else(|| anyhow::anyhow!("stopped early")).context(format!("{name} failed to start")));
            }
            let mut all = true;
            for (_, addr) in &self.services {
                if !serving(*addr).await {
                    all = false;
                    break;
                }
            }
            if all {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                anyhow::bail!("services did not become healthy within 120 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs until a component fails or `shutdown` resolves, then stops all.
    pub async fn run_until(mut self, shutdown: impl std::future::Future<Output = ()>) -> anyhow::Result<()> {
        let failed = tokio::select! {
            _ = shutdown => None,
            Some(done) = self.tasks.join_next() => Some(done),
        };
        self.cancel.cancel();
        let mut first_error = match failed {
            Some(Ok((name, Err(e)))) => Some(e.context(format!("{name} failed"))),
            Some(Ok((name, Ok(())))) => Some(anyhow::anyhow!("{name} stopped unexpectedly")),
            Some(Err(e)) => Some(anyhow::anyhow!("a component panicked: {e}")),
            None => None,
        };
        while let Some(done) = self.tasks.join_next().await {
            if let Ok((name, Err(e))) = done {
                tracing::error!(component = name, error = format!("{e:#}"), "stopped with an error");
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Stops everything gracefully.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.run_until(async {}).await
    }
}

fn futures_now(tasks: &mut JoinSet<(String, anyhow::Result<()>)>) -> Option<Result<(String, anyhow::Result<()>), tokio::task::JoinError>> {
    tasks.try_join_next()
}

/// Whether the gRPC server at `addr` answers health SERVING now.
pub(crate) async fn serving(addr: SocketAddr) -> bool {
    let Ok(endpoint) = tonic::transport::Endpoint::from_shared(format!("http://{addr}")) else { return false };
    let Ok(channel) = endpoint.connect_timeout(Duration::from_millis(500)).connect().await else { return false };
    ocomms_runtime::grpc::serving(tonic_health::pb::health_client::HealthClient::new(channel)).await
}

/// Creates every service's database if missing and runs its migrations.
pub async fn migrate(env: &Env) -> anyhow::Result<()> {
    let mut env = env.with(&HashMap::new());
    let c = Configs::read(&mut env);
    env.finish()?;
    let targets = [
        (c.auth.common.database_url, svc_auth::MIGRATIONS),
        (c.messaging.common.database_url, svc_messaging::MIGRATIONS),
        (c.presence.common.database_url, svc_presence::MIGRATIONS),
        (c.files.common.database_url, svc_files::MIGRATIONS),
        (c.scheduler.common.database_url, svc_scheduler::MIGRATIONS),
        (c.notify.common.database_url, svc_notify::MIGRATIONS),
    ];
    for (url, migrations) in targets {
        ocomms_runtime::db::ensure_database(&url).await?;
        ocomms_runtime::db::migrate(&url, migrations).await?;
        println!("migrated {}", ocomms_runtime::db::redact(&url));
    }
    Ok(())
}

/// Every service's embedded migrations (for tools that clone databases).
pub mod migrations {
    pub use svc_auth::MIGRATIONS as AUTH;
    pub use svc_files::MIGRATIONS as FILES;
    pub use svc_messaging::MIGRATIONS as MESSAGING;
    pub use svc_notify::MIGRATIONS as NOTIFY;
    pub use svc_presence::MIGRATIONS as PRESENCE;
    pub use svc_scheduler::MIGRATIONS as SCHEDULER;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's configuration table names exactly the variables the
    /// code reads: a variable added to a service is documented, and a
    /// documented one is read (under the launcher too, which forwards them
    /// all).
    #[test]
    fn the_readme_documents_every_variable_read_and_no_other() {
        let readme = include_str!("../../README.md");
        let section = readme.split("## Configuration").nth(1).and_then(|s| s.split("\n## ").next()).expect("a Configuration section");
        let mut documented: Vec<String> = Vec::new();
        for line in section.lines().filter(|l| l.starts_with("| `")) {
            let first = line.split('|').nth(1).unwrap_or_default();
            documented.extend(first.split('`').skip(1).step_by(2).map(str::to_owned));
        }
        let mut env = Env::from_map(HashMap::new());
        let _ = Configs::read(&mut env);
        // The launcher's own.
        let mut read = env.names_read();
        read.extend(["DATA_DIR", "SERVICE_TOKEN", "TWO_FACTOR_KEY", "RUST_LOG", "LOG_FORMAT"].map(str::to_owned));
        // Telemetry's (`ocomms_runtime::telemetry::Otlp::from_env`), the standard OpenTelemetry names.
        read.extend(
            [
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "OTEL_EXPORTER_OTLP_PROTOCOL",
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
                "OTEL_SERVICE_NAME",
            ]
            .map(str::to_owned),
        );
        let matches =
            |doc: &str, name: &str| doc == name || SERVICES.iter().any(|s| doc.replace("<SERVICE>", &s.to_ascii_uppercase()) == name);
        let undocumented: Vec<&String> = read.iter().filter(|n| !documented.iter().any(|d| matches(d, n))).collect();
        assert!(undocumented.is_empty(), "read but not in the README's table: {undocumented:?}");
        let unread: Vec<&String> = documented.iter().filter(|d| !read.iter().any(|n| matches(d, n))).collect();
        assert!(unread.is_empty(), "in the README's table but read by nothing: {unread:?}");
    }
}
