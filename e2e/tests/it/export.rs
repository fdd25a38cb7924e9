//! The GDPR export (seed 3.1): a member's data gathered from every service,
//! checked field by field, and who may ask for it.

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn an_owner_or_the_member_exports_everything_of_theirs_and_nothing_else() {
    // Two messages per page, so the streamed body spans several pages.
    let t = TestStack::start(StackOptions { env: vec![("EXPORT_PAGE_MESSAGES".into(), "2".into())], ..Default::default() })
        .await
        .expect("stack");
    let api = t.api();
    let r = room(&api).await;
    let (ws, bob) = (r.ws.clone(), r.bob.clone());
    let future = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();

    // Bob's data, in every service.
    api.patch(&format!("/api/workspaces/{ws}/profile"), &bob.token, json!({ "title": "Engineer", "pronouns": "he/him" })).await.expect(200);
    api.call(
        reqwest::Method::PUT,
        &format!("/api/workspaces/{ws}/status"),
        Some(&bob.token),
        Some(json!({ "text": "On call", "emoji": "📟" })),
    )
    .await
    .expect("put")
    .expect(200);
    let pdf = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n".to_vec();
    let file = api.upload("/api/upload/attachment", &bob.token, &[], "plan.pdf", pdf.clone()).await.expect(200);
    let loose = api.upload("/api/upload/attachment", &bob.token, &[], "draft.pdf", pdf).await.expect(200);
    let mut written = Vec::new();
    for text in ["first words", "second thoughts", "to be deleted"] {
        let mut body = json!({ "content": text });
        if written.is_empty() {
            body["attachmentIds"] = json!([file["id"]]);
        }
        let m = api.post(&format!("/api/channels/{}/messages", r.channel), &bob.token, body).await.expect(201);
        written.push(m["id"].as_str().expect("id").to_owned());
    }
    api.delete(&format!("/api/messages/{}", written[2]), &bob.token).await.expect(200);
    let dm = api.post(&format!("/api/workspaces/{ws}/conversations"), &bob.token, json!({ "userIds": [r.ann.id] })).await.expect(200);
    let m = api
        .post(&format!("/api/conversations/{}/messages", dm["id"].as_str().expect("id")), &bob.token, json!({ "content": "a direct word" }))
        .await
        .expect(201);
    written.push(m["id"].as_str().expect("id").to_owned());
    api.post(&format!("/api/channels/{}/notifications", r.channel), &bob.token, json!({ "muted": true })).await.expect(200);
    api.call(reqwest::Method::PUT, "/api/notifications/email-settings", Some(&bob.token), Some(json!({ "digestMinutes": 30 })))
        .await
        .expect("put")
        .expect(200);
    api.post(&format!("/api/notes/personal?workspaceId={ws}"), &bob.token, json!({ "content": "my own notes", "version": 0 }))
        .await
        .expect(200);
    let reminder = api.post("/api/reminders", &bob.token, json!({ "messageId": written[0], "remindAt": future })).await.expect(201);
    let personal = api.post("/api/reminders", &bob.token, json!({ "text": "water the plants", "remindAt": future })).await.expect(201);
    let scheduled = api
        .post(
            "/api/scheduled-messages",
            &bob.token,
            json!({ "channelId": r.channel, "content": "see you tomorrow", "scheduledFor": future }),
        )
        .await
        .expect(201);
    // What is not Bob's in this workspace: Ann's message, Bob's own elsewhere.
    api.post(&format!("/api/channels/{}/messages", r.channel), &r.ann.token, json!({ "content": "ann's words" })).await.expect(201);
    let elsewhere = api.workspace(&bob).await.expect("bob's own workspace");
    let other = api.channel(&elsewhere, &bob, "private-life").await.expect("channel");
    api.post(&format!("/api/channels/{other}/messages"), &bob.token, json!({ "content": "elsewhere" })).await.expect(201);

    // The owner exports Bob.
    let resp = api
        .http
        .post(format!("{}/api/admin/export", api.base))
        .bearer_auth(&r.ann.token)
        .json(&json!({ "workspaceId": ws, "userId": bob.id }))
        .send()
        .await
        .expect("export");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert!(resp.headers()["content-disposition"].to_str().expect("ascii").starts_with("attachment"));
    let doc: serde_json::Value = resp.json().await.expect("one whole JSON document");
    assert_eq!(doc["workspaceId"], ws.as_str());
    assert_eq!(doc["user"]["user"]["id"], bob.id.as_str());
    assert_eq!(doc["user"]["user"]["email"], bob.email.as_str());
    assert_eq!(doc["user"]["member"]["role"], "member");
    assert_eq!(doc["user"]["profile"]["title"], "Engineer");
    assert_eq!(doc["user"]["profile"]["pronouns"], "he/him");
    assert_eq!(doc["user"]["profile"]["status"]["text"], "On call");
    let messages = doc["messages"].as_array().expect("messages");
    let ids: Vec<&str> = messages.iter().map(|m| m["id"].as_str().unwrap_or_default()).collect();
    assert_eq!(ids, written.iter().map(String::as_str).collect::<Vec<_>>(), "exactly Bob's four, oldest first, across pages");
    assert!(messages.iter().all(|m| m["authorId"] == bob.id.as_str()));
    assert_eq!(messages[0]["content"], "first words");
    assert_eq!(messages[0]["attachments"][0]["id"], file["id"]);
    assert_eq!(messages[0]["channelId"], r.channel.as_str());
    assert_eq!(messages[2]["isDeleted"], true);
    assert_eq!(messages[3]["conversationId"], dm["id"]);
    assert_eq!(messages[3]["content"], "a direct word");
    let files = doc["files"].as_array().expect("files");
    assert_eq!(files.len(), 1);
    assert_eq!((files[0]["id"].clone(), files[0]["filename"].clone()), (file["id"].clone(), json!("plan.pdf")));
    assert_eq!(files[0]["url"], file["url"]);
    assert_eq!(doc["settings"]["notifications"], json!([{ "channelId": r.channel, "level": "all", "muted": true }]));
    assert_eq!(doc["settings"]["email"]["digestMinutes"], 30);
    assert_eq!(doc["notes"]["personal"]["content"], "my own notes");
    assert_eq!(doc["reminders"].as_array().map(Vec::len), Some(1));
    assert_eq!(doc["reminders"][0]["id"], reminder["id"]);
    assert_eq!(doc["reminders"][0]["messageId"], written[0].as_str());
    assert_eq!(doc["scheduledMessages"].as_array().map(Vec::len), Some(1));
    assert_eq!(doc["scheduledMessages"][0]["id"], scheduled["id"]);
    assert_eq!(doc["scheduledMessages"][0]["content"], "see you tomorrow");
    let text = doc.to_string();
    assert!(!text.contains("ann's words") && !text.contains("elsewhere"), "nothing that is not Bob's, or not in this workspace");

    // Bob exports himself: the same, and also his upload not attached anywhere.
    let mine = api.post("/api/admin/export", &bob.token, json!({ "workspaceId": ws, "userId": bob.id })).await.expect(200);
    assert_eq!(mine["messages"], doc["messages"]);
    let mine_files: Vec<&serde_json::Value> = mine["files"].as_array().expect("files").iter().map(|f| &f["id"]).collect();
    assert_eq!(mine_files, vec![&file["id"], &loose["id"]]);
    // And his reminders of no workspace.
    let mine_reminders: Vec<&serde_json::Value> = mine["reminders"].as_array().expect("reminders").iter().map(|r| &r["id"]).collect();
    assert_eq!(mine_reminders, vec![&reminder["id"], &personal["id"]]);
    assert_eq!(mine["reminders"][1]["text"], "water the plants");
    // A member may not export another; outsiders see nothing; bad ids are 400.
    api.post("/api/admin/export", &bob.token, json!({ "workspaceId": ws, "userId": r.ann.id })).await.expect_error(403, "FORBIDDEN");
    let cat = api.sign_up("Cat").await.expect("cat");
    api.post("/api/admin/export", &cat.token, json!({ "workspaceId": ws, "userId": bob.id })).await.expect_error(404, "NOT_FOUND");
    api.post("/api/admin/export", &r.ann.token, json!({ "workspaceId": ws, "userId": cat.id })).await.expect_error(404, "NOT_FOUND");
    api.post("/api/admin/export", &r.ann.token, json!({ "workspaceId": "nope", "userId": bob.id }))
        .await
        .expect_error(400, "VALIDATION_ERROR");
    api.post("/api/admin/export", &r.ann.token, json!({ "workspaceId": ws })).await.expect_error(400, "VALIDATION_ERROR");
    t.stop().await.expect("stop");
}
