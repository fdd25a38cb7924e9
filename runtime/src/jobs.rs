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
//! Without `AMQP_URL` (one node) the exchange is an in-process broadcast
//! shared by the services of the process; rows are still written first.

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
use tokio::sync::{Notify, broadcast};

use crate::db::Pool;

/// One unit of durable work.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Job {
    /// Stable across redeliveries: `<source service>:<outbox id>`.
    pub id: String,
    pub key: String,
    pub payload: serde_json::Value,
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

/// The in-process exchange: a broadcast plus the keys consumers bound, so
/// that a job nobody listens for yet is refused (and stays in the outbox)
/// rather than lost.
struct LocalExchange {
    tx: broadcast::Sender<Arc<Job>>,
    bound: Mutex<Vec<String>>,
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
                let ex = all
                    .entry(prefix.to_owned())
                    .or_insert_with(|| Arc::new(LocalExchange { tx: broadcast::channel(4096).0, bound: Mutex::default() }))
                    .clone();
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

    /// Publishes a job; Ok only once the broker has it.
    pub async fn publish(&self, job: &Job) -> anyhow::Result<()> {
        match &self.transport {
            // No consumer yet (still starting): not delivered, so the row
            // stays in the outbox and is retried.
            Transport::Local(ex) => {
                let listened = ex.bound.lock().map(|b| b.contains(&job.key)).unwrap_or(false);
                anyhow::ensure!(listened, "no consumer for {} yet", job.key);
                ex.tx.send(Arc::new(job.clone())).map(drop).map_err(|_| anyhow::anyhow!("no consumer for job {}", job.id))
            }
            Transport::Amqp(a) => a.publish(job).await,
        }
    }

    /// Runs `handler` for every job whose key is in `keys`, on the durable
    /// queue `<prefix>.<queue>`; a job is acknowledged only when the handler
    /// succeeded, and redelivered otherwise.
    pub fn consume<F, Fut>(&self, queue: &str, keys: &[&str], handler: F)
    where
        F: Fn(Job) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send,
    {
        let keys: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
        let handler = Arc::new(handler);
        match &self.transport {
            Transport::Local(ex) => {
                let mut rx = ex.tx.subscribe();
                if let Ok(mut b) = ex.bound.lock() {
                    b.extend(keys.iter().cloned());
                }
                tokio::spawn(async move {
                    loop {
                        let job = match rx.recv().await {
                            Ok(j) => j,
                            Err(broadcast::error::RecvError::Lagged(n)) => {
                                tracing::error!(missed = n, "in-process job consumer fell behind");
                                continue;
                            }
                            Err(broadcast::error::RecvError::Closed) => return,
                        };
                        if !keys.contains(&job.key) {
                            continue;
                        }
                        // Retried until it succeeds (with backoff): a job is
                        // never dropped.
                        let mut delay = Duration::from_millis(100);
                        let mut attempt = 0u32;
                        while let Err(e) = handler((*job).clone()).await {
                            attempt += 1;
                            tracing::warn!(job = job.id, attempt, error = format!("{e:#}"), "job failed; retrying");
                            tokio::time::sleep(delay).await;
                            delay = (delay * 2).min(Duration::from_secs(30));
                        }
                    }
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
        let confirm = ch
            .basic_publish(
                self.exchange.as_str().into(),
                job.key.as_str().into(),
                lapin::options::BasicPublishOptions::default(),
                &body,
                props,
            )
            .await?
            .await?;
        anyhow::ensure!(confirm.is_ack(), "broker refused job {}", job.id);
        Ok(())
    }

    async fn consume_once<F, Fut>(&self, queue: &str, keys: &[String], ephemeral: bool, handler: Arc<F>) -> anyhow::Result<()>
    where
        F: Fn(Job) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send,
    {
        let ch = self.connect().await?;
        let opts = lapin::options::QueueDeclareOptions { durable: !ephemeral, auto_delete: ephemeral, ..Default::default() };
        ch.queue_declare(queue.into(), opts, lapin::types::FieldTable::default()).await?;
        for k in keys {
            ch.queue_bind(queue.into(), self.exchange.as_str().into(), k.as_str().into(), Default::default(), Default::default()).await?;
        }
        ch.basic_qos(16, Default::default()).await?;
        let mut consumer = ch.basic_consume(queue.into(), "".into(), Default::default(), Default::default()).await?;
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
            match handler(job.clone()).await {
                Ok(()) => {
                    delivery.ack(Default::default()).await?;
                }
                Err(e) => {
                    tracing::warn!(job = job.id, error = format!("{e:#}"), "job failed; it will be redelivered");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    delivery.nack(lapin::options::BasicNackOptions { requeue: true, ..Default::default() }).await?;
                }
            }
        }
        anyhow::bail!("consumer stream ended")
    }
}

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
            loop {
                match relay_batch(&pool, &broker, source).await {
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

/// Publishes up to 100 due rows; marks them published only after the broker
/// confirmed each. Returns how many went out.
pub async fn relay_batch(pool: &Pool, broker: &Broker, source: &str) -> anyhow::Result<usize> {
    let mut conn = pool.get().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let broker = broker.clone();
    let source = source.to_owned();
    conn.transaction::<_, anyhow::Error, _>(async move |conn| {
        let rows: Vec<Row> = diesel::sql_query(
            "SELECT id, routing_key, payload FROM outbox
              WHERE published_at IS NULL AND due_at <= now()
              ORDER BY due_at, id LIMIT 100 FOR UPDATE SKIP LOCKED",
        )
        .load(conn)
        .await?;
        let mut done = Vec::with_capacity(rows.len());
        for r in rows {
            let job = Job { id: format!("{source}:{}", r.id), key: r.routing_key, payload: r.payload };
            broker.publish(&job).await?;
            done.push(r.id);
        }
        if !done.is_empty() {
            diesel::sql_query("UPDATE outbox SET published_at = now() WHERE id = ANY($1)")
                .bind::<diesel::sql_types::Array<BigInt>, _>(&done)
                .execute(conn)
                .await?;
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
