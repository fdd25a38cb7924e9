//! Durable jobs without RabbitMQ: the in-process exchange runs a job's
//! consumers when the relay publishes it, and the outbox row stays the truth
//! until they have committed, so a process killed mid-job loses nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use diesel_async::RunQueryDsl;
use ocomms_runtime::jobs::{self, Broker, Relay};

const KEY: &str = "test.crash";

async fn unpublished(pool: &ocomms_runtime::db::Pool) -> i64 {
    let mut conn = pool.get().await.expect("conn");
    ocomms_runtime::db::count(&mut conn, "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL AND routing_key = 'test.crash'")
        .await
        .expect("count")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_in_process_job_killed_mid_flight_runs_again_after_a_restart_and_once() {
    ocomms_runtime::telemetry::init_for_tests();
    let url = ocomms_runtime::db::test_database(&ocomms_runtime::testing::base_url(), "messaging", svc_messaging::MIGRATIONS)
        .await
        .expect("database");
    let prefix = format!("crash-{}", uuid::Uuid::new_v4().simple());
    let pool = ocomms_runtime::db::pool(&url, 4).await.expect("pool");
    {
        let mut conn = pool.get().await.expect("conn");
        jobs::enqueue(&mut conn, KEY, &serde_json::json!({ "n": 1 }), None).await.expect("enqueue");
        diesel::sql_query("CREATE TABLE done_jobs (job_id text PRIMARY KEY)").execute(&mut conn).await.expect("table");
        // A consumer's record of jobs done (as svc-notify keeps).
        diesel::sql_query(
            "CREATE TABLE IF NOT EXISTS processed_events (event_id text PRIMARY KEY, processed_at timestamptz NOT NULL DEFAULT now())",
        )
        .execute(&mut conn)
        .await
        .expect("table");
    }

    // The first process: its consumer starts the work and never finishes;
    // the process is killed (its runtime dropped) while the job is in flight.
    let (entered_tx, entered_rx) = std::sync::mpsc::channel::<()>();
    let (kill_tx, kill_rx) = tokio::sync::oneshot::channel::<()>();
    let (url1, prefix1) = (url.clone(), prefix.clone());
    let first = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
        rt.block_on(async move {
            let pool = ocomms_runtime::db::pool(&url1, 2).await.expect("pool");
            let broker = Broker::connect(None, &prefix1, true).await.expect("broker");
            broker.consume("test.crash", &[KEY], move |_job| {
                let entered = entered_tx.clone();
                async move {
                    let _ = entered.send(());
                    std::future::pending::<()>().await;
                    Ok(())
                }
            });
            let _relay = Relay::spawn(pool, broker, "crash");
            let _ = kill_rx.await;
        });
        // Killed: every task (the relay mid-transaction, the consumer
        // mid-job) is dropped with the runtime, and its connections closed.
        rt.shutdown_timeout(Duration::from_millis(100));
    });
    tokio::task::spawn_blocking(move || entered_rx.recv_timeout(Duration::from_secs(20)))
        .await
        .expect("join")
        .expect("the first process started the job");
    // Mid-flight: the job is not acknowledged.
    assert_eq!(unpublished(&pool).await, 1, "a job in flight stays in the outbox");
    let _ = kill_tx.send(());
    tokio::task::spawn_blocking(move || first.join()).await.expect("join").expect("first process ended");
    assert_eq!(unpublished(&pool).await, 1, "a job whose process died stays in the outbox");

    // The restarted process: a working consumer that records the job once.
    let runs = Arc::new(AtomicUsize::new(0));
    let broker = Broker::connect(None, &prefix, true).await.expect("broker");
    let (p2, r2) = (pool.clone(), runs.clone());
    broker.consume("test.crash", &[KEY], move |job| {
        let (pool, runs) = (p2.clone(), r2.clone());
        async move {
            let mut conn = pool.get().await.map_err(|e| anyhow::anyhow!("{e}"))?;
            let fresh = jobs::once(&mut conn, &job.id, |conn| {
                Box::pin(async move {
                    diesel::sql_query("INSERT INTO done_jobs (job_id) VALUES ('x')").execute(conn).await?;
                    Ok(())
                })
            })
            .await?;
            if fresh.is_some() {
                runs.fetch_add(1, Ordering::SeqCst);
            }
            Ok(())
        }
    });
    let _relay = Relay::spawn(pool.clone(), broker, "crash");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while unpublished(&pool).await > 0 {
        assert!(tokio::time::Instant::now() < deadline, "the job was never done after the restart");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(AtomicUsize::load(&runs, Ordering::SeqCst), 1, "the restarted process did the work");
    let mut conn = pool.get().await.expect("conn");
    assert_eq!(ocomms_runtime::db::count(&mut conn, "SELECT count(*) AS n FROM done_jobs").await.expect("count"), 1);
    drop(conn);
    drop(pool);
    ocomms_runtime::db::drop_database(&url).await.expect("drop");
}
