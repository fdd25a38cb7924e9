//! Durable work between services: a transactional outbox relayed to
//! RabbitMQ with publisher confirms, and consumers that ack after their
//! work is committed.
//!
//! A service that must cause a side effect elsewhere (a mention to notify,
//! a guest's access to lock at a given time) writes a row into its own
//! `outbox` table **in the same transaction** as the change, with the time
//! it is due (now, or later for delayed work: the truth of a delayed job is
//! that row in PostgreSQL, so it survives a restart of any process). The
//! service's relay publishes due rows to the topic exchange
//! `<prefix>.jobs` and marks them published only once the broker confirmed
//! them: nothing acknowledged is lost, at the price of an occasional
//! duplicate, which consumers absorb (each job has a stable id; see
//! `processed_events` tables).
//!
//! A job whose key no queue is bound to yet (its consumer has not started
//! since the exchange was created) is returned by RabbitMQ (`mandatory`)
//! and stays in the outbox like a failed one: nothing is published into
//! the void.
//!
//! Without `AMQP_URL` (one node) the exchange is in-process: publishing a
//! job runs the consumers bound to its key right there, and the relay marks
//! the row published only after every one of them committed. The outbox row
//! stays the truth until then: a restart or a failing consumer leaves it to
//! be relayed again (consumers absorb the repeat as above).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Jsonb, Nullable, Text, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::db::Pool;

/// One unit of durable work.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Job {
    /// Stable across redeliveries: `<source service>:<outbox id>`.
    pub id: String,
    pub key: String,
    pub payload: serde_json::Value,
}

impl Job {
    /// The payload as the message type its producer wrote (job payloads are
    /// proto messages in their JSON form: one definition in `proto/`).
    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> anyhow::Result<T> {
        serde_json::from_value(self.payload.clone()).with_context(|| format!("job {} ({}): unexpected payload", self.id, self.key))
    }
}

/// Writes jobs with the same key into the caller's `outbox`, due now, in
/// one statement (call inside the transaction that makes the change).
pub async fn enqueue_all<T: Serialize>(conn: &mut AsyncPgConnection, key: &str, payloads: &[T]) -> anyhow::Result<()> {
    if payloads.is_empty() {
        return Ok(());
    }
    let values = payloads.iter().map(serde_json::to_value).collect::<Result<Vec<_>, _>>()?;
    diesel::sql_query("INSERT INTO outbox (routing_key, payload) SELECT $1, p FROM unnest($2::jsonb[]) AS p")
        .bind::<Text, _>(key)
        .bind::<diesel::sql_types::Array<Jsonb>, _>(values)
        .execute(conn)
        .await?;
    Ok(())
}

/// Writes a job into the caller's `outbox` (call inside the transaction
/// that makes the change). `due` defaults to now.
pub async fn enqueue(
    conn: &mut AsyncPgConnection,
    key: &str,
    payload: &serde_json::Value,
    due: Option<DateTime<Utc>>,
) -> diesel::QueryResult<()> {
    diesel::sql_query("INSERT INTO outbox (routing_key, payload, due_at) VALUES ($1, $2, COALESCE($3, now()))")
        .bind::<Text, _>(key)
        .bind::<Jsonb, _>(payload)
        .bind::<Nullable<Timestamptz>, _>(due)
        .execute(conn)
        .await
        .map(drop)
}

#[derive(Clone)]
enum Transport {
    Local(Arc<LocalExchange>),
    Amqp(Arc<Amqp>),
}

type Handler = dyn Fn(Job) -> futures_util::future::BoxFuture<'static, anyhow::Result<()>> + Send + Sync;

/// One consumer bound to the in-process exchange. It is held weakly: when
/// the task that owns it goes (its runtime stopped), the binding goes too.
struct Binding {
    keys: Vec<String>,
    handler: std::sync::Weak<Handler>,
}

/// The in-process exchange: the consumers bound to it. A job nobody listens
/// for yet is refused (and stays in the outbox) rather than lost.
#[derive(Default)]
struct LocalExchange {
    bindings: Mutex<Vec<Binding>>,
}

impl LocalExchange {
    /// The live consumers of `key` (dead bindings are pruned).
    fn handlers(&self, key: &str) -> Vec<Arc<Handler>> {
        let Ok(mut all) = self.bindings.lock() else { return Vec::new() };
        all.retain(|b| b.handler.strong_count() > 0);
        all.iter().filter(|b| b.keys.iter().any(|k| k == key)).filter_map(|b| b.handler.upgrade()).collect()
    }

