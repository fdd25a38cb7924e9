//! Helpers for tests against real infrastructure: a service on port 0 with
//! its own fresh database (cloned from a migrated template), stopped when
//! dropped.
//!
//! A test that leaves a job unprocessed fails (as crates.io's test app
//! does): before a [`Running`] service stops, its outbox and its broker's
//! queues must settle (`jobs::unsettled`), within ten seconds.

use std::future::Future;
use std::net::SocketAddr;

use diesel_migrations::EmbeddedMigrations;
use tokio::net::TcpListener;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::service::ServiceConfig;

/// The server tests create their databases on: `TEST_DATABASE_URL`, or the
/// local PostgreSQL.
pub fn base_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// `TEST_REDIS_URL`, or the local Redis.
pub fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// `TEST_AMQP_URL`, or the local RabbitMQ.
pub fn amqp_url() -> String {
    std::env::var("TEST_AMQP_URL").unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".to_owned())
}

/// The service credential tests configure.
pub const SERVICE_TOKEN: &str = "test-service-token-0123456789";

/// A service running for one test: dropped, it stops and its database is
/// dropped with it (a test leaves nothing behind, failed or not). Before
/// it stops, the jobs its outbox produced and the jobs its broker's queues
/// received must all be done, or the test fails naming them.
pub struct Running {
    pub addr: SocketAddr,
    pub database_url: String,
    stop: Option<DropGuard>,
    /// Job keys no consumer runs for in this test: their rows stay.
    no_consumer: Vec<&'static str>,
    check_jobs: bool,
}

/// The job settings of the services `test_config` made, by database.
fn job_settings() -> &'static std::sync::Mutex<std::collections::HashMap<String, (String, Option<String>)>> {
    static SETTINGS: std::sync::OnceLock<std::sync::Mutex<std::collections::HashMap<String, (String, Option<String>)>>> =
        std::sync::OnceLock::new();
    SETTINGS.get_or_init(Default::default)
}

/// Tells the job check of the service on `c.database_url` where its jobs
/// go, after a test changed `c`'s broker settings (services sharing a
/// prefix).
pub fn watch_jobs(c: &ServiceConfig) {
    if let Ok(mut s) = job_settings().lock() {
        s.insert(c.database_url.clone(), (c.amqp_prefix.clone(), c.amqp_url.clone()));
    }
}

/// How long jobs get to settle when a test ends.
const SETTLE: std::time::Duration = std::time::Duration::from_secs(10);

