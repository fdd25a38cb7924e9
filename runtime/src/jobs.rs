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

pub mod dead;

/// The tables of this mechanism, owned here and applied to every service's
/// database after its own migrations (idempotent, under the migration
/// lock): `outbox` (jobs to relay, with the time each is due) and
/// `processed_events` (jobs a consumer already applied). Services never
/// copy them into their migrations; older services' copies are brought to
/// this shape. `dead_jobs` holds the jobs a consumer gave up on (see
/// [`dead`]).
pub const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS outbox (
        id           bigserial PRIMARY KEY,
        routing_key  text NOT NULL,
        payload      jsonb NOT NULL,
        due_at       timestamptz NOT NULL DEFAULT now(),
        created_at   timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz
    )",
    "ALTER TABLE outbox ADD COLUMN IF NOT EXISTS due_at timestamptz NOT NULL DEFAULT now()",
    "CREATE INDEX IF NOT EXISTS outbox_due_idx ON outbox (due_at, id) WHERE published_at IS NULL",
    // In process, a job out of attempts stays here, set aside.
    "ALTER TABLE outbox ADD COLUMN IF NOT EXISTS failed_at timestamptz",
    "ALTER TABLE outbox ADD COLUMN IF NOT EXISTS last_error text",
    // The W3C trace context of the change that made the job.
    "ALTER TABLE outbox ADD COLUMN IF NOT EXISTS traceparent text",
    // The job's id as consumers know it: random, so that a producer whose
    // database was reset (its bigserial starting over) never repeats an id
    // a consumer remembers as done. Added without a default and given one
    // after, so that neither rewrites the table, and rows from before keep
    // no uuid (they keep the id they may already have been delivered with).
    "ALTER TABLE outbox ADD COLUMN IF NOT EXISTS job_uuid uuid",
    "ALTER TABLE outbox ALTER COLUMN job_uuid SET DEFAULT gen_random_uuid()",
    "CREATE TABLE IF NOT EXISTS processed_events (
        event_id     text PRIMARY KEY,
        processed_at timestamptz NOT NULL DEFAULT now()
    )",
    // With RabbitMQ, jobs out of attempts rest in their consumer's database.
    "CREATE TABLE IF NOT EXISTS dead_jobs (
        job_id      text NOT NULL,
        queue       text NOT NULL,
        routing_key text NOT NULL,
        payload     jsonb NOT NULL,
        traceparent text,
        failures    integer NOT NULL,
        last_error  text NOT NULL,
        died_at     timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (job_id, queue)
    )",
];

/// Applies [`SCHEMA`].
pub async fn apply_schema(conn: &mut AsyncPgConnection) -> diesel::QueryResult<()> {
    for statement in SCHEMA {
        diesel::sql_query(*statement).execute(conn).await?;
    }
    Ok(())
}

/// One unit of durable work.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Job {
    /// Stable across redeliveries, unique across database resets:
    /// `<source service>:<the outbox row's job_uuid>` (`<source>:<row id>`
    /// for rows written before the column existed).
    pub id: String,
    pub key: String,
    pub payload: serde_json::Value,
    /// The trace of the change that made the job: its consumer continues it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
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
    diesel::sql_query("INSERT INTO outbox (routing_key, payload, traceparent) SELECT $1, p, $3 FROM unnest($2::jsonb[]) AS p")
        .bind::<Text, _>(key)
        .bind::<diesel::sql_types::Array<Jsonb>, _>(values)
        .bind::<Nullable<Text>, _>(crate::telemetry::current_traceparent())
        .execute(conn)
        .await?;
    Ok(())
}

