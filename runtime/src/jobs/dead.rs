//! Jobs that gave up, kept to be looked at, run again or discarded by an
//! operator (`ocomms jobs`), instead of being retried forever or lost.
//!
//! A job rests in the database of the service that holds it:
//! - with RabbitMQ, the **consumer's** `dead_jobs` table, one row per job
//!   and consumer queue (a job whose key two consumers take may die in one
//!   and be done in the other); running it again publishes it to that
//!   queue alone, with its id, so other consumers never see it twice;
//! - in process, the **producer's** `outbox` row, marked `failed_at`
//!   (every consumer of its key runs when it is published); running it
//!   again clears the mark, and the relay publishes it as before.
//!
//! Either way the job keeps its id, so a consumer that did the work after
//! all (its success was not recorded before the process died) skips it.

use anyhow::Context;
use chrono::{DateTime, Utc};
use diesel::QueryableByName;
use diesel::sql_types::{Integer, Jsonb, Nullable, Text, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::Serialize;

use super::{Broker, Job};

/// One job that gave up.
#[derive(Debug, Clone, PartialEq, Serialize, QueryableByName)]
#[serde(rename_all = "camelCase")]
pub struct DeadJob {
    #[diesel(sql_type = Text)]
    pub job_id: String,
    #[diesel(sql_type = Text)]
    pub key: String,
    /// The consumer queue it failed in (RabbitMQ); `None`: in process, in
    /// this service's outbox, for every consumer of its key.
    #[diesel(sql_type = Nullable<Text>)]
    pub queue: Option<String>,
    #[diesel(sql_type = Jsonb)]
    pub payload: serde_json::Value,
    #[diesel(sql_type = Nullable<Text>)]
    #[serde(skip)]
    pub traceparent: Option<String>,
    /// How many times it was tried (RabbitMQ; the outbox does not count).
    #[diesel(sql_type = Nullable<Integer>)]
    pub failures: Option<i32>,
    #[diesel(sql_type = Text)]
    pub last_error: String,
    #[diesel(sql_type = Timestamptz)]
    pub died_at: DateTime<Utc>,
}

/// The longest error kept with a dead job.
const MAX_ERROR_CHARS: usize = 2000;

/// An error as kept: clipped, without the NUL PostgreSQL's text refuses.
pub(crate) fn clip(error: &str) -> String {
    error.chars().filter(|c| *c != '\0').take(MAX_ERROR_CHARS).collect()
}

/// The job id of an outbox row, as its relay (with `source`) publishes it.
const OUTBOX_JOB_ID: &str = "$1 || ':' || COALESCE(job_uuid::text, id::text)";

/// An outbox row set aside in process (not a row still to relay).
const FAILED: &str = "failed_at IS NOT NULL AND published_at IS NULL";

/// The rows of `dead_jobs` as [`DeadJob`]s, then `rest` of the statement.
fn rested(rest: &str) -> String {
    format!("SELECT job_id, routing_key AS key, queue, payload, traceparent, failures, last_error, died_at FROM dead_jobs {rest}")
}

/// The failed outbox rows as [`DeadJob`]s (`$1`: the source), and `and`.
fn failed_outbox(and: &str) -> String {
    format!(
        "SELECT {OUTBOX_JOB_ID}, routing_key, NULL, payload, traceparent, NULL, COALESCE(last_error, ''), failed_at FROM outbox
          WHERE {FAILED} {and}"
    )
}

/// Sets a job that failed in consumer `queue` aside (RabbitMQ), in the
/// consumer's database. A copy of it that dies there too (a redelivered
/// duplicate) updates the same row.
pub(crate) async fn rest(conn: &mut AsyncPgConnection, job: &Job, queue: &str, failures: u32, error: &str) -> diesel::QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO dead_jobs (job_id, queue, routing_key, payload, traceparent, failures, last_error)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (job_id, queue) DO UPDATE
           SET failures = GREATEST(dead_jobs.failures, EXCLUDED.failures), last_error = EXCLUDED.last_error, died_at = now()",
    )
    .bind::<Text, _>(&job.id)
    .bind::<Text, _>(queue)
    .bind::<Text, _>(&job.key)
    .bind::<Jsonb, _>(&job.payload)
    .bind::<Nullable<Text>, _>(job.traceparent.as_deref())
    .bind::<Integer, _>(i32::try_from(failures).unwrap_or(i32::MAX))
    .bind::<Text, _>(clip(error))
    .execute(conn)
    .await
    .map(drop)
}

