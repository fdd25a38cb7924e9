//! The seed's error shape, with the right code and status, for every kind
//! of bad request; and tenant isolation: another workspace's resources are
//! 404 on every route.

use reqwest::Method;

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_get_clear_errors_and_change_nothing() {
    let t = stack().await;
    let r = room(&t.api()).await;
    let api = &r.api;
    let tok = Some(r.ann.token.as_str());
    let ws_path = "/api/workspaces";

    api.call(Method::GET, "/api/no/such/route", tok, None).await.expect("call").expect_error(404, "NOT_FOUND");
    let r405 = api.call(Method::DELETE, "/api/health", None, None).await.expect("call");
    assert_eq!(r405.status.as_u16(), 405);
    assert_eq!(r405.body["error"]["code"], "METHOD_NOT_ALLOWED");
    api.call(Method::GET, ws_path, None, None).await.expect("call").expect_error(401, "UNAUTHORIZED");
    api.call(Method::GET, ws_path, Some("forged-token"), None).await.expect("call").expect_error(401, "UNAUTHORIZED");

    // Not JSON, wrong types, missing fields, out-of-range values.
    let raw = api
        .http
        .post(format!("{}{ws_path}", api.base))
        .bearer_auth(&r.ann.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert_eq!(raw.status().as_u16(), 400);
    let no_type = api.http.post(format!("{}{ws_path}", api.base)).bearer_auth(&r.ann.token).body("{}").send().await.expect("send");
    assert_eq!(no_type.status().as_u16(), 400);
    api.post(ws_path, &r.ann.token, json!({ "name": 42, "slug": "x" })).await.expect_error(400, "VALIDATION_ERROR");
    api.post(ws_path, &r.ann.token, json!({ "name": "No slug" })).await.expect_error(400, "VALIDATION_ERROR");
    let e = api
        .post(ws_path, &r.ann.token, json!({ "name": "A", "slug": "ok-slug", "joinPolicy": "everyone" }))
        .await
        .expect_error(400, "VALIDATION_ERROR");
    assert_eq!(e["error"]["details"]["field"], "joinPolicy");
    // A body names only fields the route takes: an unknown one, or one a
    // client may not set, is refused before anything is done.
    api.post(ws_path, &r.ann.token, json!({ "name": "A", "slug": "ok-slug", "ownerId": r.bob.id }))
        .await
        .expect_error(400, "VALIDATION_ERROR");
    let list = api.get(ws_path, &r.ann.token).await.expect(200);
    assert_eq!(list["workspaces"].as_array().map(Vec::len), Some(1), "nothing was created");

    let msgs = format!("/api/channels/{}/messages", r.channel);
    api.post(&msgs, &r.ann.token, json!({ "content": "" })).await.expect_error(400, "VALIDATION_ERROR");
    api.post(&msgs, &r.ann.token, json!({ "content": "x".repeat(40_001) })).await.expect_error(400, "VALIDATION_ERROR");
    api.post(&msgs, &r.ann.token, json!({ "content": "ok", "parentId": "nope" })).await.expect_error(400, "VALIDATION_ERROR");
    api.get(&format!("{msgs}?after=-1"), &r.ann.token).await.expect_error(400, "VALIDATION_ERROR");
    api.get(&format!("{msgs}?bogus=1"), &r.ann.token).await.expect_error(400, "VALIDATION_ERROR");
    let id = uuid::Uuid::now_v7().to_string();
    api.post(&msgs, &r.ann.token, json!({ "content": "ok", "messageId": id })).await.expect_error(400, "VALIDATION_ERROR");
    // The path's channel may be repeated in the body, not contradicted.
    api.post(&msgs, &r.ann.token, json!({ "content": "ok", "channelId": id })).await.expect_error(400, "VALIDATION_ERROR");
    api.post(&msgs, &r.ann.token, json!({ "content": "ok", "conversationId": id })).await.expect_error(400, "VALIDATION_ERROR");
    let page = api.get(&msgs, &r.ann.token).await.expect(200);
    assert_eq!(page["messages"].as_array().map(Vec::len), Some(0), "no bad message was stored");
    // A whole number written with a fraction is the integer it is (JSON
    // makes no difference); a real fraction is refused.
    api.post(&format!("/api/channels/{}/read", r.channel), &r.ann.token, json!({ "sequence": 0.0 })).await.expect(200);
    api.post(&format!("/api/channels/{}/read", r.channel), &r.ann.token, json!({ "sequence": 0.5 }))
        .await
        .expect_error(400, "VALIDATION_ERROR");
    // Nested objects name only their message's fields too.
    let sub = json!({ "subscription": { "endpoint": "https://push.example.com/x", "keys": { "p256dh": "a", "auth": "b", "bogus": 1 } } });
    api.post("/api/push/subscribe", &r.ann.token, sub).await.expect_error(400, "VALIDATION_ERROR");
    // A path that does not decode names nothing, in the API's error shape.
    api.get("/api/channels/%FF", &r.ann.token).await.expect_error(404, "NOT_FOUND");
    // Ids in bodies and query strings are UUIDs.
    api.post("/api/bookmarks", &r.ann.token, json!({ "messageId": "nope" })).await.expect_error(400, "VALIDATION_ERROR");
    api.get("/api/bookmarks?workspaceId=nope", &r.ann.token).await.expect_error(400, "VALIDATION_ERROR");
    // A note version past the largest is stale (409), not a server error.
    let note = json!({ "workspaceId": r.ws, "content": "x", "version": i32::MAX });
    api.post("/api/notes/personal", &r.ann.token, note).await.expect_error(409, "CONFLICT");

    // NUL characters are refused, not a server error.
    api.patch(&format!("/api/channels/{}", r.channel), &r.ann.token, json!({ "description": "a\u{0}b" }))
        .await
        .expect_error(400, "VALIDATION_ERROR");
    let nul = api
        .call(Method::POST, "/api/auth/sign-in/email", None, Some(json!({ "email": "a\u{0}@x.io", "password": "whatever123" })))
        .await
        .expect("call");
    assert!(nul.status.is_client_error(), "{}", nul.status);
    // A client id names one message in one place.
    let other = api.channel(&r.ws, &r.ann, "other").await.expect("other");
    api.post(&msgs, &r.ann.token, json!({ "content": "first", "clientMsgId": "c-1" })).await.expect(201);
    api.post(&format!("/api/channels/{other}/messages"), &r.ann.token, json!({ "content": "second", "clientMsgId": "c-1" }))
        .await
        .expect_error(409, "CONFLICT");

    // Ids that are not ids name nothing.
    api.get("/api/channels/not-a-uuid", &r.ann.token).await.expect_error(404, "NOT_FOUND");
    api.get(&format!("/api/channels/{}", uuid::Uuid::now_v7()), &r.ann.token).await.expect_error(404, "NOT_FOUND");

    // The socket answers bad frames without dropping the connection.
    let mut s = Socket::connect(&t.base, &r.ann.token).await.expect("socket");
    s.send_raw("{oops").await.expect("send");
    let err = s.next_frame(WAIT).await.expect("frame").expect("an error frame");
    assert_eq!(err["event"], "error");
    assert_eq!(err["data"]["code"], "VALIDATION_ERROR");
    let ack = s.request("no:such-event", json!({})).await.expect("ack");
    assert_eq!(ack["ok"], false);
    assert_eq!(ack["error"]["code"], "VALIDATION_ERROR");
    let ack = s.request("message:send", json!({ "channelId": r.channel, "content": 7 })).await.expect("ack");
    assert_eq!(ack["error"]["code"], "VALIDATION_ERROR");
    let ack = s.request("message:send", json!({ "channelId": r.channel, "content": "still connected" })).await.expect("ack");
    assert_eq!(ack["ok"], true);
    t.stop().await.expect("stops");
}

/// A plausible, valid body for each route that takes one, so that a refusal
/// can only come from tenancy, not from validation.
fn body_for(method: &str, path: &str, ids: &Ids) -> Option<serde_json::Value> {
    let b = match (method, path) {
        ("post", p) if p.ends_with("/channels") => json!({ "name": "intrusion" }),
        ("post", p) if p.ends_with("/conversations") => json!({ "userIds": [ids.bob] }),
        ("post", p) if p.ends_with("/messages") => json!({ "content": "hello?" }),
        ("post", p) if p.ends_with("/read") => json!({ "sequence": 1 }),
        ("post", p) if p.ends_with("/pins") => json!({ "messageId": ids.message, "pinned": true }),
        ("post", p) if p.ends_with("/reactions") => json!({ "emoji": "👍" }),
        ("post", p) if p.ends_with("/channels/{channelId}/members") => json!({ "userId": ids.bob }),
        ("patch", p) if p.ends_with("/members/{userId}") => json!({ "role": "admin" }),
        ("patch", p) if p.ends_with("/profile") => json!({ "title": "x" }),
        ("put", p) if p.ends_with("/status") => json!({ "text": "x" }),
        ("patch", "/api/channels/{channelId}") => json!({ "name": "renamed" }),
        ("patch", "/api/workspaces/{workspaceId}") => json!({ "name": "Pwned" }),
        ("post", p) if p.ends_with("/notifications") => json!({ "muted": true }),
        ("post", p) if p.ends_with("/categories") => json!({ "name": "Projects" }),
        ("post", p) if p.ends_with("/groups") => json!({ "handle": "crew", "name": "Crew", "memberIds": [ids.bob] }),
        ("post", p) if p.ends_with("/guest-invites") => json!({ "channelIds": [ids.channel], "expiresAt": "2099-01-01T00:00:00Z" }),
        ("post", p) if p.contains("/join-requests/") => json!({ "approve": true }),
        ("patch", "/api/messages/{messageId}") => json!({ "content": "changed" }),
        ("get", _) | ("delete", _) => return None,
        _ => json!({}),
    };
    Some(b)
}

struct Ids {
    ws: String,
    channel: String,
    message: String,
    conversation: String,
    bob: String,
}

#[tokio::test(flavor = "multi_thread")]
async fn another_workspace_is_invisible_on_every_route() {
    let t = stack().await;
    let r = room(&t.api()).await;
    let api = &r.api;
    let m =
        api.post(&format!("/api/channels/{}/messages", r.channel), &r.ann.token, json!({ "content": "private matter" })).await.expect(201);
    let dm = api.post(&format!("/api/workspaces/{}/conversations", r.ws), &r.ann.token, json!({ "userIds": [r.bob.id] })).await.expect(200);
    let ids = Ids {
        ws: r.ws.clone(),
        channel: r.channel.clone(),
        message: m["id"].as_str().expect("id").to_owned(),
        conversation: dm["id"].as_str().expect("id").to_owned(),
        bob: r.bob.id.clone(),
    };
    let mallory = api.sign_up("Mallory").await.expect("mallory");
    api.workspace(&mallory).await.expect("her own workspace");

    // Every documented route that names a workspace-scoped resource.
    let doc = api.call(Method::GET, "/api/openapi.json", None, None).await.expect("doc").expect(200);
    let mut walked = 0;
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        let scoped = ["{workspaceId}", "{channelId}", "{messageId}", "{conversationId}"].iter().any(|p| path.contains(p));
        if !scoped {
            continue;
        }
        let concrete = path
            .replace("{workspaceId}", &ids.ws)
            .replace("{channelId}", &ids.channel)
            .replace("{messageId}", &ids.message)
            .replace("{conversationId}", &ids.conversation)
            .replace("{userId}", &ids.bob)
            .replace("{requestId}", &ids.bob);
        for method in ops.as_object().expect("ops").keys() {
            let body = body_for(method, path, &ids);
            let verb = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let resp = api.call(verb, &concrete, Some(&mallory.token), body).await.expect("call");
            assert_eq!(resp.status.as_u16(), 404, "{method} {path} answered {} {}", resp.status, resp.body);
            assert_eq!(resp.body["error"]["code"], "NOT_FOUND");
            walked += 1;
        }
    }
    assert!(walked >= 30, "walked only {walked} routes");
    api.get(&format!("/api/admin/audit-logs?workspaceId={}", r.ws), &mallory.token).await.expect_error(404, "NOT_FOUND");
    api.post("/api/workspace/last-visited", &mallory.token, json!({ "workspaceId": r.ws })).await.expect_error(404, "NOT_FOUND");

    let mut s = Socket::connect(&t.base, &mallory.token).await.expect("socket");
    for (event, data) in [
        ("message:send", json!({ "channelId": ids.channel, "content": "hello?" })),
        ("message:send", json!({ "conversationId": ids.conversation, "content": "hello?" })),
        ("message:edit", json!({ "messageId": ids.message, "content": "x" })),
        ("message:delete", json!({ "messageId": ids.message })),
        ("reaction:toggle", json!({ "messageId": ids.message, "emoji": "👍" })),
        ("presence:setActive", json!({ "workspaceId": ids.ws })),
        ("presence:fetch", json!({ "workspaceId": ids.ws, "userIds": [ids.bob] })),
    ] {
        let ack = s.request(event, data).await.expect("ack");
        assert_eq!(ack["error"]["code"], "NOT_FOUND", "{event}: {ack}");
    }

    // And nothing of Mallory's attempts landed.
    let channels = api.get(&format!("/api/workspaces/{}/channels", r.ws), &r.ann.token).await.expect(200);
    assert_eq!(channels["channels"].as_array().map(Vec::len), Some(1));
    assert_eq!(channels["channels"][0]["name"], "general");
    let page = api.get(&format!("/api/channels/{}/messages", r.channel), &r.ann.token).await.expect(200);
    assert_eq!(page["messages"].as_array().map(Vec::len), Some(1));
    assert_eq!(page["messages"][0]["content"], "private matter");
    assert_eq!(page["messages"][0]["reactions"].as_array().map(Vec::len), Some(0));
    let members = api.get(&format!("/api/workspaces/{}/members", r.ws), &r.ann.token).await.expect(200);
    assert_eq!(members["members"].as_array().map(Vec::len), Some(2));
    assert!(members["members"].as_array().expect("m").iter().all(|m| m["role"] != "admin" || m["userId"] != ids.bob.as_str()));
    let dm_page = api.get(&format!("/api/conversations/{}/messages", ids.conversation), &r.bob.token).await.expect(200);
    assert_eq!(dm_page["messages"].as_array().map(Vec::len), Some(0));
    t.stop().await.expect("stops");
}

