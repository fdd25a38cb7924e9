//! Crash test: the service's own binary is killed with SIGKILL at the worst
//! moments (after claiming due work, after svc-messaging sent a message but
//! before it was marked sent, after marking but before the job was
//! acknowledged) and started again: every due message is sent exactly once
//! and every reminder fires once.

use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use diesel_async::RunQueryDsl;
use ocomms_runtime::testing;

use crate::helpers::*;

const MESSAGES: i64 = 5;
const REMINDERS: i64 = 3;

fn start(app: &App, db: &str, prefix: &str, crash_at: Option<&str>) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_svc-scheduler"));
    cmd.env("SCHEDULER_DATABASE_URL", db)
        .env("SCHEDULER_GRPC_ADDR", "127.0.0.1:0")
        .env("AUTH_GRPC_URL", app.auth.url())
        .env("MESSAGING_GRPC_URL", app.messaging.url())
        .env("SERVICE_TOKEN", testing::SERVICE_TOKEN)
        .env("AMQP_URL", testing::amqp_url())
        .env("AMQP_PREFIX", prefix)
        .env_remove("REDIS_URL")
        .env_remove("SCHEDULER_CRASH_AT")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(at) = crash_at {
        cmd.env("SCHEDULER_CRASH_AT", at);
    }
    cmd.spawn().expect("svc-scheduler binary starts")
}