    /// Runs every consumer of the job; Ok only when all of them succeeded.
    async fn deliver(&self, job: &Job) -> anyhow::Result<()> {
        let handlers = self.handlers(&job.key);
        anyhow::ensure!(!handlers.is_empty(), "no consumer for {} yet", job.key);
        for h in handlers {
            h(job.clone()).await.with_context(|| format!("job {} ({})", job.id, job.key))?;
        }
        Ok(())
    }
}

/// Jobs a consumer takes from RabbitMQ at once (and handles concurrently).
const PREFETCH: u16 = 16;

struct Amqp {
    url: String,
    exchange: String,
    publisher: tokio::sync::Mutex<Option<lapin::Channel>>,
}

/// The exchange jobs go through.
#[derive(Clone)]
pub struct Broker {
    transport: Transport,
    prefix: String,
    ephemeral: bool,
}

fn local_exchanges() -> &'static Mutex<HashMap<String, Arc<LocalExchange>>> {
    static EXCHANGES: OnceLock<Mutex<HashMap<String, Arc<LocalExchange>>>> = OnceLock::new();
    EXCHANGES.get_or_init(Mutex::default)
}

impl Broker {
    /// RabbitMQ when `amqp_url` is set, else the in-process exchange for
    /// `prefix`. `ephemeral` queues vanish with their last consumer (tests).
    pub async fn connect(amqp_url: Option<&str>, prefix: &str, ephemeral: bool) -> anyhow::Result<Self> {
        let transport = match amqp_url {
            None => {
                let mut all = local_exchanges().lock().map_err(|_| anyhow::anyhow!("exchange registry poisoned"))?;
                let ex = all.entry(prefix.to_owned()).or_insert_with(|| Arc::new(LocalExchange::default())).clone();
                Transport::Local(ex)
            }
            Some(url) => {
                let amqp =
                    Arc::new(Amqp { url: url.to_owned(), exchange: format!("{prefix}.jobs"), publisher: tokio::sync::Mutex::new(None) });
                // Fail fast on a wrong URL at start.
                amqp.channel().await.context("connecting to RabbitMQ (AMQP_URL)")?;
                Transport::Amqp(amqp)
            }
        };
        Ok(Self { transport, prefix: prefix.to_owned(), ephemeral })
    }

    pub fn is_amqp(&self) -> bool {
        matches!(self.transport, Transport::Amqp(_))
    }

    /// Publishes a job; Ok only once the broker has it (RabbitMQ: confirmed;
    /// in process: every consumer of its key has done its work).
    pub async fn publish(&self, job: &Job) -> anyhow::Result<()> {
        match &self.transport {
            // No consumer yet (still starting), or one failed: not
            // delivered, so the row stays in the outbox and is retried.
            Transport::Local(ex) => ex.deliver(job).await,
            Transport::Amqp(a) => a.publish(job).await,
        }
    }

    /// Runs `handler` for every job whose key is in `keys`, on the durable
    /// queue `<prefix>.<queue>`; a job is acknowledged only when the handler
    /// succeeded, and redelivered otherwise. With RabbitMQ, up to 16 jobs
    /// are handled concurrently (handlers must not rely on order).
    pub fn consume<F, Fut>(&self, queue: &str, keys: &[&str], handler: F)
    where
        F: Fn(Job) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let keys: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
        let handler = Arc::new(handler);
        match &self.transport {
            Transport::Local(ex) => {
                // The relay runs the handler when it publishes; a task of
                // this runtime owns it, so the binding ends with the runtime.
                let h = handler.clone();
                let owned: Arc<Handler> = Arc::new(move |job: Job| -> futures_util::future::BoxFuture<'static, anyhow::Result<()>> {
                    let h = h.clone();
                    Box::pin(async move { h(job).await })
                });
                if let Ok(mut b) = ex.bindings.lock() {
                    b.push(Binding { keys, handler: Arc::downgrade(&owned) });
                }
                tokio::spawn(async move {
                    let _owned = owned;
                    std::future::pending::<()>().await;
                });
            }
            Transport::Amqp(a) => {
                let a = a.clone();
                let queue = format!("{}.{queue}", self.prefix);
                let ephemeral = self.ephemeral;
                tokio::spawn(async move {
                    loop {
                        if let Err(e) = a.consume_once(&queue, &keys, ephemeral, handler.clone()).await {
                            tracing::warn!(queue, error = format!("{e:#}"), "job consumer stopped; reconnecting");
                        }
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                });
            }
        }
    }
}

