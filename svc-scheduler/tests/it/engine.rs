//! The engine: due messages are sent once as their author, or fail with a
//! reason; reminders fire once and recurring ones move on; replicas share
//! the work.

use ocomms_proto::messaging::v1 as m;
use ocomms_proto::scheduler::v1 as pb;
use ocomms_runtime::events::Bus;
use ocomms_runtime::testing;

use crate::helpers::*;

async fn wait_status(app: &App, token: &str, id: &str, want: &str) -> pb::ScheduledMessage {
    let mut c = app.client.clone();
    let found = testing::eventually(20, || {
        let mut c = c.clone();
        async move {
            let list = c.list_scheduled_messages(authed(token, pb::ListScheduledMessagesRequest {})).await.ok()?.into_inner();
            list.scheduled_messages.into_iter().find(|m| m.id == id && m.status == want)
        }
    })
    .await;
    let last = c.list_scheduled_messages(authed(token, pb::ListScheduledMessagesRequest {})).await.expect("list").into_inner();
    found.unwrap_or_else(|| panic!("{id} never became {want}: {last:?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_due_message_is_sent_once_as_its_author_or_fails_with_the_reason() {
    let app = app().await;
    let mut c = app.client.clone();
    let (ann_id, ann) = user(&app, "ann").await;
    let (_, bob) = user(&app, "bob").await;
    let (_, general) = team(&app, &ann, &[&bob]).await;
    let req = |content: &str| pb::CreateScheduledMessageRequest {
        channel_id: Some(general.clone()),
        content: content.into(),
        scheduled_for: in_secs(1),
        ..Default::default()
    };
    let ok = c.create_scheduled_message(authed(&ann, req("good morning"))).await.expect("schedule").into_inner();
    let doomed = c.create_scheduled_message(authed(&bob, req("from bob"))).await.expect("schedule").into_inner();
    // Bob leaves before his is due.
    app.chat.clone().leave_channel(authed(&bob, m::LeaveChannelRequest { channel_id: general.clone() })).await.expect("leave");

    let sent = wait_status(&app, &ann, &ok.id, "sent").await;
    let history = app
        .chat
        .clone()
        .list_messages(authed(&ann, m::ListMessagesRequest { channel_id: Some(general.clone()), ..Default::default() }))
        .await
        .expect("history")
        .into_inner();
    let ours: Vec<&m::Message> = history.messages.iter().filter(|m| m.content == "good morning").collect();
    assert_eq!(ours.len(), 1, "sent exactly once");
    assert_eq!(ours[0].author_id, ann_id, "as its author");
    assert_eq!(sent.message_id.as_deref(), Some(ours[0].id.as_str()));
    assert_eq!(ours[0].client_msg_id.as_deref(), Some(format!("scheduled:{}", ok.id).as_str()));

    let failed = wait_status(&app, &bob, &doomed.id, "failed").await;
    assert!(failed.error.as_deref().is_some_and(|e| e.contains("no longer post")), "{failed:?}");
    assert!(!history.messages.iter().any(|m| m.content == "from bob"));
    // Bob is told: a `scheduled.failed` job for svc-notify.
    let mut conn = db(&app.scheduler.database_url).await;
    let jobs = count(
        &mut conn,
        &format!(
            "SELECT count(*) AS n FROM outbox WHERE routing_key = 'scheduled.failed' AND payload->'scheduledMessage'->>'id' = '{}'",
            doomed.id
        ),
    )
    .await;
    assert_eq!(jobs, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn reminders_fire_once_and_recurring_ones_move_to_the_same_local_time() {
    let app = app().await;
    let mut c = app.client.clone();
    let (_, ann) = user(&app, "ann").await;
    let once = c
        .create_reminder(authed(
            &ann,
            pb::CreateReminderRequest { text: Some("call the bank".into()), remind_at: in_secs(1), ..Default::default() },
        ))
        .await
        .expect("once")
        .into_inner();
    let daily = c
        .create_reminder(authed(
            &ann,
            pb::CreateReminderRequest {
                text: Some("stand-up".into()),
                remind_at: in_secs(1),
                recurrence: Some("daily".into()),
                timezone: Some("Europe/Paris".into()),
                ..Default::default()
            },
        ))
        .await
        .expect("daily")
        .into_inner();
    let url = app.scheduler.database_url.clone();
    let fired = wait_count(&url, "SELECT count(*) AS n FROM outbox WHERE routing_key = 'reminder.fired'", 2, 20).await;
    assert_eq!(fired, 2, "each fired once");
    let list = c.list_reminders(authed(&ann, pb::ListRemindersRequest {})).await.expect("list").into_inner();
    let get = |id: &str| list.reminders.iter().find(|r| r.id == id).cloned().expect("listed");
    let once_now = get(&once.id);
    assert_eq!(once_now.status, "fired");
    assert!(once_now.fired_at.is_some());
    let daily_now = get(&daily.id);
    assert_eq!(daily_now.status, "pending", "a recurring reminder stays listed, pending");
    let first = chrono::DateTime::parse_from_rfc3339(&daily.remind_at).expect("time");
    let next = chrono::DateTime::parse_from_rfc3339(&daily_now.remind_at).expect("time");
    let paris = |t: chrono::DateTime<chrono::FixedOffset>| t.with_timezone(&"Europe/Paris".parse::<chrono_tz::Tz>().expect("tz"));
    assert_eq!(paris(next).date_naive(), paris(first).date_naive() + chrono::Duration::days(1));
    assert_eq!(paris(next).time().format("%H:%M:%S").to_string(), paris(first).time().format("%H:%M:%S").to_string());
    // Nothing fires twice meanwhile.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let mut conn = db(&url).await;
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM outbox WHERE routing_key = 'reminder.fired'").await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_replicas_share_due_messages_without_sending_any_twice() {
    let app = app().await;
    let (ann_id, ann) = user(&app, "ann").await;
    let (ws, general) = team(&app, &ann, &[]).await;
    // A second replica on the same database and exchange.
    let common = testing::test_config("scheduler", svc_scheduler::MIGRATIONS, &app.auth.url()).await.expect("config");
    let mut twin = common.clone();
    twin.database_url = app.scheduler.database_url.clone();
    let first = {
        let mut c = common.clone();
        c.database_url = app.scheduler.database_url.clone();
        c.amqp_prefix = format!("{}-shared", common.amqp_prefix);
        c
    };
    twin.amqp_prefix = first.amqp_prefix.clone();
    let mut replicas = Vec::new();
    for cfg in [first, twin] {
        let url = app.messaging.url();
        let r = testing::spawn(cfg.database_url.clone(), move |l, s| {
            svc_scheduler::serve(
                svc_scheduler::Config { common: cfg, messaging_url: url, files_url: "http://127.0.0.1:9".into(), crash_at: None },
                Bus::local(),
                l,
                s,
            )
        })
        .await
        .expect("replica")
        .without_consumers_of(&[
            ocomms_proto::scheduler::v1::jobs::REMINDER_FIRED,
            ocomms_proto::scheduler::v1::jobs::SCHEDULED_FAILED,
            ocomms_proto::messaging::v1::jobs::MESSAGE_DELETED,
        ]);
        replicas.push(r);
    }
    ocomms_runtime::db::drop_database(&common.database_url).await.ok();
    // 100 messages due now, written straight into the shared table.
    let mut conn = db(&app.scheduler.database_url).await;
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "INSERT INTO scheduled_messages (id, workspace_id, author_id, channel_id, content, scheduled_for, timezone)
             SELECT gen_random_uuid(), '{ws}', '{ann_id}', '{general}', 'bulk ' || i, now(), 'UTC' FROM generate_series(1, 100) AS i"
        )),
        &mut conn,
    )
    .await
    .expect("rows");
    diesel_async::RunQueryDsl::execute(diesel::sql_query("NOTIFY ocomms_scheduler_wake"), &mut conn).await.expect("notify");
    let sent = wait_count(&app.scheduler.database_url, "SELECT count(*) AS n FROM scheduled_messages WHERE status = 'sent'", 100, 60).await;
    assert_eq!(sent, 100);
    let mut chat = db(&app.messaging.database_url).await;
    assert_eq!(count(&mut chat, "SELECT count(*) AS n FROM messages WHERE content LIKE 'bulk %'").await, 100, "each sent exactly once");
    drop(replicas);
}