/// Waits until nothing is left to do for the jobs of these services'
/// databases under `prefix` (twice in a row, so that a job making another
/// is seen), or answers what is left after [`SETTLE`]. For harnesses that
/// run whole stacks (the e2e `TestStack`); [`Running`] calls it itself.
pub async fn jobs_left(database_urls: &[String], prefix: &str, amqp_url: Option<&str>, no_consumer: &[&str]) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + SETTLE;
    let mut clean = 0;
    loop {
        let mut left = Vec::new();
        for url in database_urls {
            match crate::jobs::unsettled(url, prefix, amqp_url, no_consumer).await {
                Ok(l) => left.extend(l),
                Err(e) => left.push(format!("{e:#}")),
            }
        }
        left.dedup();
        clean = if left.is_empty() { clean + 1 } else { 0 };
        if clean >= 2 {
            return Vec::new();
        }
        if tokio::time::Instant::now() >= deadline {
            return left;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// [`jobs_left`] for one service, on a runtime of its own.
fn settle(database_url: &str, prefix: &str, amqp_url: Option<&str>, no_consumer: &[&str]) -> Vec<String> {
    match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt.block_on(jobs_left(&[database_url.to_owned()], prefix, amqp_url, no_consumer)),
        Err(e) => vec![format!("no runtime to check jobs with: {e}")],
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Jobs first, while the service still runs its consumers. Skipped
        // when the test already failed, and on a single-threaded test
        // runtime, where the service cannot run while this waits.
        let settings = job_settings().lock().ok().and_then(|mut s| s.remove(&self.database_url));
        let multi_thread =
            tokio::runtime::Handle::try_current().is_ok_and(|h| matches!(h.runtime_flavor(), tokio::runtime::RuntimeFlavor::MultiThread));
        let mut left = Vec::new();
        if let Some((prefix, amqp)) = settings
            && self.check_jobs
            && multi_thread
            && !std::thread::panicking()
        {
            let (url, keys) = (self.database_url.clone(), self.no_consumer.clone());
            left = tokio::task::block_in_place(|| {
                std::thread::spawn(move || settle(&url, &prefix, amqp.as_deref(), &keys))
                    .join()
                    .unwrap_or_else(|_| vec!["the job check panicked".to_owned()])
            });
        }
        // Stop the service; its open connections are then closed by
        // the forced drop, on a thread of its own (this may be a runtime's).
        drop(self.stop.take());
        drop_databases_now(vec![std::mem::take(&mut self.database_url)]);
        assert!(left.is_empty(), "the test left jobs unprocessed {SETTLE:?} after it ended:\n  {}", left.join("\n  "));
    }
}

/// Drops test databases (their open connections closed by force), every
/// one tried; the first failure is answered.
pub async fn drop_databases(urls: Vec<String>) -> anyhow::Result<()> {
    let mut failed = None;
    for url in urls {
        if let Err(e) = crate::db::drop_database(&url).await {
            failed.get_or_insert(e);
        }
    }
    failed.map_or(Ok(()), Err)
}

/// [`drop_databases`] from anywhere, a `Drop` included (on a thread of its
/// own: the caller may be a runtime's); a failure is printed.
pub fn drop_databases_now(urls: Vec<String>) {
    if urls.is_empty() {
        return;
    }
    let dropped = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        rt.block_on(drop_databases(urls))
    })
    .join();
    if let Ok(Err(e)) = dropped {
        eprintln!("test databases not dropped: {e:#}");
    }
}

/// A fresh database of a service (its migrations applied) and a pool on
/// it, for tests of the mechanisms under a service (jobs, the relay):
/// dropped with this value, whether the test passed or failed.
pub struct TestDb {
    pub url: String,
    pub pool: crate::db::Pool,
}