impl Amqp {
    async fn connect(&self) -> anyhow::Result<lapin::Channel> {
        let conn = lapin::Connection::connect(&self.url, lapin::ConnectionProperties::default()).await?;
        let ch = conn.create_channel().await?;
        ch.exchange_declare(
            self.exchange.as_str().into(),
            lapin::ExchangeKind::Topic,
            lapin::options::ExchangeDeclareOptions { durable: true, ..Default::default() },
            lapin::types::FieldTable::default(),
        )
        .await?;
        Ok(ch)
    }

    /// The publishing channel (confirm mode), reconnected when lost.
    async fn channel(&self) -> anyhow::Result<lapin::Channel> {
        let mut guard = self.publisher.lock().await;
        if let Some(ch) = guard.as_ref()
            && ch.status().connected()
        {
            return Ok(ch.clone());
        }
        let ch = self.connect().await?;
        ch.confirm_select(lapin::options::ConfirmSelectOptions::default()).await?;
        *guard = Some(ch.clone());
        Ok(ch)
    }

    async fn publish(&self, job: &Job) -> anyhow::Result<()> {
        let ch = self.channel().await?;
        let body = serde_json::to_vec(job)?;
        let props = lapin::BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/json".into())
            .with_message_id(job.id.as_str().into());
        // Mandatory: a job no queue is bound for yet (its consumer has not
        // started) comes back instead of vanishing, and stays in the outbox.
        let confirm = ch
            .basic_publish(
                self.exchange.as_str().into(),
                job.key.as_str().into(),
                lapin::options::BasicPublishOptions { mandatory: true, ..Default::default() },
                &body,
                props,
            )
            .await?
            .await?;
        match confirm {
            lapin::Confirmation::Ack(None) => Ok(()),
            lapin::Confirmation::Ack(Some(_)) => Err(Unroutable(job.key.clone()).into()),
            _ => anyhow::bail!("broker refused job {}", job.id),
        }
    }

    async fn consume_once<F, Fut>(&self, queue: &str, keys: &[String], ephemeral: bool, handler: Arc<F>) -> anyhow::Result<()>
    where
        F: Fn(Job) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let ch = self.connect().await?;
        let opts = lapin::options::QueueDeclareOptions { durable: !ephemeral, auto_delete: ephemeral, ..Default::default() };
        ch.queue_declare(queue.into(), opts, lapin::types::FieldTable::default()).await?;
        for k in keys {
            ch.queue_bind(queue.into(), self.exchange.as_str().into(), k.as_str().into(), Default::default(), Default::default()).await?;
        }
        ch.basic_qos(PREFETCH, Default::default()).await?;
        let mut consumer = ch.basic_consume(queue.into(), "".into(), Default::default(), Default::default()).await?;
        // Up to PREFETCH jobs are handled at once; each is acknowledged
        // after its own work committed.
        let slots = Arc::new(tokio::sync::Semaphore::new(PREFETCH as usize));
        while let Some(delivery) = consumer.next().await {
            let delivery = delivery?;
            let job: Job = match serde_json::from_slice(&delivery.data) {
                Ok(j) => j,
                Err(e) => {
                    tracing::error!(error = %e, "malformed job dropped");
                    delivery.ack(Default::default()).await?;
                    continue;
                }
            };
            let slot = slots.clone().acquire_owned().await?;
            let handler = handler.clone();
            tokio::spawn(async move {
                let _slot = slot;
                let done = match handler(job.clone()).await {
                    Ok(()) => delivery.ack(Default::default()).await,
                    Err(e) => {
                        tracing::warn!(job = job.id, error = format!("{e:#}"), "job failed; it will be redelivered");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        delivery.nack(lapin::options::BasicNackOptions { requeue: true, ..Default::default() }).await
                    }
                };
                if let Err(e) = done {
                    // The channel is gone: the broker redelivers the job.
                    tracing::warn!(job = job.id, error = %e, "job not acknowledged");
                }
            });
        }
        anyhow::bail!("consumer stream ended")
    }
}

/// A job the broker could route to no queue: no consumer of its key has
/// started yet. The job stays in the outbox and is tried again later.
#[derive(Debug)]
pub struct Unroutable(pub String);

impl std::fmt::Display for Unroutable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no queue is bound for {} yet", self.0)
    }
}

impl std::error::Error for Unroutable {}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    routing_key: String,
    #[diesel(sql_type = Jsonb)]
    payload: serde_json::Value,
}

/// Relays a service's due outbox rows to the broker, forever.
#[derive(Clone)]
pub struct Relay {
    wake: Arc<Notify>,
}

