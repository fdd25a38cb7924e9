//! The API: what is accepted, what is refused (and then nothing is stored),
//! whose rows are whose.

use ocomms_proto::messaging::v1 as m;
use ocomms_proto::scheduler::v1 as pb;

use crate::helpers::*;

fn schedule(channel: &str, content: &str, at: &str) -> pb::CreateScheduledMessageRequest {
    pb::CreateScheduledMessageRequest {
        channel_id: Some(channel.into()),
        content: content.into(),
        scheduled_for: at.into(),
        timezone: Some("Europe/Paris".into()),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn scheduled_messages_are_validated_owned_and_changed_only_while_pending() {
    let app = app().await;
    let mut c = app.client.clone();
    let (_, ann) = user(&app, "ann").await;
    let (_, bob) = user(&app, "bob").await;
    let (ws, general) = team(&app, &ann, &[&bob]).await;

    let later = c.create_scheduled_message(authed(&ann, schedule(&general, "later", &in_secs(7200)))).await.expect("later").into_inner();
    let sooner = c.create_scheduled_message(authed(&ann, schedule(&general, "sooner", &in_secs(3600)))).await.expect("sooner").into_inner();
    assert_eq!(later.status, "pending");
    assert_eq!(later.workspace_id, ws);
    assert_eq!(later.timezone, "Europe/Paris");
    let list = c.list_scheduled_messages(authed(&ann, pb::ListScheduledMessagesRequest {})).await.expect("list").into_inner();
    let contents: Vec<&str> = list.scheduled_messages.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(contents, vec!["sooner", "later"], "soonest first");

    // Refused, each with a validation error, and nothing stored.
    let private = app
        .chat
        .clone()
        .create_channel(authed(
            &bob,
            m::CreateChannelRequest { workspace_id: ws.clone(), name: "secret".into(), is_private: true, ..Default::default() },
        ))
        .await
        .expect("private")
        .into_inner()
        .id;
    let bad: Vec<(pb::CreateScheduledMessageRequest, &str)> = vec![
        (schedule(&general, "past", &in_secs(-3600)), "VALIDATION_ERROR"),
        (schedule(&general, "too far", &in_secs(400 * 86_400)), "VALIDATION_ERROR"),
        (schedule(&general, "not a time", "next tuesday"), "VALIDATION_ERROR"),
        (schedule(&general, "   ", &in_secs(60)), "VALIDATION_ERROR"),
        (
            pb::CreateScheduledMessageRequest { timezone: Some("Mars/Olympus".into()), ..schedule(&general, "zone", &in_secs(60)) },
            "VALIDATION_ERROR",
        ),
        (
            pb::CreateScheduledMessageRequest { conversation_id: Some(general.clone()), ..schedule(&general, "both", &in_secs(60)) },
            "VALIDATION_ERROR",
        ),
        (schedule(&private, "invisible", &in_secs(60)), "NOT_FOUND"),
        (schedule(&uuid::Uuid::now_v7().to_string(), "nowhere", &in_secs(60)), "NOT_FOUND"),
    ];
    for (req, want) in bad {
        let what = req.content.clone();
        let e = c.create_scheduled_message(authed(&ann, req)).await.expect_err(&what);
        assert_eq!(code(&e), want, "{what}: {e:?}");
    }
    let list = c.list_scheduled_messages(authed(&ann, pb::ListScheduledMessagesRequest {})).await.expect("list").into_inner();
    assert_eq!(list.scheduled_messages.len(), 2, "nothing stored by refused requests");

    // Someone else's does not exist for Bob.
    let bobs = c.list_scheduled_messages(authed(&bob, pb::ListScheduledMessagesRequest {})).await.expect("list").into_inner();
    assert!(bobs.scheduled_messages.is_empty());
    let e = c
        .cancel_scheduled_message(authed(&bob, pb::CancelScheduledMessageRequest { scheduled_message_id: sooner.id.clone() }))
        .await
        .expect_err("not bob's");
    assert_eq!(code(&e), "NOT_FOUND");
    let e = c
        .update_scheduled_message(authed(
            &bob,
            pb::UpdateScheduledMessageRequest {
                scheduled_message_id: sooner.id.clone(),
                content: Some("mine".into()),
                ..Default::default()
            },
        ))
        .await
        .expect_err("not bob's");
    assert_eq!(code(&e), "NOT_FOUND");

    // Ann changes one and cancels the other; a cancelled one can no longer change.
    let moved = c
        .update_scheduled_message(authed(
            &ann,
            pb::UpdateScheduledMessageRequest {
                scheduled_message_id: sooner.id.clone(),
                content: Some("edited".into()),
                scheduled_for: Some(in_secs(10_800)),
                timezone: Some("Asia/Tokyo".into()),
            },
        ))
        .await
        .expect("update")
        .into_inner();
    assert_eq!((moved.content.as_str(), moved.timezone.as_str(), moved.status.as_str()), ("edited", "Asia/Tokyo", "pending"));
    let e = c
        .update_scheduled_message(authed(
            &ann,
            pb::UpdateScheduledMessageRequest {
                scheduled_message_id: sooner.id.clone(),
                scheduled_for: Some(in_secs(-600)),
                ..Default::default()
            },
        ))
        .await
        .expect_err("past");
    assert_eq!(code(&e), "VALIDATION_ERROR");
    let cancelled = c
        .cancel_scheduled_message(authed(&ann, pb::CancelScheduledMessageRequest { scheduled_message_id: later.id.clone() }))
        .await
        .expect("cancel")
        .into_inner();
    assert_eq!(cancelled.status, "cancelled");
    let e = c
        .update_scheduled_message(authed(
            &ann,
            pb::UpdateScheduledMessageRequest {
                scheduled_message_id: later.id.clone(),
                content: Some("again".into()),
                ..Default::default()
            },
        ))
        .await
        .expect_err("cancelled");
    assert_eq!(code(&e), "CONFLICT");
    let list = c.list_scheduled_messages(authed(&ann, pb::ListScheduledMessagesRequest {})).await.expect("list").into_inner();
    let contents: Vec<&str> = list.scheduled_messages.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(contents, vec!["edited"], "the cancelled one leaves the list");
}

#[tokio::test(flavor = "multi_thread")]
async fn reminders_are_validated_owned_and_only_on_visible_messages() {
    let app = app().await;
    let mut c = app.client.clone();
    let (_, ann) = user(&app, "ann").await;
    let (_, bob) = user(&app, "bob").await;
    let (ws, general) = team(&app, &ann, &[&bob]).await;
    let secret = app
        .chat
        .clone()
        .create_channel(authed(
            &ann,
            m::CreateChannelRequest { workspace_id: ws.clone(), name: "secret".into(), is_private: true, ..Default::default() },
        ))
        .await
        .expect("private")
        .into_inner()
        .id;
    let send =
        |channel: &str, text: &str| m::SendMessageRequest { channel_id: Some(channel.into()), content: text.into(), ..Default::default() };
    let public_msg = app.chat.clone().send_message(authed(&ann, send(&general, "hello"))).await.expect("send").into_inner().id;
    let secret_msg = app.chat.clone().send_message(authed(&ann, send(&secret, "hush"))).await.expect("send").into_inner().id;

    let on_msg = c
        .create_reminder(authed(
            &bob,
            pb::CreateReminderRequest { message_id: Some(public_msg.clone()), remind_at: in_secs(3600), ..Default::default() },
        ))
        .await
        .expect("reminder on a visible message")
        .into_inner();
    assert_eq!(on_msg.workspace_id.as_deref(), Some(ws.as_str()));
    assert_eq!((on_msg.status.as_str(), on_msg.timezone.as_str()), ("pending", "UTC"));
    let e = c
        .create_reminder(authed(
            &bob,
            pb::CreateReminderRequest { message_id: Some(secret_msg), remind_at: in_secs(3600), ..Default::default() },
        ))
        .await
        .expect_err("invisible message");
    assert_eq!(code(&e), "NOT_FOUND");
    for (req, what) in [
        (
            pb::CreateReminderRequest {
                text: Some("x".into()),
                remind_at: in_secs(60),
                recurrence: Some("hourly".into()),
                ..Default::default()
            },
            "recurrence",
        ),
        (pb::CreateReminderRequest { text: Some("x".into()), remind_at: in_secs(-3600), ..Default::default() }, "past"),
        (pb::CreateReminderRequest { remind_at: in_secs(60), ..Default::default() }, "neither message nor text"),
        (
            pb::CreateReminderRequest {
                text: Some("x".into()),
                remind_at: in_secs(60),
                timezone: Some("Nowhere/Land".into()),
                ..Default::default()
            },
            "zone",
        ),
        (pb::CreateReminderRequest { text: Some("x".repeat(1001)), remind_at: in_secs(60), ..Default::default() }, "long text"),
    ] {
        let e = c.create_reminder(authed(&bob, req)).await.expect_err(what);
        assert_eq!(code(&e), "VALIDATION_ERROR", "{what}");
    }
    let weekly = c
        .create_reminder(authed(
            &bob,
            pb::CreateReminderRequest {
                text: Some("1:1 with Ann".into()),
                remind_at: in_secs(7200),
                recurrence: Some("weekly".into()),
                timezone: Some("America/New_York".into()),
                ..Default::default()
            },
        ))
        .await
        .expect("weekly")
        .into_inner();
    assert_eq!(weekly.recurrence.as_deref(), Some("weekly"));
    let list = c.list_reminders(authed(&bob, pb::ListRemindersRequest {})).await.expect("list").into_inner();
    assert_eq!(list.reminders.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), vec![on_msg.id.as_str(), weekly.id.as_str()]);
    assert!(c.list_reminders(authed(&ann, pb::ListRemindersRequest {})).await.expect("list").into_inner().reminders.is_empty());

    // Ann cannot touch Bob's; Bob snoozes one and completes the other.
    let e = c.cancel_reminder(authed(&ann, pb::CancelReminderRequest { reminder_id: weekly.id.clone() })).await.expect_err("not ann's");
    assert_eq!(code(&e), "NOT_FOUND");
    let until = in_secs(9000);
    let snoozed = c
        .snooze_reminder(authed(&bob, pb::SnoozeReminderRequest { reminder_id: on_msg.id.clone(), until: until.clone() }))
        .await
        .expect("snooze")
        .into_inner();
    assert_eq!((snoozed.status.as_str(), snoozed.snoozed_until.as_deref()), ("snoozed", Some(snoozed.remind_at.as_str())));
    let e = c
        .snooze_reminder(authed(&bob, pb::SnoozeReminderRequest { reminder_id: on_msg.id.clone(), until: in_secs(-100) }))
        .await
        .expect_err("past");
    assert_eq!(code(&e), "VALIDATION_ERROR");
    let done = c
        .complete_reminder(authed(&bob, pb::CompleteReminderRequest { reminder_id: weekly.id.clone() }))
        .await
        .expect("complete")
        .into_inner();
    assert_eq!(done.status, "completed");
    let e =
        c.snooze_reminder(authed(&bob, pb::SnoozeReminderRequest { reminder_id: weekly.id.clone(), until })).await.expect_err("completed");
    assert_eq!(code(&e), "CONFLICT");
    let cancelled =
        c.cancel_reminder(authed(&bob, pb::CancelReminderRequest { reminder_id: on_msg.id.clone() })).await.expect("cancel").into_inner();
    assert_eq!(cancelled.status, "cancelled");
    assert!(c.list_reminders(authed(&bob, pb::ListRemindersRequest {})).await.expect("list").into_inner().reminders.is_empty());
}