/// The dead jobs a service holds (`source`: its name, as in its job ids),
/// oldest first, at most `limit`.
pub async fn list(conn: &mut AsyncPgConnection, source: &str, limit: i64) -> diesel::QueryResult<Vec<DeadJob>> {
    diesel::sql_query(format!("{} UNION ALL {} ORDER BY died_at, job_id LIMIT $2", rested(""), failed_outbox("")))
        .bind::<Text, _>(source)
        .bind::<diesel::sql_types::BigInt, _>(limit)
        .load(conn)
        .await
}

/// The copies of dead job `job_id` a service (`source`) holds.
pub async fn find(conn: &mut AsyncPgConnection, source: &str, job_id: &str) -> diesel::QueryResult<Vec<DeadJob>> {
    diesel::sql_query(format!("{} UNION ALL {}", rested("WHERE job_id = $2"), failed_outbox(&format!("AND {OUTBOX_JOB_ID} = $2"))))
        .bind::<Text, _>(source)
        .bind::<Text, _>(job_id)
        .load(conn)
        .await
}

/// How many dead jobs a service holds.
pub async fn count(conn: &mut AsyncPgConnection) -> anyhow::Result<i64> {
    crate::db::count(conn, &format!("SELECT (SELECT count(*) FROM dead_jobs) + (SELECT count(*) FROM outbox WHERE {FAILED}) AS n")).await
}

/// Runs dead job `job_id` of service `source` again (every copy of it:
/// each consumer queue it died in, or its outbox row); `broker` (RabbitMQ)
/// publishes to those queues, and is needed only for copies that rest from
/// one. Answers how many copies went; 0 when there is no such dead job. A
/// copy is forgotten only once the broker confirmed it.
pub async fn retry(conn: &mut AsyncPgConnection, broker: Option<&Broker>, source: &str, job_id: &str) -> anyhow::Result<usize> {
    let (broker, source, job_id) = (broker.cloned(), source.to_owned(), job_id.to_owned());
    conn.transaction::<_, anyhow::Error, _>(async move |conn| {
        let copies: Vec<DeadJob> = diesel::sql_query(rested("WHERE job_id = $1 FOR UPDATE")).bind::<Text, _>(&job_id).load(conn).await?;
        for c in &copies {
            let queue = c.queue.as_deref().unwrap_or_default();
            let job = Job { id: c.job_id.clone(), key: c.key.clone(), payload: c.payload.clone(), traceparent: c.traceparent.clone() };
            let Some(broker) = &broker else {
                anyhow::bail!("job {job_id} rests from RabbitMQ queue {queue}: set AMQP_URL to send it back")
            };
            broker.requeue(queue, &job).await.with_context(|| format!("sending job {job_id} back to {queue}"))?;
        }
        // Only the copies sent back: one that died meanwhile in another
        // queue (committed after the lock above) stays, to be retried.
        let queues: Vec<String> = copies.iter().filter_map(|c| c.queue.clone()).collect();
        diesel::sql_query("DELETE FROM dead_jobs WHERE job_id = $1 AND queue = ANY($2)")
            .bind::<Text, _>(&job_id)
            .bind::<diesel::sql_types::Array<Text>, _>(&queues)
            .execute(conn)
            .await?;
        // The relay takes it at once: due now, tried afresh.
        let outbox = diesel::sql_query(format!(
            "UPDATE outbox SET failed_at = NULL, last_error = NULL, due_at = now() WHERE {FAILED} AND {OUTBOX_JOB_ID} = $2"
        ))
        .bind::<Text, _>(&source)
        .bind::<Text, _>(&job_id)
        .execute(conn)
        .await?;
        Ok(copies.len() + outbox)
    })
    .await
}

/// Forgets dead job `job_id` of service `source` (every copy); answers how
/// many copies went.
pub async fn discard(conn: &mut AsyncPgConnection, source: &str, job_id: &str) -> diesel::QueryResult<usize> {
    let rested = diesel::sql_query("DELETE FROM dead_jobs WHERE job_id = $1").bind::<Text, _>(job_id).execute(conn).await?;
    let outbox = diesel::sql_query(format!("DELETE FROM outbox WHERE {FAILED} AND {OUTBOX_JOB_ID} = $2"))
        .bind::<Text, _>(source)
        .bind::<Text, _>(job_id)
        .execute(conn)
        .await?;
    Ok(rested + outbox)
}
