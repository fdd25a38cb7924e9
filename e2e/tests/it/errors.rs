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
    let e = api.post(ws_path, &r.ann.token, json!({ "name": "A", "slug": "ok-slug", "joinPolicy": "everyone" })).await.expect_error(400, "VALIDATION_ERROR");
    assert_eq!(e["error"]["details"]["field"], "joinPolicy");
    let list = api.get(ws_path, &r.ann.token).await.expect(200);
    assert_eq!(list["workspaces"].as_array().map(Vec::len), Some(1), "nothing was created");

    let msgs = format!("/api/channels/{}/messages", r.channel);
    api.post(&msgs, &r.ann.token, json!({ "content": "" })).await.expect_error(400, "VALIDATION_ERROR");
    api.post(&msgs, &r.ann.token, json!({ "content": "x".repeat(40_001) })).await.expect_error(400, "VALIDATION_ERROR");
    api.post(&msgs, &r.ann.token, json!({ "content": "ok", "parentId": "nope" })).await.expect_error(400, "VALIDATION_ERROR");
    api.get(&format!("{msgs}?after=-1"), &r.ann.token).await.expect_error(400, "VALIDATION_ERROR");
    api.get(&format!("{msgs}?bogus=1"), &r.ann.token).await.expect_error(400, "VALIDATION_ERROR");
    let page = api.get(&msgs, &r.ann.token).await.expect(200);
    assert_eq!(page["messages"].as_array().map(Vec::len), Some(0), "no bad message was stored");

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

#[tokio::test(flavor = "multi_thread")]
async fn another_workspace_is_invisible_on_every_route() {
    let t = stack().await;
    let r = room(&t.api()).await;
    let api = &r.api;
    let mallory = api.sign_up("Mallory").await.expect("mallory");
    api.workspace(&mallory).await.expect("her own workspace");
    let (ws, ch) = (&r.ws, &r.channel);
    let tok = mallory.token.as_str();
    let gets = [
        format!("/api/workspaces/{ws}"),
        format!("/api/workspaces/{ws}/members"),
        format!("/api/workspaces/{ws}/channels"),
        format!("/api/channels/{ch}"),
        format!("/api/channels/{ch}/messages"),
        format!("/api/channels/{ch}/messages?after=0"),
    ];
    for path in &gets {
        api.get(path, tok).await.expect_error(404, "NOT_FOUND");
    }
    let posts = [
        (format!("/api/workspaces/{ws}/invites"), json!({})),
        (format!("/api/workspaces/{ws}/join"), json!({})),
        (format!("/api/workspaces/{ws}/channels"), json!({ "name": "intrusion" })),
        (format!("/api/channels/{ch}/join"), json!({})),
        (format!("/api/channels/{ch}/leave"), json!({})),
        (format!("/api/channels/{ch}/messages"), json!({ "content": "hello?" })),
    ];
    for (path, body) in &posts {
        api.post(path, tok, body.clone()).await.expect_error(404, "NOT_FOUND");
    }
    let mut s = Socket::connect(&t.base, tok).await.expect("socket");
    let ack = s.request("message:send", json!({ "channelId": ch, "content": "hello?" })).await.expect("ack");
    assert_eq!(ack["error"]["code"], "NOT_FOUND");
    let ack = s.request("presence:setActive", json!({ "workspaceId": ws })).await.expect("ack");
    assert_eq!(ack["error"]["code"], "NOT_FOUND");
    // And nothing of Mallory's attempts landed.
    let channels = api.get(&format!("/api/workspaces/{ws}/channels"), &r.ann.token).await.expect(200);
    assert_eq!(channels["channels"].as_array().map(Vec::len), Some(1));
    let page = api.get(&format!("/api/channels/{ch}/messages"), &r.ann.token).await.expect(200);
    assert_eq!(page["messages"].as_array().map(Vec::len), Some(0));
    let members = api.get(&format!("/api/workspaces/{ws}/members"), &r.ann.token).await.expect(200);
    assert_eq!(members["members"].as_array().map(Vec::len), Some(2));
    t.stop().await.expect("stops");
}
