//! Scheduled messages and reminders through the gateway, with sockets: who
//! sees what, and when.

use std::time::Duration;

use chrono::Utc;
use reqwest::Method;

use crate::support::*;

fn in_secs(secs: i64) -> String {
    ocomms_runtime::time::rfc3339(Utc::now() + chrono::Duration::seconds(secs))
}

const DUE: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread")]
async fn a_scheduled_message_arrives_live_once_and_a_failed_one_tells_its_author() {
    let t = stack().await;
    let api = t.api();
    let r = room(&api).await;
    let mut bob = Socket::connect(&t.base, &r.bob.token).await.expect("bob's socket");
    let mut ann = Socket::connect(&t.base, &r.ann.token).await.expect("ann's socket");

    let body = json!({ "channelId": r.channel, "content": "standup in 5", "scheduledFor": in_secs(2), "timezone": "Europe/Paris" });
    let s = api.post("/api/scheduled-messages", &r.ann.token, body).await.expect(201);
    assert_eq!(s["status"], "pending");
    assert_eq!(s["timezone"], "Europe/Paris");
    let id = s["id"].as_str().expect("id").to_owned();
    // Nobody else sees it, or can touch it.
    let bobs = api.get("/api/scheduled-messages", &r.bob.token).await.expect(200);
    assert_eq!(bobs["scheduledMessages"], json!([]));
    api.call(Method::DELETE, &format!("/api/scheduled-messages/{id}"), Some(&r.bob.token), None)
        .await
        .expect("call")
        .expect_error(404, "NOT_FOUND");
    api.patch(&format!("/api/scheduled-messages/{id}"), &r.bob.token, json!({ "content": "mine now" }))
        .await
        .expect_error(404, "NOT_FOUND");

    let new = bob.event("message:new", DUE).await.expect("bob receives it live at its time");
    assert_eq!(new["message"]["content"], "standup in 5");
    assert_eq!(new["message"]["authorId"], r.ann.id);
    // Marked sent once svc-messaging answered (just after the event left).
    let mut row = serde_json::Value::Null;
    for _ in 0..50 {
        row = api.get("/api/scheduled-messages", &r.ann.token).await.expect(200)["scheduledMessages"][0].clone();
        if row["status"] == "sent" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!((row["status"].as_str(), row["messageId"].as_str()), (Some("sent"), new["message"]["id"].as_str()));
    let page = api.get(&format!("/api/channels/{}/messages", r.channel), &r.bob.token).await.expect(200);
    let copies = page["messages"].as_array().expect("messages").iter().filter(|m| m["content"] == "standup in 5").count();
    assert_eq!(copies, 1, "sent exactly once");
    bob.expect_no_event("message:new", QUIET).await.expect("no second copy");

    // Nobody else may use the scheduler's client ids.
    let fake = json!({ "content": "impostor", "clientMsgId": format!("scheduled:{id}") });
    api.post(&format!("/api/channels/{}/messages", r.channel), &r.bob.token, fake).await.expect_error(400, "VALIDATION_ERROR");

    // A sent one can no longer change.
    api.patch(&format!("/api/scheduled-messages/{id}"), &r.ann.token, json!({ "content": "too late" })).await.expect_error(409, "CONFLICT");

    // Ann schedules another, then leaves the channel: it fails, and she is told.
    let body = json!({ "channelId": r.channel, "content": "never", "scheduledFor": in_secs(2) });
    let doomed = api.post("/api/scheduled-messages", &r.ann.token, body).await.expect(201);
    api.post(&format!("/api/channels/{}/leave", r.channel), &r.ann.token, json!({})).await.expect(200);
    let n = ann.event("notification:new", DUE).await.expect("ann is told");
    assert_eq!(n["notification"]["type"], "scheduled_failed");
    assert!(n["notification"]["body"].as_str().is_some_and(|b| b.contains("no longer post")), "{n}");
    let mine = api.get("/api/scheduled-messages", &r.ann.token).await.expect(200);
    let failed = mine["scheduledMessages"].as_array().expect("list").iter().find(|m| m["id"] == doomed["id"]).cloned().expect("listed");
    assert_eq!(failed["status"], "failed");
    assert!(failed["error"].as_str().is_some_and(|e| !e.is_empty()));
    bob.expect_no_event("message:new", QUIET).await.expect("bob never receives it");
    t.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread")]
async fn scheduling_refuses_bad_input_and_invisible_places_and_stores_nothing() {
    let t = stack().await;
    let api = t.api();
    let r = room(&api).await;
    let secret = api
        .post(&format!("/api/workspaces/{}/channels", r.ws), &r.ann.token, json!({ "name": "secret", "isPrivate": true }))
        .await
        .expect(201);
    let secret = secret["id"].as_str().expect("id");
    for (body, status, code) in [
        (json!({ "channelId": r.channel, "content": "x", "scheduledFor": in_secs(-3600) }), 400, "VALIDATION_ERROR"),
        (json!({ "channelId": r.channel, "content": "x", "scheduledFor": in_secs(2 * 366 * 86_400) }), 400, "VALIDATION_ERROR"),
        (
            json!({ "channelId": r.channel, "content": "x", "scheduledFor": in_secs(60), "timezone": "Europe/Atlantis" }),
            400,
            "VALIDATION_ERROR",
        ),
        (json!({ "channelId": r.channel, "content": "", "scheduledFor": in_secs(60) }), 400, "VALIDATION_ERROR"),
        (json!({ "content": "x", "scheduledFor": in_secs(60) }), 400, "VALIDATION_ERROR"),
        (json!({ "channelId": "not-a-uuid", "content": "x", "scheduledFor": in_secs(60) }), 400, "VALIDATION_ERROR"),
        (json!({ "channelId": secret, "content": "x", "scheduledFor": in_secs(60) }), 404, "NOT_FOUND"),
    ] {
        api.post("/api/scheduled-messages", &r.bob.token, body).await.expect_error(status, code);
    }
    assert_eq!(api.get("/api/scheduled-messages", &r.bob.token).await.expect(200)["scheduledMessages"], json!([]));
    for body in [
        json!({ "text": "x", "remindAt": in_secs(60), "recurrence": "monthly" }),
        json!({ "text": "x", "remindAt": "soon" }),
        json!({ "remindAt": in_secs(60) }),
    ] {
        api.post("/api/reminders", &r.bob.token, body).await.expect_error(400, "VALIDATION_ERROR");
    }
    let hidden = api.post(&format!("/api/channels/{secret}/messages"), &r.ann.token, json!({ "content": "hush" })).await.expect(201);
    api.post("/api/reminders", &r.bob.token, json!({ "messageId": hidden["id"], "remindAt": in_secs(60) }))
        .await
        .expect_error(404, "NOT_FOUND");
    assert_eq!(api.get("/api/reminders", &r.bob.token).await.expect(200)["reminders"], json!([]));
    t.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reminder_fires_on_its_owners_sockets_and_can_be_snoozed_and_completed() {
    let t = stack().await;
    let api = t.api();
    let r = room(&api).await;
    let mut ann = Socket::connect(&t.base, &r.ann.token).await.expect("ann's socket");
    let mut bob = Socket::connect(&t.base, &r.bob.token).await.expect("bob's socket");
    let msg =
        api.post(&format!("/api/channels/{}/messages", r.channel), &r.bob.token, json!({ "content": "review my PR" })).await.expect(201);
    let rem = api
        .post("/api/reminders", &r.ann.token, json!({ "messageId": msg["id"], "text": "review Bob's PR", "remindAt": in_secs(1) }))
        .await
        .expect(201);
    assert_eq!(rem["status"], "pending");
    // Deleted meanwhile: it still fires (seed 5.8).
    api.call(Method::DELETE, &format!("/api/messages/{}", msg["id"].as_str().expect("id")), Some(&r.bob.token), None)
        .await
        .expect("call")
        .expect(200);

    let fired = ann.event("reminder:fired", DUE).await.expect("reminder:fired");
    assert_eq!(fired["reminder"]["id"], rem["id"]);
    assert_eq!(fired["reminder"]["status"], "fired");
    let n = ann.event("notification:new", WAIT).await.expect("a notification");
    assert_eq!(n["notification"]["type"], "reminder");
    assert_eq!(n["notification"]["title"], "Reminder: review Bob's PR");
    bob.expect_no_event("reminder:fired", QUIET).await.expect("only its owner hears it");
    let listed = api.get("/api/notifications", &r.ann.token).await.expect(200);
    assert!(listed["notifications"].as_array().expect("list").iter().any(|n| n["type"] == "reminder"));

    // Snoozed, it fires once more; completed, it leaves the list.
    let id = rem["id"].as_str().expect("id");
    let snoozed = api.post(&format!("/api/reminders/{id}/snooze"), &r.ann.token, json!({ "until": in_secs(1) })).await.expect(200);
    assert_eq!(snoozed["status"], "snoozed");
    ann.event("reminder:fired", DUE).await.expect("fires again after the snooze");
    ann.expect_no_event("reminder:fired", Duration::from_millis(1500)).await.expect("once");
    let done = api.post(&format!("/api/reminders/{id}/complete"), &r.ann.token, json!({})).await.expect(200);
    assert_eq!(done["status"], "completed");
    assert_eq!(api.get("/api/reminders", &r.ann.token).await.expect(200)["reminders"], json!([]));
    api.post(&format!("/api/reminders/{id}/snooze"), &r.ann.token, json!({ "until": in_secs(60) })).await.expect_error(409, "CONFLICT");
    api.call(Method::DELETE, &format!("/api/reminders/{id}"), Some(&r.bob.token), None).await.expect("call").expect_error(404, "NOT_FOUND");
    t.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_custom_status_is_cleared_at_its_expiry_and_members_are_told() {
    let t = stack().await;
    let api = t.api();
    let r = room(&api).await;
    let mut bob = Socket::connect(&t.base, &r.bob.token).await.expect("bob's socket");
    let body = json!({ "emoji": "🍔", "text": "lunch", "expiresAt": in_secs(2) });
    api.call(Method::PUT, &format!("/api/workspaces/{}/status", r.ws), Some(&r.ann.token), Some(body)).await.expect("call").expect(200);
    let set = bob.event("status:update", WAIT).await.expect("set");
    assert_eq!(set["status"]["text"], "lunch");
    let cleared = bob.event("status:update", DUE).await.expect("cleared at expiry");
    assert_eq!(cleared["userId"], r.ann.id);
    assert_eq!(cleared["status"]["text"], serde_json::Value::Null);
    let profile = api.get(&format!("/api/workspaces/{}/members/{}/profile", r.ws, r.ann.id), &r.bob.token).await.expect(200);
    assert!(profile["status"]["text"].is_null(), "{profile}");
    t.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scheduled_message_carries_its_attachments_and_a_cancelled_one_lets_them_go() {
    let t = stack().await;
    let api = t.api();
    let r = room(&api).await;
    let mut bob = Socket::connect(&t.base, &r.bob.token).await.expect("bob's socket");
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.resize(4000, b'x');
    let file = api.upload("/api/upload/attachment", &r.ann.token, &[], "agenda.pdf", pdf.clone()).await.expect(200);
    let body = json!({ "channelId": r.channel, "content": "", "scheduledFor": in_secs(2), "attachmentIds": [file["id"]] });
    let s = api.post("/api/scheduled-messages", &r.ann.token, body).await.expect(201);
    assert_eq!(s["attachmentIds"][0], file["id"]);
    // Claimed: it cannot go into another message meanwhile.
    let again = json!({ "content": "now", "attachmentIds": [file["id"]] });
    api.post(&format!("/api/channels/{}/messages", r.channel), &r.ann.token, again).await.expect_error(404, "NOT_FOUND");
    let new = bob.event("message:new", DUE).await.expect("delivered at its time");
    assert_eq!(new["message"]["id"], s["id"], "sent under the scheduled message's id");
    assert_eq!(new["message"]["attachments"][0]["filename"], "agenda.pdf");
    let (status, _, bytes) = api.fetch(file["url"].as_str().expect("url"), Some(&r.bob.token), &[]).await;
    assert_eq!((status.as_u16(), bytes.len()), (200, pdf.len()), "members read it once it is sent");

    // Cancelled before its time, its upload is withdrawn.
    let other = api.upload("/api/upload/attachment", &r.ann.token, &[], "draft.pdf", pdf).await.expect(200);
    let body = json!({ "channelId": r.channel, "content": "later", "scheduledFor": in_secs(3600), "attachmentIds": [other["id"]] });
    let later = api.post("/api/scheduled-messages", &r.ann.token, body).await.expect(201);
    api.call(Method::DELETE, &format!("/api/scheduled-messages/{}", later["id"].as_str().expect("id")), Some(&r.ann.token), None)
        .await
        .expect("call")
        .expect(200);
    let mut gone = false;
    for _ in 0..50 {
        if api.fetch(other["url"].as_str().expect("url"), Some(&r.ann.token), &[]).await.0 == 404 {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "a cancelled scheduled message's upload is withdrawn");
    t.stop().await.expect("stop");
}