/// Writes a job into the caller's `outbox` (call inside the transaction
/// that makes the change): its payload is the proto message `payload` in
/// JSON. `due` defaults to now.
pub async fn enqueue<T: Serialize>(
    conn: &mut AsyncPgConnection,
    key: &str,
    payload: &T,
    due: Option<DateTime<Utc>>,
) -> diesel::QueryResult<()> {
    let payload = serde_json::to_value(payload).map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    diesel::sql_query("INSERT INTO outbox (routing_key, payload, due_at, traceparent) VALUES ($1, $2, COALESCE($3, now()), $4)")
        .bind::<Text, _>(key)
        .bind::<Jsonb, _>(&payload)
        .bind::<Nullable<Timestamptz>, _>(due)
        .bind::<Nullable<Text>, _>(crate::telemetry::current_traceparent())
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

/// Waits for a job whose consumer's queue does not exist yet.
const UNROUTABLE_RETRY: Retry = Retry { attempts: u32::MAX, base: Duration::from_millis(200), max_delay: Duration::from_secs(5) };

/// How many times a job failed so far (a header of the copies passed on).
const ATTEMPT_HEADER: &str = "x-ocomms-failures";

fn attempt_of(delivery: &lapin::message::Delivery) -> u32 {
    let value = delivery.properties.headers().as_ref().and_then(|h| h.inner().get(ATTEMPT_HEADER).cloned());
    match value {
        Some(lapin::types::AMQPValue::LongUInt(n)) => n,
        Some(lapin::types::AMQPValue::LongInt(n)) => u32::try_from(n).unwrap_or(0),
        Some(lapin::types::AMQPValue::LongLongInt(n)) => u32::try_from(n).unwrap_or(0),
        _ => 0,
    }
}

/// A consumer's queues, and where its dead jobs rest.
struct Queues {
    work: String,
    dead: Pool,
    ephemeral: bool,
    retry: Retry,
    /// Jobs of this prefix being handled right now.
    handling: Arc<std::sync::atomic::AtomicUsize>,
}

impl Queues {
    fn retry_queue(&self) -> String {
        format!("{}.retry", self.work)
    }
}

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
    retry: Retry,
    /// The service's database, where the jobs its consumers give up on rest.
    dead: Pool,
}

/// How often and how late a failing job is tried again before it is set
/// aside as dead (see [`dead`]: in the consumer's `dead_jobs` with
/// RabbitMQ, `failed_at` in the producer's outbox in process), where it
/// stays to be looked at, run again or discarded (`ocomms jobs`) instead
/// of being retried forever.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub attempts: u32,
    /// The first wait; each next one doubles, up to `max_delay`.
    pub base: Duration,
    pub max_delay: Duration,
}

impl Default for Retry {
    /// 25 attempts over about an hour and a half (1 s, 2 s, 4 s, … then
    /// every 5 minutes): long enough to ride out an outage of the service a
    /// job calls, short enough that a job that can never succeed stops.
    fn default() -> Self {
        Self { attempts: 25, base: Duration::from_secs(1), max_delay: Duration::from_secs(300) }
    }
}

impl Retry {
    /// The wait before attempt `n + 1` (after `n` failures, n ≥ 1).
    pub fn delay(&self, failures: u32) -> Duration {
        self.base.saturating_mul(1u32 << failures.saturating_sub(1).min(20)).min(self.max_delay)
    }
}

fn local_exchanges() -> &'static Mutex<HashMap<String, Arc<LocalExchange>>> {
    static EXCHANGES: OnceLock<Mutex<HashMap<String, Arc<LocalExchange>>>> = OnceLock::new();
    EXCHANGES.get_or_init(Mutex::default)
}

impl Broker {
    /// RabbitMQ when `amqp_url` is set, else the in-process exchange for
    /// `prefix`. `ephemeral` queues (tests) expire ten minutes after their
    /// last use. Jobs this service's consumers give up on rest in `dead`'s
    /// `dead_jobs` (with RabbitMQ).
    pub async fn connect(amqp_url: Option<&str>, prefix: &str, ephemeral: bool, dead: &Pool) -> anyhow::Result<Self> {
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
        Ok(Self { transport, prefix: prefix.to_owned(), ephemeral, retry: Retry::default(), dead: dead.clone() })
    }