impl Relay {
    /// Starts relaying `pool`'s outbox; `source` names the service in job ids.
    pub fn spawn(pool: Pool, broker: Broker, source: &'static str) -> Self {
        let wake = Arc::new(Notify::new());
        let w = wake.clone();
        tokio::spawn(async move {
            let mut backoff = Backoff::default();
            loop {
                match relay_batch(&pool, &broker, source, &mut backoff).await {
                    Ok(n) if n > 0 => continue,
                    Ok(_) => {}
                    Err(e) => tracing::warn!(source, error = format!("{e:#}"), "outbox relay failed; retrying"),
                }
                tokio::select! {
                    _ = w.notified() => {},
                    _ = tokio::time::sleep(Duration::from_millis(250)) => {},
                }
            }
        });
        Self { wake }
    }

    /// Relays promptly (after a commit that enqueued work).
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Rows whose delivery failed in process, and when to try each again (so
/// that one failing job neither blocks the others nor floods the log).
#[derive(Default)]
struct Backoff {
    until: HashMap<i64, (u32, std::time::Instant)>,
}

impl Backoff {
    /// The rows not to try yet (forgetting those whose wait is over).
    fn waiting_ids(&self) -> Vec<i64> {
        let now = std::time::Instant::now();
        self.until.iter().filter(|(_, (_, at))| *at > now).map(|(id, _)| *id).collect()
    }

    fn failed(&mut self, id: i64) -> u32 {
        let attempts = self.until.get(&id).map_or(0, |(n, _)| *n) + 1;
        let delay = Duration::from_millis(100).saturating_mul(1 << attempts.min(9)).min(Duration::from_secs(30));
        self.until.insert(id, (attempts, std::time::Instant::now() + delay));
        attempts
    }
}

/// Publishes up to 100 due rows; marks them published only after the broker
/// confirmed each. Returns how many went out.
async fn relay_batch(pool: &Pool, broker: &Broker, source: &str, backoff: &mut Backoff) -> anyhow::Result<usize> {
    let mut conn = pool.get().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let broker = broker.clone();
    let source = source.to_owned();
    conn.transaction::<_, anyhow::Error, _>(async move |conn| {
        // Rows waiting out a backoff are left out, so that failing jobs
        // never fill the batch ahead of newer ones.
        let waiting = backoff.waiting_ids();
        let rows: Vec<Row> = diesel::sql_query(
            "SELECT id, routing_key, payload FROM outbox
              WHERE published_at IS NULL AND due_at <= now() AND NOT (id = ANY($1))
              ORDER BY due_at, id LIMIT 100 FOR UPDATE SKIP LOCKED",
        )
        .bind::<diesel::sql_types::Array<BigInt>, _>(&waiting)
        .load(conn)
        .await?;
        let mut done = Vec::with_capacity(rows.len());
        let mut failure = None;
        for r in rows {
            let job = Job { id: format!("{source}:{}", r.id), key: r.routing_key, payload: r.payload };
            match broker.publish(&job).await {
                Ok(()) => {
                    backoff.until.remove(&r.id);
                    done.push(r.id);
                }
                // In process, a job's consumer failed; or nobody consumes
                // its key yet: the others go on, it is tried again later.
                Err(e) if !broker.is_amqp() || e.downcast_ref::<Unroutable>().is_some() => {
                    let attempt = backoff.failed(r.id);
                    tracing::warn!(job = job.id, attempt, error = format!("{e:#}"), "job failed; it will be retried");
                }
                // The broker is unreachable: stop, keep what was confirmed.
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        if !done.is_empty() {
            diesel::sql_query("UPDATE outbox SET published_at = now() WHERE id = ANY($1)")
                .bind::<diesel::sql_types::Array<BigInt>, _>(&done)
                .execute(conn)
                .await?;
        }
        if let Some(e) = failure {
            tracing::warn!(source, error = format!("{e:#}"), "outbox relay stopped early; retrying");
        }
        Ok(done.len())
    })
    .await
}

/// Runs `work` at most once per job id: the id is recorded in the
/// consumer's `processed_events` table in the same transaction. `None` when
/// the job was already done.
pub async fn once<T, F>(conn: &mut AsyncPgConnection, job_id: &str, work: F) -> anyhow::Result<Option<T>>
where
    T: Send,
    F: for<'c> FnOnce(&'c mut AsyncPgConnection) -> futures_util::future::BoxFuture<'c, anyhow::Result<T>> + Send,
{
    let id = job_id.to_owned();
    conn.transaction::<_, anyhow::Error, _>(async move |conn| {
        let fresh = diesel::sql_query("INSERT INTO processed_events (event_id) VALUES ($1) ON CONFLICT DO NOTHING")
            .bind::<Text, _>(&id)
            .execute(conn)
            .await?;
        if fresh == 0 {
            return Ok(None);
        }
        Ok(Some(work(conn).await?))
    })
    .await
}