/// Every route that takes a JSON body answers a body of the wrong shape
/// with 400 VALIDATION_ERROR (never a 5xx), as a member with real ids.
#[tokio::test(flavor = "multi_thread")]
async fn every_body_route_refuses_malformed_json_with_a_400() {
    let t = stack().await;
    let r = room(&t.api()).await;
    let api = &r.api;
    let m = api.post(&format!("/api/channels/{}/messages", r.channel), &r.ann.token, json!({ "content": "hi" })).await.expect(201);
    let dm = api.post(&format!("/api/workspaces/{}/conversations", r.ws), &r.ann.token, json!({ "userIds": [r.bob.id] })).await.expect(200);
    let doc = api.call(Method::GET, "/api/openapi.json", None, None).await.expect("doc").expect(200);
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        let concrete = path
            .replace("{workspaceId}", &r.ws)
            .replace("{channelId}", &r.channel)
            .replace("{messageId}", m["id"].as_str().expect("id"))
            .replace("{conversationId}", dm["id"].as_str().expect("id"))
            .replace("{userId}", &r.bob.id)
            .replace("{requestId}", &r.bob.id)
            .replace("{token}", "no-such-invite")
            .replace("{notificationId}", &r.bob.id)
            .replace("{bookmarkId}", &r.bob.id);
        for (method, op) in ops.as_object().expect("ops") {
            if op.get("requestBody").is_none() {
                continue;
            }
            for bad in [
                json!([1, 2, 3]),
                json!("text"),
                json!({ "content": { "nested": true }, "name": 7, "email": false, "userIds": "x", "sequence": "x", "version": "x", "channelIds": 5, "role": 1, "approve": "yes", "password": 1, "code": 1, "emoji": 1, "messageId": 1, "workspaceId": 1, "channelId": 1, "userId": 1, "token": 1, "newPassword": 1, "handle": 1, "expiresAt": 1, "text": 1, "title": 1 }),
            ] {
                let verb = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
                let token = if path.starts_with("/api/auth/sign") || path.contains("password") { None } else { Some(r.ann.token.as_str()) };
                let resp = api.call(verb, &concrete, token, Some(bad.clone())).await.expect("call");
                assert_eq!(resp.status.as_u16(), 400, "{method} {path} with {bad}: {} {}", resp.status, resp.body);
                assert_eq!(resp.body["error"]["code"], "VALIDATION_ERROR");
                checked += 1;
            }
        }
    }
    assert!(checked >= 90, "checked only {checked}");
    t.stop().await.expect("stops");
}