async fn wait_exit(child: &mut Child, secs: u64) -> Option<std::process::ExitStatus> {
    for _ in 0..secs * 10 {
        if let Some(status) = child.try_wait().expect("wait") {
            return Some(status);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// The durable queue and exchange of `prefix` (the crash test cannot use
/// queues that vanish with their consumer: that is what it tests).
async fn delete_broker_objects(prefix: &str) {
    let Ok(conn) = lapin::Connection::connect(&testing::amqp_url(), lapin::ConnectionProperties::default()).await else { return };
    if let Ok(ch) = conn.create_channel().await {
        ch.queue_delete(format!("{prefix}.scheduler.send").as_str().into(), Default::default()).await.ok();
        ch.queue_delete(format!("{prefix}.notify.scheduler").as_str().into(), Default::default()).await.ok();
        ch.exchange_delete(format!("{prefix}.jobs").as_str().into(), Default::default()).await.ok();
    }
}

/// A durable queue for `reminder.fired` standing in for svc-notify (jobs
/// no queue is bound for stay in the outbox).
async fn bind_reminder_queue(prefix: &str) {
    let conn = lapin::Connection::connect(&testing::amqp_url(), lapin::ConnectionProperties::default()).await.expect("amqp");
    let ch = conn.create_channel().await.expect("channel");
    let exchange = format!("{prefix}.jobs");
    let opts = lapin::options::ExchangeDeclareOptions { durable: true, ..Default::default() };
    ch.exchange_declare(exchange.as_str().into(), lapin::ExchangeKind::Topic, opts, Default::default()).await.expect("exchange");
    let queue = format!("{prefix}.notify.scheduler");
    let opts = lapin::options::QueueDeclareOptions { durable: true, ..Default::default() };
    ch.queue_declare(queue.as_str().into(), opts, Default::default()).await.expect("queue");
    ch.queue_bind(queue.as_str().into(), exchange.as_str().into(), "reminder.fired".into(), Default::default(), Default::default())
        .await
        .expect("bind");
}

async fn crash_at(point: &str) {
    let app = app().await;
    let (ann_id, ann) = user(&app, "ann").await;
    let (ws, general) = team(&app, &ann, &[]).await;
    let db = ocomms_runtime::db::test_database(&testing::base_url(), "scheduler", svc_scheduler::MIGRATIONS).await.expect("db");
    let prefix = format!("ocomms-crash-{}", uuid::Uuid::now_v7().simple());
    let mut conn = crate::helpers::db(&db).await;
    diesel::sql_query(format!(
        "INSERT INTO scheduled_messages (id, workspace_id, author_id, channel_id, content, scheduled_for, timezone)
         SELECT gen_random_uuid(), '{ws}', '{ann_id}', '{general}', 'due ' || i, now(), 'UTC' FROM generate_series(1, {MESSAGES}) AS i"
    ))
    .execute(&mut conn)
    .await
    .expect("messages");
    diesel::sql_query(format!(
        "INSERT INTO reminders (id, user_id, text, remind_at, timezone, local_time)
         SELECT gen_random_uuid(), '{ann_id}', 'remember ' || i, now(), 'UTC', localtime FROM generate_series(1, {REMINDERS}) AS i"
    ))
    .execute(&mut conn)
    .await
    .expect("reminders");

    bind_reminder_queue(&prefix).await;
    let mut doomed = start(&app, &db, &prefix, Some(point));
    let status = wait_exit(&mut doomed, 30).await;
    if status.is_none() {
        doomed.kill().ok();
    }
    assert_eq!(status.and_then(|s| s.signal()), Some(9), "{point}: the process killed itself at the crash point");

    if point == "sent" {
        // The author leaves before the retry: what was sent stays sent, and
        // is neither sent again nor marked failed.
        app.chat
            .clone()
            .leave_channel(authed(&ann, ocomms_proto::messaging::v1::LeaveChannelRequest { channel_id: general.clone() }))
            .await
            .expect("leave");
    }
    let mut again = start(&app, &db, &prefix, None);
    // Every one ends sent or (after the author left) failed.
    let done = wait_count(&db, "SELECT count(*) AS n FROM scheduled_messages WHERE status IN ('sent', 'failed')", MESSAGES, 30).await;
    let mut c = crate::helpers::db(&db).await;
    let sent = count(&mut c, "SELECT count(*) AS n FROM scheduled_messages WHERE status = 'sent'").await;
    let failed = count(&mut c, "SELECT count(*) AS n FROM scheduled_messages WHERE status = 'failed'").await;
    drop(c);
    let relayed = wait_count(
        &db,
        "SELECT count(*) AS n FROM outbox WHERE routing_key = 'reminder.fired' AND published_at IS NOT NULL",
        REMINDERS,
        30,
    )
    .await;
    // Redeliveries, if any, have landed.
    tokio::time::sleep(Duration::from_millis(500)).await;
    again.kill().ok();
    again.wait().ok();

    let mut chat = crate::helpers::db(&app.messaging.database_url).await;
    let delivered = count(&mut chat, "SELECT count(*) AS n FROM messages WHERE content LIKE 'due %'").await;
    let distinct = count(&mut chat, "SELECT count(DISTINCT content) AS n FROM messages WHERE content LIKE 'due %'").await;
    let fired = count(&mut conn, "SELECT count(*) AS n FROM outbox WHERE routing_key = 'reminder.fired'").await;
    let fired_once =
        count(&mut conn, "SELECT count(DISTINCT payload->'reminder'->>'id') AS n FROM outbox WHERE routing_key = 'reminder.fired'").await;
    let states = count(&mut conn, "SELECT count(*) AS n FROM reminders WHERE status = 'fired'").await;
    drop(conn);
    delete_broker_objects(&prefix).await;
    ocomms_runtime::db::drop_database(&db).await.ok();
    assert_eq!(done, MESSAGES, "{point}: every due message settled");
    // What svc-messaging created before the crash counts as sent, once;
    // nothing else was sent.
    assert_eq!((sent, distinct), (delivered, delivered), "{point}: each sent exactly once, and marked so");
    if point == "sent" {
        assert!(delivered >= 1, "the send before the crash stays sent although the author left");
        assert_eq!(failed, MESSAGES - delivered, "the others failed: the author left");
    } else {
        assert_eq!(delivered, MESSAGES, "{point}: every due message sent");
    }
    assert_eq!(relayed, REMINDERS, "{point}: every reminder's job went out");
    assert_eq!((fired, fired_once, states), (REMINDERS, REMINDERS, REMINDERS), "{point}: each reminder fired once");
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_after_claiming_due_work() {
    crash_at("claimed").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_after_sending_before_marking_sent() {
    crash_at("sent").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_after_marking_sent_before_acknowledging() {
    crash_at("marked").await;
}