impl TestDb {
    pub async fn new(name: &str, migrations: EmbeddedMigrations, pool_size: u32) -> anyhow::Result<Self> {
        crate::telemetry::init_for_tests();
        let url = crate::db::test_database(&base_url(), name, migrations).await?;
        match crate::db::pool(&url, pool_size).await {
            Ok(pool) => Ok(Self { url, pool }),
            Err(e) => {
                drop_databases_now(vec![url]);
                Err(e)
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        drop_databases_now(vec![std::mem::take(&mut self.url)]);
    }
}

impl Running {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// This test runs no consumer for jobs with these keys (the service
    /// that takes them is not started): their outbox rows may stay.
    pub fn without_consumers_of(mut self, keys: &[&'static str]) -> Self {
        self.no_consumer.extend_from_slice(keys);
        self
    }

    /// This test leaves jobs behind on purpose (it stops a consumer, or
    /// fills the dead letters): no check when it ends.
    pub fn leaving_jobs(mut self) -> Self {
        self.check_jobs = false;
        self
    }
}

/// A configuration for a test service: fresh database, port 0, no Redis.
pub async fn test_config(name: &'static str, migrations: EmbeddedMigrations, auth_url: &str) -> anyhow::Result<ServiceConfig> {
    crate::telemetry::init_for_tests();
    let database_url = crate::db::test_database(&base_url(), name, migrations).await?;
    let amqp_prefix = format!("ocomms-test-{}", uuid::Uuid::new_v4().simple());
    if let Ok(mut s) = job_settings().lock() {
        s.insert(database_url.clone(), (amqp_prefix.clone(), Some(amqp_url())));
    }
    Ok(ServiceConfig {
        name,
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        database_url,
        pool_size: 4,
        redis_url: None,
        redis_prefix: format!("ocomms-test-{}", uuid::Uuid::new_v4().simple()),
        service_token: SERVICE_TOKEN.to_owned(),
        auth_url: auth_url.to_owned(),
        amqp_url: Some(amqp_url()),
        amqp_prefix,
        amqp_ephemeral: true,
        job_attempts: crate::jobs::Retry::default().attempts,
        metrics_addr: None,
        drain: std::time::Duration::ZERO,
        stop_grace: std::time::Duration::from_secs(30),
        max_in_flight: 256,
    })
}

/// Binds port 0, runs `serve` there until the returned handle is dropped,
/// and waits until it answers gRPC health.
pub async fn spawn<F, Fut>(database_url: String, serve: F) -> anyhow::Result<Running>
where
    F: FnOnce(TcpListener, futures_util::future::BoxFuture<'static, ()>) -> Fut,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    spawn_on(TcpListener::bind("127.0.0.1:0").await?, database_url, serve).await
}

/// [`spawn`] on a listener bound beforehand (services that must know each
/// other's address before either starts).
pub async fn spawn_on<F, Fut>(listener: TcpListener, database_url: String, serve: F) -> anyhow::Result<Running>
where
    F: FnOnce(TcpListener, futures_util::future::BoxFuture<'static, ()>) -> Fut,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let addr = listener.local_addr()?;
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    let fut = serve(listener, Box::pin(async move { stop.cancelled().await }));
    let task = tokio::spawn(fut);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        if task.is_finished() {
            return Err(match task.await {
                Ok(Err(e)) => e,
                Ok(Ok(())) => anyhow::anyhow!("service stopped at once"),
                Err(e) => anyhow::anyhow!("service panicked: {e}"),
            });
        }
        if let Ok(ch) = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?.connect().await {
            let mut health = tonic_health::pb::health_client::HealthClient::new(ch);
            if health.check(tonic_health::pb::HealthCheckRequest { service: String::new() }).await.is_ok() {
                break;
            }
        }
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "service did not become healthy");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    Ok(Running { addr, database_url, stop: Some(cancel.drop_guard()), no_consumer: Vec::new(), check_jobs: true })
}

/// A gRPC request carrying a bearer token.
pub use crate::identity::bearer_request as authed;

/// Polls `check` until it returns `Some`, for up to `secs` seconds.
pub async fn eventually<T, F, Fut>(secs: u64, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return Some(v);
        }
        if tokio::time::Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// [`test_config`] then [`spawn`]: a service on port 0 with a fresh
/// database, reaching svc-auth at `auth_url`.
pub async fn spawn_service<F, Fut>(name: &'static str, migrations: EmbeddedMigrations, auth_url: &str, serve: F) -> anyhow::Result<Running>
where
    F: FnOnce(ServiceConfig, TcpListener, futures_util::future::BoxFuture<'static, ()>) -> Fut,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let common = test_config(name, migrations, auth_url).await?;
    let db = common.database_url.clone();
    spawn(db, move |listener, shutdown| serve(common, listener, shutdown)).await
}

/// A minimal SMTP server that keeps every message it is sent (no STARTTLS
/// offered: the opportunistic client speaks plain SMTP). Returns its port.
pub async fn smtp_sink() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let got = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = got.clone();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else { continue };
            let keep = keep.clone();
            tokio::spawn(async move {
                let (r, mut w) = sock.into_split();
                let mut lines = BufReader::new(r).lines();
                let _ = w.write_all(b"220 sink ESMTP\r\n").await;
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(d) = data.as_mut() {
                        if line == "." {
                            keep.lock().map(|mut k| k.push(std::mem::take(d))).ok();
                            data = None;
                            let _ = w.write_all(b"250 queued\r\n").await;
                        } else {
                            d.push_str(&line);
                            d.push('\n');
                        }
                        continue;
                    }
                    let verb = line.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250-sink\r\n250 8BITMIME\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            let _ = w.write_all(b"221 bye\r\n").await;
                            break;
                        }
                        _ => b"250 OK\r\n",
                    };
                    let _ = w.write_all(reply).await;
                }
            });
        }
    });
    (port, got)
}
