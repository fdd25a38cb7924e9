//! Durable jobs without RabbitMQ: the in-process exchange runs a job's
//! consumers when the relay publishes it, and the outbox row stays the truth
//! until they have committed, so a process killed mid-job loses nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use diesel_async::RunQueryDsl;
use ocomms_runtime::jobs::{self, Broker, Relay};
use ocomms_runtime::testing::TestDb;

const KEY: &str = "test.crash";

async fn unpublished(pool: &ocomms_runtime::db::Pool) -> i64 {
    let mut conn = pool.get().await.expect("conn");
    ocomms_runtime::db::count(&mut conn, "SELECT count(*) AS n FROM outbox WHERE published_at IS NULL AND routing_key = 'test.crash'")
        .await
        .expect("count")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_in_process_job_killed_mid_flight_runs_again_after_a_restart_and_once() {
    let db = TestDb::new("messaging", svc_messaging::MIGRATIONS, 4).await.expect("database");
    let (url, pool) = (db.url.clone(), db.pool.clone());
    let prefix = format!("crash-{}", uuid::Uuid::new_v4().simple());
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
            let broker = Broker::connect(None, &prefix1, true, &pool).await.expect("broker");
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
    let broker = Broker::connect(None, &prefix, true, &pool).await.expect("broker");
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
}

/// A consumer that fails while `broken` is set (until its cause is
/// fixed), counting its runs and keeping the ids of the jobs it did.
#[derive(Clone, Default)]
struct Flaky {
    broken: Arc<AtomicBool>,
    runs: Arc<AtomicUsize>,
    done: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Flaky {
    fn start(broker: &Broker, queue: &str, key: &'static str) -> Self {
        let me = Self::default();
        me.broken.store(true, Ordering::SeqCst);
        let m = me.clone();
        broker.consume(queue, &[key], move |job| {
            let m = m.clone();
            async move {
                AtomicUsize::fetch_add(&m.runs, 1, Ordering::SeqCst);
                anyhow::ensure!(!AtomicBool::load(&m.broken, Ordering::SeqCst), "this job cannot succeed yet");
                m.done.lock().expect("done").push(job.id);
                Ok(())
            }
        });
        me
    }

    fn runs(&self) -> usize {
        AtomicUsize::load(&self.runs, Ordering::SeqCst)
    }

    fn fix(&self) {
        self.broken.store(false, Ordering::SeqCst);
    }

    fn break_again(&self) {
        self.broken.store(true, Ordering::SeqCst);
    }

    fn done(&self) -> Vec<String> {
        self.done.lock().expect("done").clone()
    }
}

const QUICK: jobs::Retry = jobs::Retry { attempts: 3, base: Duration::from_millis(100), max_delay: Duration::from_millis(200) };

async fn settle(runs: impl Fn() -> usize, want: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while runs() < want {
        assert!(tokio::time::Instant::now() < deadline, "only {} runs", runs());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // And no more after that.
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Waits until RabbitMQ has every one of `queues` (a consumer declares its
/// retry queue once its own queue is bound).
async fn bound(amqp: &str, queues: &[&str]) {
    let conn = lapin::Connection::connect(amqp, lapin::ConnectionProperties::default()).await.expect("amqp");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    for q in queues {
        loop {
            // A passive declare of a missing queue closes its channel.
            let ch = conn.create_channel().await.expect("channel");
            let passive = lapin::options::QueueDeclareOptions { passive: true, ..Default::default() };
            if ch.queue_declare((*q).into(), passive, Default::default()).await.is_ok() {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "queue {q} never declared");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    conn.close(200, "checked".into()).await.ok();
}

async fn dead_jobs(pool: &ocomms_runtime::db::Pool) -> Vec<jobs::dead::DeadJob> {
    let mut conn = pool.get().await.expect("conn");
    jobs::dead::list(&mut conn, "poison", 100).await.expect("dead jobs")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_job_with_rabbitmq_gives_up_rests_dead_and_runs_again_only_where_it_failed() {
    let db = TestDb::new("messaging", svc_messaging::MIGRATIONS, 4).await.expect("database");
    let pool = db.pool.clone();
    let prefix = format!("poison-{}", uuid::Uuid::new_v4().simple());
    let amqp = ocomms_runtime::testing::amqp_url();
    let broker = Broker::connect(Some(&amqp), &prefix, true, &pool).await.expect("broker").with_retry(QUICK);
    // Two consumers of the key: one fails until fixed, the other works.
    let flaky = Flaky::start(&broker, "test.poison", "test.poison");
    let fine = Flaky::start(&broker, "test.poison-fine", "test.poison");
    fine.fix();
    bound(&amqp, &[&format!("{prefix}.test.poison.retry"), &format!("{prefix}.test.poison-fine.retry")]).await;
    let mut conn = pool.get().await.expect("conn");
    jobs::enqueue(&mut conn, "test.poison", &serde_json::json!({ "n": 1 }), None).await.expect("enqueue");
    drop(conn);
    let relay = Relay::spawn(pool.clone(), broker.clone(), "poison");
    settle(|| flaky.runs(), 3).await;
    assert_eq!(flaky.runs(), 3, "tried exactly as often as the policy says");
    assert_eq!(fine.done().len(), 1, "the other consumer did its part once");

    // It rests in the consumer's database, with what an operator needs.
    let dead = dead_jobs(&pool).await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    let d = &dead[0];
    assert_eq!(d.job_id, fine.done()[0], "the job's own id");
    assert_eq!((d.key.as_str(), d.queue.clone(), d.failures), ("test.poison", Some(format!("{prefix}.test.poison")), Some(3)));
    assert!(d.last_error.contains("cannot succeed yet"), "{}", d.last_error);
    assert_eq!(d.payload, serde_json::json!({ "n": 1 }));
    let mut conn = pool.get().await.expect("conn");
    assert_eq!(jobs::dead::count(&mut conn).await.expect("count"), 1);

    // Without RabbitMQ it cannot go back, and stays.
    let e = jobs::dead::retry(&mut conn, None, "poison", &d.job_id).await.expect_err("no broker");
    assert!(format!("{e:#}").contains("AMQP_URL"), "{e:#}");
    assert_eq!(dead_jobs(&pool).await.len(), 1);

    // Once the cause is fixed it runs again, with its id, in the queue it
    // failed in alone: the other consumer never sees it twice.
    flaky.fix();
    assert_eq!(jobs::dead::retry(&mut conn, Some(&broker), "poison", &d.job_id).await.expect("retry"), 1);
    settle(|| flaky.done().len(), 1).await;
    assert_eq!(flaky.done(), vec![d.job_id.clone()]);
    assert_eq!(fine.done().len(), 1);
    assert!(dead_jobs(&pool).await.is_empty());
    assert_eq!(jobs::dead::retry(&mut conn, Some(&broker), "poison", &d.job_id).await.expect("retry"), 0, "nothing left to retry");

    // A job that dies again can be discarded instead.
    flaky.break_again();
    jobs::enqueue(&mut conn, "test.poison", &serde_json::json!({ "n": 2 }), None).await.expect("enqueue");
    relay.wake();
    settle(|| flaky.runs(), 7).await;
    let dead = dead_jobs(&pool).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(jobs::dead::discard(&mut conn, "poison", &dead[0].job_id).await.expect("discard"), 1);
    assert!(dead_jobs(&pool).await.is_empty());
    assert_eq!(jobs::dead::count(&mut conn).await.expect("count"), 0);
    drop(conn);
    let ch = lapin::Connection::connect(&amqp, lapin::ConnectionProperties::default()).await.expect("amqp");
    let ch = ch.create_channel().await.expect("channel");
    for q in ["test.poison", "test.poison.retry", "test.poison-fine", "test.poison-fine.retry"] {
        ch.queue_delete(format!("{prefix}.{q}").as_str().into(), Default::default()).await.ok();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_job_that_cannot_be_set_aside_waits_and_is_never_lost() {
    let db = TestDb::new("messaging", svc_messaging::MIGRATIONS, 4).await.expect("database");
    let pool = db.pool.clone();
    let prefix = format!("poison-{}", uuid::Uuid::new_v4().simple());
    let amqp = ocomms_runtime::testing::amqp_url();
    // Two attempts, then (were it set aside) the longest wait is 2 s.
    let retry = jobs::Retry { attempts: 2, base: Duration::from_millis(100), max_delay: Duration::from_secs(2) };
    let broker = Broker::connect(Some(&amqp), &prefix, true, &pool).await.expect("broker").with_retry(retry);
    let flaky = Flaky::start(&broker, "test.unkept", "test.unkept");
    bound(&amqp, &[&format!("{prefix}.test.unkept.retry")]).await;
    // Where dead jobs rest cannot be written (as when the database is down).
    let mut conn = pool.get().await.expect("conn");
    diesel::sql_query("ALTER TABLE dead_jobs RENAME TO dead_jobs_away").execute(&mut conn).await.expect("rename");
    jobs::enqueue(&mut conn, "test.unkept", &serde_json::json!({ "n": 1 }), None).await.expect("enqueue");
    let _relay = Relay::spawn(pool.clone(), broker.clone(), "poison");
    // Out of attempts, it is neither dropped nor run again at once (in a
    // loop, while the database is down): it waits the longest delay, then
    // is tried again.
    ocomms_runtime::testing::eventually(10, || async { (flaky.runs() >= 2).then_some(()) }).await.expect("two attempts");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(flaky.runs(), 2, "it waits before the next try");
    ocomms_runtime::testing::eventually(10, || async { (flaky.runs() >= 3).then_some(()) }).await.expect("tried again");
    // Once it can be written, the job rests there, with its attempts.
    diesel::sql_query("ALTER TABLE dead_jobs_away RENAME TO dead_jobs").execute(&mut conn).await.expect("rename back");
    let dead = ocomms_runtime::testing::eventually(10, || async {
        let d = dead_jobs(&pool).await;
        (!d.is_empty()).then_some(d)
    })
    .await
    .expect("set aside once it could be");
    assert_eq!((dead.len(), dead[0].key.as_str(), dead[0].failures), (1, "test.unkept", Some(2)), "{dead:?}");
    assert!(flaky.done().is_empty());
    assert_eq!(jobs::dead::discard(&mut conn, "poison", &dead[0].job_id).await.expect("discard"), 1);
    drop(conn);
    let ch = lapin::Connection::connect(&amqp, lapin::ConnectionProperties::default()).await.expect("amqp");
    let ch = ch.create_channel().await.expect("channel");
    for q in ["test.unkept", "test.unkept.retry"] {
        ch.queue_delete(format!("{prefix}.{q}").as_str().into(), Default::default()).await.ok();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_job_in_process_gives_up_rests_in_the_outbox_and_runs_again() {
    let db = TestDb::new("messaging", svc_messaging::MIGRATIONS, 4).await.expect("database");
    let pool = db.pool.clone();
    let prefix = format!("poison-{}", uuid::Uuid::new_v4().simple());
    let broker = Broker::connect(None, &prefix, true, &pool).await.expect("broker").with_retry(QUICK);
    let flaky = Flaky::start(&broker, "test.poison-local", "test.poison-local");
    let mut conn = pool.get().await.expect("conn");
    jobs::enqueue(&mut conn, "test.poison-local", &serde_json::json!({ "n": 1 }), None).await.expect("enqueue");
    let _relay = Relay::spawn(pool.clone(), broker, "poison");
    settle(|| flaky.runs(), 3).await;
    assert_eq!(flaky.runs(), 3);
    let dead = dead_jobs(&pool).await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    let d = &dead[0];
    assert!(d.job_id.starts_with("poison:"), "{}", d.job_id);
    assert_eq!((d.key.as_str(), d.queue.as_deref(), d.failures), ("test.poison-local", None, None));
    assert!(d.last_error.contains("cannot succeed yet"), "{}", d.last_error);
    assert_eq!(jobs::dead::count(&mut conn).await.expect("count"), 1);

    // Fixed, it runs again from the outbox, with its id.
    flaky.fix();
    assert_eq!(jobs::dead::retry(&mut conn, None, "poison", &d.job_id).await.expect("retry"), 1);
    settle(|| flaky.done().len(), 1).await;
    assert_eq!(flaky.done(), vec![d.job_id.clone()]);
    assert!(dead_jobs(&pool).await.is_empty());
    assert_eq!(unpublished_of(&pool, "test.poison-local").await, 0, "published this time");

    // Or it is discarded.
    flaky.break_again();
    jobs::enqueue(&mut conn, "test.poison-local", &serde_json::json!({ "n": 2 }), None).await.expect("enqueue");
    settle(|| flaky.runs(), 7).await;
    let dead = dead_jobs(&pool).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(jobs::dead::discard(&mut conn, "poison", &dead[0].job_id).await.expect("discard"), 1);
    assert!(dead_jobs(&pool).await.is_empty());
    assert_eq!(unpublished_of(&pool, "test.poison-local").await, 0, "gone from the outbox");
    drop(conn);
}

async fn unpublished_of(pool: &ocomms_runtime::db::Pool, key: &str) -> i64 {
    let mut conn = pool.get().await.expect("conn");
    ocomms_runtime::db::count(&mut conn, &format!("SELECT count(*) AS n FROM outbox WHERE published_at IS NULL AND routing_key = '{key}'"))
        .await
        .expect("count")
}

#[tokio::test(flavor = "multi_thread")]
async fn old_job_records_are_pruned_and_pending_or_failed_ones_kept() {
    let db = TestDb::new("messaging", svc_messaging::MIGRATIONS, 2).await.expect("database");
    let pool = db.pool.clone();
    let mut conn = pool.get().await.expect("conn");
    for sql in [
        // Published long ago (goes), lately (stays); never published, old (stays); set aside after failing (stays).
        "INSERT INTO outbox (routing_key, payload, published_at) VALUES ('test.old', '{}', now() - interval '8 days')",
        "INSERT INTO outbox (routing_key, payload, published_at) VALUES ('test.recent', '{}', now() - interval '1 day')",
        "INSERT INTO outbox (routing_key, payload, created_at) VALUES ('test.pending', '{}', now() - interval '30 days')",
        "INSERT INTO outbox (routing_key, payload, failed_at, last_error) VALUES ('test.failed', '{}', now() - interval '30 days', 'x')",
        "INSERT INTO processed_events (event_id, processed_at) VALUES ('old', now() - interval '15 days'), ('recent', now() - interval '13 days')",
    ] {
        diesel::sql_query(sql).execute(&mut conn).await.expect(sql);
    }
    assert_eq!(jobs::prune(&mut conn).await.expect("prune"), (1, 1));
    let keys = ocomms_runtime::db::count(
        &mut conn,
        "SELECT count(*) AS n FROM outbox WHERE routing_key IN ('test.recent', 'test.pending', 'test.failed')",
    )
    .await
    .expect("count");
    assert_eq!(keys, 3);
    assert_eq!(
        ocomms_runtime::db::count(&mut conn, "SELECT count(*) AS n FROM outbox WHERE routing_key = 'test.old'").await.expect("n"),
        0
    );
    assert_eq!(
        ocomms_runtime::db::count(&mut conn, "SELECT count(*) AS n FROM processed_events WHERE event_id = 'recent'").await.expect("n"),
        1
    );
    // Nothing more to do the second time.
    assert_eq!(jobs::prune(&mut conn).await.expect("prune"), (0, 0));
    drop(conn);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_producer_whose_outbox_starts_over_never_repeats_a_job_id() {
    let db = TestDb::new("messaging", svc_messaging::MIGRATIONS, 4).await.expect("database");
    let pool = db.pool.clone();
    let prefix = format!("reset-{}", uuid::Uuid::new_v4().simple());
    let broker = Broker::connect(None, &prefix, true, &pool).await.expect("broker");
    let seen = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let ids = seen.clone();
    broker.consume("test.reset", &["test.reset"], move |job| {
        let ids = ids.clone();
        async move {
            ids.lock().expect("ids").push(job.id.clone());
            Ok(())
        }
    });
    let _relay = Relay::spawn(pool.clone(), broker, "messaging");
    let count = |n: usize| {
        let seen = seen.clone();
        async move {
            for _ in 0..200 {
                if seen.lock().expect("ids").len() >= n {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("job {n} never ran");
        }
    };
    let mut conn = pool.get().await.expect("conn");
    jobs::enqueue(&mut conn, "test.reset", &serde_json::json!({ "n": 1 }), None).await.expect("enqueue");
    count(1).await;
    // The producer's outbox starts over (a restored or reset database): its
    // row ids count from 1 again, and the job ids do not repeat.
    diesel::sql_query("TRUNCATE outbox RESTART IDENTITY").execute(&mut conn).await.expect("reset");
    jobs::enqueue(&mut conn, "test.reset", &serde_json::json!({ "n": 2 }), None).await.expect("enqueue");
    count(2).await;
    let ids = seen.lock().expect("ids").clone();
    assert!(ids.iter().all(|id| id.starts_with("messaging:")), "{ids:?}");
    assert_ne!(ids[0], ids[1], "a consumer that remembers the first job would skip the second");
    drop(conn);
}

/// The test harness fails a test that leaves a job unprocessed: a DM's
/// notification job, with no svc-notify running to take it, is named when
/// the service stops (unless the test says no consumer runs for it).
#[tokio::test(flavor = "multi_thread")]
async fn the_harness_fails_a_test_that_leaves_a_job_unprocessed() {
    use crate::helpers::*;
    use ocomms_proto::messaging::v1 as pb;
    use ocomms_proto::messaging::v1::jobs::MESSAGE_MENTIONED;
    let app = app().await;
    // A second svc-messaging, strict: nothing declared as unconsumed.
    let common = ocomms_runtime::testing::test_config("messaging", svc_messaging::MIGRATIONS, &app.auth.url()).await.expect("config");
    let (db, prefix) = (common.database_url.clone(), common.amqp_prefix.clone());
    let bus = app.bus.clone();
    let strict = ocomms_runtime::testing::spawn(db.clone(), move |l, s| {
        let config = svc_messaging::Config {
            common,
            membership_cache_secs: 5,
            presence_url: "http://127.0.0.1:9".into(),
            files_url: "http://127.0.0.1:9".into(),
        };
        svc_messaging::serve(config, bus, l, s)
    })
    .await
    .expect("svc-messaging starts");
    let mut c =
        ocomms_proto::messaging::v1::messaging_service_client::MessagingServiceClient::connect(strict.url()).await.expect("connects");
    let (_, ann) = user(&app, "ann").await;
    let (bob_id, bob) = user(&app, "bob").await;
    let ws = workspace(&app, &ann).await;
    invite(&app, &ws, &ann, &bob).await;
    let dm = c
        .open_conversation(authed(&ann, pb::OpenConversationRequest { workspace_id: ws, user_ids: vec![bob_id] }))
        .await
        .expect("dm")
        .into_inner();
    let send = pb::SendMessageRequest { conversation_id: Some(dm.id), content: "psst".into(), ..Default::default() };
    c.send_message(authed(&ann, send)).await.expect("sent");

    let amqp = ocomms_runtime::testing::amqp_url();
    let left = jobs::unsettled(&db, &prefix, Some(&amqp), &[]).await.expect("checked");
    assert!(left.iter().any(|l| l.contains(MESSAGE_MENTIONED)), "the DM's job is left: {left:?}");
    assert!(jobs::unsettled(&db, &prefix, Some(&amqp), &[MESSAGE_MENTIONED]).await.expect("checked").is_empty(), "and nothing else");

    // Stopping the service fails the test, naming the job.
    let stopped = tokio::spawn(async move { drop(strict) }).await;
    let panic = stopped.expect_err("the harness fails the test").into_panic();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("left jobs unprocessed") && message.contains(MESSAGE_MENTIONED), "{message}");
}