    /// The same broker with another retry policy (`JOB_MAX_ATTEMPTS`; tests).
    pub fn with_retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    pub fn is_amqp(&self) -> bool {
        matches!(self.transport, Transport::Amqp(_))
    }

    /// Sends a dead job back to the consumer queue it died in (its full
    /// name), with its attempts counted afresh; Ok once RabbitMQ confirmed.
    pub async fn requeue(&self, queue: &str, job: &Job) -> anyhow::Result<()> {
        match &self.transport {
            Transport::Amqp(a) => a.forward(queue, &serde_json::to_vec(job)?, &job.id, 0, None).await,
            Transport::Local(_) => anyhow::bail!("job {} rests from RabbitMQ queue {queue}: set AMQP_URL to send it back", job.id),
        }
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
        // Each job runs in a span continuing the trace that made it.
        let handler = Arc::new(move |job: Job| {
            let span = tracing::info_span!("job", otel.name = %format!("job {}", job.key), job.id = %job.id);
            crate::telemetry::continue_from(&span, job.traceparent.as_deref());
            let key = job.key.clone();
            let run = tracing::Instrument::instrument(handler(job), span);
            async move {
                let out = run.await;
                let outcome = if out.is_ok() { "ok" } else { "error" };
                metrics::counter!("ocomms_jobs_total", "key" => key, "outcome" => outcome).increment(1);
                out
            }
        });
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
                let dead = self.dead.clone();
                let (ephemeral, retry) = (self.ephemeral, self.retry);
                let handling = watched(&self.prefix, &queue);
                tokio::spawn(async move {
                    loop {
                        let queues = Queues { work: queue.clone(), dead: dead.clone(), ephemeral, retry, handling: handling.clone() };
                        if let Err(e) = a.clone().consume_once(queues, &keys, handler.clone()).await {
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

    async fn consume_once<F, Fut>(self: Arc<Self>, q: Queues, keys: &[String], handler: Arc<F>) -> anyhow::Result<()>
    where
        F: Fn(Job) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let ch = self.connect().await?;
        let queue = q.work.as_str();
        // Test stacks' queues outlive a consumer that restarts (a replica
        // killed in the topology tests) and go ten minutes after last use.
        let mut work_args = lapin::types::FieldTable::default();
        if q.ephemeral {
            work_args.insert("x-expires".into(), lapin::types::AMQPValue::LongUInt(600_000));
        }
        let opts = lapin::options::QueueDeclareOptions { durable: true, ..Default::default() };
        ch.queue_declare(queue.into(), opts, work_args).await?;
        for k in keys {
            ch.queue_bind(queue.into(), self.exchange.as_str().into(), k.as_str().into(), Default::default(), Default::default()).await?;
        }
        // Retries wait in `<queue>.retry` (each job for its own delay, as its
        // expiration) and come back to the queue when it runs out; jobs out
        // of attempts rest in the service's `dead_jobs`.
        let mut retry_args = lapin::types::FieldTable::default();
        retry_args.insert("x-dead-letter-exchange".into(), lapin::types::AMQPValue::LongString("".into()));
        retry_args.insert("x-dead-letter-routing-key".into(), lapin::types::AMQPValue::LongString(queue.into()));
        if q.ephemeral {
            // Test stacks: gone ten minutes after their last use.
            retry_args.insert("x-expires".into(), lapin::types::AMQPValue::LongUInt(600_000));
        }
        let durable = lapin::options::QueueDeclareOptions { durable: true, ..Default::default() };
        ch.queue_declare(q.retry_queue().as_str().into(), durable, retry_args).await?;
        ch.basic_qos(PREFETCH, Default::default()).await?;
        let mut consumer = ch.basic_consume(queue.into(), "".into(), Default::default(), Default::default()).await?;
        // Up to PREFETCH jobs are handled at once; each is acknowledged
        // after its own work committed.
        let slots = Arc::new(tokio::sync::Semaphore::new(PREFETCH as usize));
        let q = Arc::new(q);
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
            let (handler, me, q) = (handler.clone(), self.clone(), q.clone());
            let handling = Handling::start(&q.handling);
            tokio::spawn(async move {
                let (_slot, _handling) = (slot, handling);
                let done = match handler(job.clone()).await {
                    Ok(()) => delivery.ack(Default::default()).await,
                    Err(e) => {
                        let failures = attempt_of(&delivery) + 1;
                        let error = format!("{e:#}");
                        // Passed on (to wait, or to rest) before this copy is
                        // acknowledged: at worst a duplicate, never a loss.
                        let passed = if failures >= q.retry.attempts {
                            let rested = match q.dead.get().await {
                                Ok(mut conn) => dead::rest(&mut conn, &job, &q.work, failures, &error).await.map_err(anyhow::Error::from),
                                Err(e) => Err(anyhow::anyhow!("{e}")),
                            };
                            match rested {
                                Ok(()) => {
                                    tracing::error!(job = job.id, failures, error, queue = q.work, "job gave up; kept as dead");
                                    Ok(())
                                }
                                // The database is down too: the job waits the
                                // longest delay and, failing again, is set
                                // aside then (not run again at once, in a loop).
                                Err(e) => {
                                    tracing::warn!(job = job.id, error = format!("{e:#}"), "could not set the dead job aside; it waits");
                                    me.forward(&q.retry_queue(), &delivery.data, &job.id, failures - 1, Some(q.retry.max_delay)).await
                                }
                            }
                        } else {
                            let wait = q.retry.delay(failures);
                            tracing::warn!(
                                job = job.id,
                                failures,
                                error,
                                retry_in_ms = wait.as_millis() as u64,
                                "job failed; it will be tried again"
                            );
                            me.forward(&q.retry_queue(), &delivery.data, &job.id, failures, Some(wait)).await
                        };
                        match passed {
                            Ok(()) => delivery.ack(Default::default()).await,
                            Err(e) => {
                                tracing::warn!(job = job.id, error = format!("{e:#}"), "could not pass the job on; redelivering it");
                                tokio::time::sleep(Duration::from_millis(500)).await;
                                delivery.nack(lapin::options::BasicNackOptions { requeue: true, ..Default::default() }).await
                            }
                        }
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

    /// Publishes a job's body straight to `queue` (confirmed), with its
    /// failure count and, for a retry, how long it waits there.
    async fn forward(&self, queue: &str, body: &[u8], id: &str, failures: u32, wait: Option<Duration>) -> anyhow::Result<()> {
        let ch = self.channel().await?;
        let mut headers = lapin::types::FieldTable::default();
        headers.insert(ATTEMPT_HEADER.into(), lapin::types::AMQPValue::LongUInt(failures));
        let mut props = lapin::BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/json".into())
            .with_message_id(id.into())
            .with_headers(headers);
        if let Some(w) = wait {
            props = props.with_expiration(w.as_millis().to_string().as_str().into());
        }
        let confirm = ch
            .basic_publish(
                "".into(),
                queue.into(),
                lapin::options::BasicPublishOptions { mandatory: true, ..Default::default() },
                body,
                props,
            )
            .await?
            .await?;
        match confirm {
            lapin::Confirmation::Ack(None) => Ok(()),
            _ => anyhow::bail!("{queue} did not take job {id}"),
        }
    }
}

/// Counts a job as being handled until dropped (acknowledged, or passed on).
struct Handling(Arc<std::sync::atomic::AtomicUsize>);

impl Handling {
    fn start(count: &Arc<std::sync::atomic::AtomicUsize>) -> Self {
        count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Self(count.clone())
    }
}

impl Drop for Handling {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The RabbitMQ queues consumed under each prefix in this process, and the
/// jobs being handled: what [`unsettled`] looks at.
#[derive(Default)]
struct Watched {
    queues: std::collections::BTreeSet<String>,
    handling: Arc<std::sync::atomic::AtomicUsize>,
}

fn watched_prefixes() -> &'static Mutex<HashMap<String, Watched>> {
    static WATCHED: OnceLock<Mutex<HashMap<String, Watched>>> = OnceLock::new();
    WATCHED.get_or_init(Mutex::default)
}

/// Notes a queue consumed under `prefix`; answers the prefix's count of
/// jobs being handled.
fn watched(prefix: &str, queue: &str) -> Arc<std::sync::atomic::AtomicUsize> {
    let Ok(mut all) = watched_prefixes().lock() else { return Arc::default() };
    let w = all.entry(prefix.to_owned()).or_default();
    w.queues.insert(queue.to_owned());
    w.handling.clone()
}

/// Jobs not yet done end to end, each described in a line, for a test
/// harness that fails a test leaving work behind (`testing::Running`):
/// rows of `database_url`'s outbox that are due but not relayed, or set
/// aside as failed (keys in `no_consumer` excepted: the test runs no
/// consumer for them), and jobs resting in its `dead_jobs`; and with
/// RabbitMQ, under `prefix`, jobs waiting in a consumed queue or its retry
/// queue, or being handled. Delayed jobs not due yet are not work left
/// behind.
pub async fn unsettled(database_url: &str, prefix: &str, amqp_url: Option<&str>, no_consumer: &[&str]) -> anyhow::Result<Vec<String>> {
    #[derive(QueryableByName)]
    struct Left {
        #[diesel(sql_type = BigInt)]
        id: i64,
        #[diesel(sql_type = Text)]
        routing_key: String,
        #[diesel(sql_type = Nullable<Text>)]
        last_error: Option<String>,
    }
    let mut out = Vec::new();
    let mut conn = AsyncPgConnection::establish(database_url).await.context("connecting to the test database")?;
    let keys: Vec<String> = no_consumer.iter().map(|k| (*k).to_owned()).collect();
    let left: Vec<Left> = diesel::sql_query(
        "SELECT id, routing_key, left(last_error, 300) AS last_error FROM outbox
          WHERE published_at IS NULL AND (failed_at IS NOT NULL OR due_at <= now())
            AND NOT (routing_key = ANY($1))
          ORDER BY id LIMIT 20",
    )
    .bind::<diesel::sql_types::Array<Text>, _>(&keys)
    .load(&mut conn)
    .await?;
    for l in left {
        match l.last_error {
            Some(e) => out.push(format!("outbox row {} ({}) not relayed: {e}", l.id, l.routing_key)),
            None => out.push(format!("outbox row {} ({}) due but not relayed", l.id, l.routing_key)),
        }
    }
    #[derive(QueryableByName)]
    struct Dead {
        #[diesel(sql_type = Text)]
        job_id: String,
        #[diesel(sql_type = Text)]
        queue: String,
        #[diesel(sql_type = Text)]
        last_error: String,
    }
    let rested: Vec<Dead> = diesel::sql_query(
        "SELECT job_id, queue, left(last_error, 300) AS last_error FROM dead_jobs
          WHERE NOT (routing_key = ANY($1)) ORDER BY died_at LIMIT 20",
    )
    .bind::<diesel::sql_types::Array<Text>, _>(&keys)
    .load(&mut conn)
    .await?;
    for d in rested {
        out.push(format!("job {} dead in {}: {}", d.job_id, d.queue, d.last_error));
    }
    let Some(url) = amqp_url else { return Ok(out) };
    let (queues, handling) = match watched_prefixes().lock() {
        Ok(all) => match all.get(prefix) {
            Some(w) => (
                w.queues.iter().cloned().collect::<Vec<_>>(),
                std::sync::atomic::AtomicUsize::load(&w.handling, std::sync::atomic::Ordering::SeqCst),
            ),
            None => (Vec::new(), 0),
        },
        Err(_) => (Vec::new(), 0),
    };
    if handling > 0 {
        out.push(format!("{handling} jobs of {prefix} being handled"));
    }
    let conn = lapin::Connection::connect(url, lapin::ConnectionProperties::default()).await?;
    let names: Vec<String> = queues.iter().flat_map(|q| [q.clone(), format!("{q}.retry")]).collect();
    for name in names {
        // Passive: a queue not declared yet holds nothing (and a missing one
        // closes the channel, hence one channel per queue).
        let ch = conn.create_channel().await?;
        let passive = lapin::options::QueueDeclareOptions { passive: true, ..Default::default() };
        if let Ok(q) = ch.queue_declare(name.as_str().into(), passive, lapin::types::FieldTable::default()).await
            && q.message_count() > 0
        {
            out.push(format!("{} jobs waiting in {name}", q.message_count()));
        }
        ch.close(200, "checked".into()).await.ok();
    }
    conn.close(200, "checked".into()).await.ok();
    Ok(out)
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
    #[diesel(sql_type = Nullable<Text>)]
    traceparent: Option<String>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
    job_uuid: Option<uuid::Uuid>,
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
        let p = pool.clone();
        let sampled = pool.clone();
        tokio::spawn(async move {
            loop {
                sample(&sampled, source).await;
                tokio::time::sleep(Duration::from_secs(15)).await;
            }
        });
        tokio::spawn(async move {
            // Hourly, first a minute after start: old bookkeeping goes.
            tokio::time::sleep(Duration::from_secs(60)).await;
            loop {
                match p.get().await {
                    Ok(mut conn) => match prune(&mut conn).await {
                        Ok((o, e)) if o + e > 0 => tracing::info!(source, outbox = o, processed = e, "old job records pruned"),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(source, error = %e, "pruning job records failed"),
                    },
                    Err(e) => tracing::warn!(source, error = %e, "pruning job records: no connection"),
                }
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
        });
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

    fn failed(&mut self, id: i64, retry: &Retry) -> u32 {
        let attempts = self.until.get(&id).map_or(0, |(n, _)| *n) + 1;
        let delay = retry.delay(attempts);
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
            "SELECT id, routing_key, payload, traceparent, job_uuid FROM outbox
              WHERE published_at IS NULL AND failed_at IS NULL AND due_at <= now() AND NOT (id = ANY($1))
              ORDER BY due_at, id LIMIT 100 FOR UPDATE SKIP LOCKED",
        )
        .bind::<diesel::sql_types::Array<BigInt>, _>(&waiting)
        .load(conn)
        .await?;
        let mut done = Vec::with_capacity(rows.len());
        let mut dead: Vec<(i64, String)> = Vec::new();
        let mut failure = None;
        for r in rows {
            // Rows written before job_uuid existed keep their old id.
            let id = match r.job_uuid {
                Some(u) => format!("{source}:{u}"),
                None => format!("{source}:{}", r.id),
            };
            let job = Job { id, key: r.routing_key, payload: r.payload, traceparent: r.traceparent };
            match broker.publish(&job).await {
                Ok(()) => {
                    backoff.until.remove(&r.id);
                    done.push(r.id);
                }
                // In process, a job's consumer failed; or nobody consumes
                // its key yet: the others go on, it is tried again later.
                Err(e) if !broker.is_amqp() || e.downcast_ref::<Unroutable>().is_some() => {
                    // A queue not bound yet is a matter of seconds: short waits.
                    let unroutable = e.downcast_ref::<Unroutable>().is_some();
                    let policy = if unroutable { UNROUTABLE_RETRY } else { broker.retry };
                    let attempt = backoff.failed(r.id, &policy);
                    // In process, a consumer that failed this often gives
                    // up: the row is set aside (never for an unroutable job:
                    // its consumer has just not started).
                    if !unroutable && attempt >= broker.retry.attempts {
                        tracing::error!(job = job.id, attempt, error = format!("{e:#}"), "job gave up; kept as dead (in the outbox)");
                        backoff.until.remove(&r.id);
                        dead.push((r.id, format!("{e:#}")));
                        continue;
                    }
                    tracing::warn!(job = job.id, attempt, error = format!("{e:#}"), "job failed; it will be retried");
                }
                // The broker is unreachable: stop, keep what was confirmed.
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        for (id, error) in &dead {
            diesel::sql_query("UPDATE outbox SET failed_at = now(), last_error = $2 WHERE id = $1")
                .bind::<BigInt, _>(*id)
                .bind::<Text, _>(dead::clip(error))
                .execute(conn)
                .await?;
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

#[derive(diesel::QueryableByName)]
struct Backlog {
    #[diesel(sql_type = BigInt)]
    pending: i64,
    #[diesel(sql_type = diesel::sql_types::Double)]
    oldest: f64,
    #[diesel(sql_type = BigInt)]
    dead: i64,
}

/// Samples the outbox and the pool into the metrics.
async fn sample(pool: &Pool, source: &'static str) {
    let state = pool.state();
    metrics::gauge!("ocomms_db_pool_connections", "source" => source, "state" => "open").set(f64::from(state.connections));
    metrics::gauge!("ocomms_db_pool_connections", "source" => source, "state" => "idle").set(f64::from(state.idle_connections));
    let Ok(mut conn) = pool.get().await else { return };
    let q = diesel::sql_query(
        "SELECT count(*) FILTER (WHERE failed_at IS NULL) AS pending,
                COALESCE(extract(epoch FROM now() - min(created_at) FILTER (WHERE failed_at IS NULL))::float8, 0) AS oldest,
                count(*) FILTER (WHERE failed_at IS NOT NULL) + (SELECT count(*) FROM dead_jobs) AS dead
         FROM outbox WHERE published_at IS NULL",
    );
    if let Ok(b) = q.get_result::<Backlog>(&mut conn).await {
        metrics::gauge!("ocomms_outbox_backlog", "source" => source).set(b.pending as f64);
        metrics::gauge!("ocomms_outbox_oldest_seconds", "source" => source).set(b.oldest);
        metrics::gauge!("ocomms_jobs_dead", "source" => source).set(b.dead as f64);
    }
}

/// How long published outbox rows are kept (for inspection).
pub const KEEP_PUBLISHED: &str = "7 days";
/// How long a handled job's id is remembered: far longer than any
/// redelivery (retries end after about an hour and a half by default). A
/// dead job an operator runs again later than this may repeat the effect
/// of a consumer of its key that had succeeded (in process, where every
/// consumer runs again).
pub const KEEP_PROCESSED: &str = "14 days";

/// Deletes outbox rows published more than [`KEEP_PUBLISHED`] ago and
/// processed job ids older than [`KEEP_PROCESSED`], 10,000 at a time so that
/// no statement runs long. Rows not yet published, or set aside after
/// failing, stay. Answers how many of each went.
pub async fn prune(conn: &mut AsyncPgConnection) -> diesel::QueryResult<(usize, usize)> {
    let (mut outbox, mut processed) = (0, 0);
    loop {
        let n = diesel::sql_query(format!(
            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE published_at < now() - interval '{KEEP_PUBLISHED}' LIMIT 10000)"
        ))
        .execute(conn)
        .await?;
        outbox += n;
        if n < 10000 {
            break;
        }
    }
    loop {
        let n = diesel::sql_query(format!(
            "DELETE FROM processed_events WHERE ctid IN
               (SELECT ctid FROM processed_events WHERE processed_at < now() - interval '{KEEP_PROCESSED}' LIMIT 10000)"
        ))
        .execute(conn)
        .await?;
        processed += n;
        if n < 10000 {
            break;
        }
    }
    Ok((outbox, processed))
}

/// Whether a job id is already recorded as done (a consumer whose work is
/// outside the database, such as a push, checks before doing it again).
pub async fn already_done(conn: &mut AsyncPgConnection, job_id: &str) -> diesel::QueryResult<bool> {
    #[derive(diesel::QueryableByName)]
    struct Done {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        done: bool,
    }
    let d: Done = diesel::sql_query("SELECT EXISTS (SELECT 1 FROM processed_events WHERE event_id = $1) AS done")
        .bind::<Text, _>(job_id)
        .get_result(conn)
        .await?;
    Ok(d.done)
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
