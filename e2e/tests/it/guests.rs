//! Guests (seed 2.5, 5.7) and join requests, through the gateway, with the
//! expiry job going through RabbitMQ.

use std::time::Duration;

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn guests_see_only_their_channels_and_are_soft_locked_on_time() {
    let t = stack().await;
    let r = room(&t.api()).await;
    let api = &r.api;
    let secret = api
        .post(&format!("/api/workspaces/{}/channels", r.ws), &r.ann.token, json!({ "name": "secret", "isPrivate": true }))
        .await
        .expect(201);
    let other = api.channel(&r.ws, &r.ann, "other").await.expect("other");
    let sid = secret["id"].as_str().expect("id").to_owned();
    let invites = format!("/api/workspaces/{}/guest-invites", r.ws);
    let until = (chrono::Utc::now() + chrono::Duration::seconds(3)).to_rfc3339();
    // Only admins invite guests, and only to this workspace's channels.
    api.post(&invites, &r.bob.token, json!({ "channelIds": [r.channel], "expiresAt": until })).await.expect_error(403, "FORBIDDEN");
    let eve = api.sign_up("Eve").await.expect("eve");
    let eve_ws = api.workspace(&eve).await.expect("ws");
    let foreign = api.channel(&eve_ws, &eve, "foreign").await.expect("foreign");
    api.post(&invites, &r.ann.token, json!({ "channelIds": [foreign], "expiresAt": until })).await.expect_error(400, "VALIDATION_ERROR");
    api.post(&invites, &r.ann.token, json!({ "channelIds": [r.channel], "expiresAt": "2001-01-01T00:00:00Z" }))
        .await
        .expect_error(400, "VALIDATION_ERROR");
    let inv = api.post(&invites, &r.ann.token, json!({ "channelIds": [r.channel, sid], "expiresAt": until })).await.expect(201);
    assert_eq!(inv["isGuest"], true);

    let gus = api.sign_up("Gus").await.expect("gus");
    api.post(&format!("/api/invites/{}/accept", inv["token"].as_str().expect("token")), &gus.token, json!({})).await.expect(200);
    let members = api.get(&format!("/api/workspaces/{}/members", r.ws), &r.ann.token).await.expect(200);
    let g = members["members"].as_array().expect("m").iter().find(|m| m["userId"] == gus.id.as_str()).expect("listed").clone();
    assert_eq!(g["isGuest"], true);
    assert!(g["expiresAt"].is_string());

    let list = api.get(&format!("/api/workspaces/{}/channels", r.ws), &gus.token).await.expect(200);
    let mut names: Vec<&str> = list["channels"].as_array().expect("c").iter().filter_map(|c| c["name"].as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, vec!["general", "secret"]);
    api.get(&format!("/api/channels/{other}"), &gus.token).await.expect_error(404, "NOT_FOUND");
    api.post(&format!("/api/channels/{other}/join"), &gus.token, json!({})).await.expect_error(404, "NOT_FOUND");
    api.post(&format!("/api/workspaces/{}/channels", r.ws), &gus.token, json!({ "name": "mine" })).await.expect_error(403, "FORBIDDEN");
    api.post(&format!("/api/workspaces/{}/conversations", r.ws), &gus.token, json!({ "userIds": [r.ann.id] }))
        .await
        .expect_error(403, "FORBIDDEN");
    let mut gus_sock = Socket::connect(&t.base, &gus.token).await.expect("socket");
    let ack = gus_sock.request("message:send", json!({ "channelId": r.channel, "content": "hello from a guest" })).await.expect("ack");
    assert_eq!(ack["ok"], true, "{ack}");
    // The guest hears the channel like anyone in it.
    api.post(&format!("/api/channels/{sid}/messages"), &r.ann.token, json!({ "content": "psst" })).await.expect(201);
    assert_eq!(gus_sock.event("message:new", WAIT).await.expect("hears")["message"]["content"], "hello from a guest");

    // Mentions never reach a guest outside their channels.
    api.post(&format!("/api/channels/{other}/messages"), &r.ann.token, json!({ "content": "@gus this is not for you" })).await.expect(201);
    // A private channel the inviter is not in cannot be handed out.
    let hidden = api
        .post(&format!("/api/workspaces/{}/channels", r.ws), &r.bob.token, json!({ "name": "bobs", "isPrivate": true }))
        .await
        .expect(201);
    api.post(
        &invites,
        &r.ann.token,
        json!({ "channelIds": [hidden["id"]], "expiresAt": (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339() }),
    )
    .await
    .expect_error(400, "VALIDATION_ERROR");

    // On time, the expiry job (outbox → RabbitMQ → svc-auth) tells the
    // guest's sockets, one event per channel.
    let mut locked = Vec::new();
    for _ in 0..2 {
        let ev = gus_sock.event("guest:locked", Duration::from_secs(15)).await.expect("guest:locked on time");
        locked.push(ev["channelId"].as_str().expect("channel").to_owned());
    }
    locked.sort();
    let mut expected = vec![r.channel.clone(), sid.clone()];
    expected.sort();
    assert_eq!(locked, expected);
    // Soft-lock: reading works, posting does not.
    api.post(&format!("/api/channels/{}/messages", r.channel), &gus.token, json!({ "content": "still here?" }))
        .await
        .expect_error(403, "GUEST_LOCKED");
    assert_eq!(gus_sock.event("guest:locked", WAIT).await.expect("told again")["channelId"], r.channel);
    let page = api.get(&format!("/api/channels/{sid}/messages"), &gus.token).await.expect(200);
    assert_eq!(page["messages"][0]["content"], "psst");
    assert_eq!(api.get("/api/notifications", &gus.token).await.expect(200)["notifications"].as_array().map(Vec::len), Some(0));
    let audit = api.get(&format!("/api/admin/audit-logs?workspaceId={}&action=guest_locked", r.ws), &r.ann.token).await.expect(200);
    assert_eq!(audit["logs"].as_array().map(Vec::len), Some(1), "the job ran once");
    t.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn join_requests_and_invite_limits() {
    let t = stack().await;
    let api = t.api();
    let ann = api.sign_up("Ann").await.expect("ann");
    let bob = api.sign_up("Bob").await.expect("bob");
    let cat = api.sign_up("Cat").await.expect("cat");
    let ws = api
        .post("/api/workspaces", &ann.token, json!({ "name": "Club", "slug": format!("club-{}", &bob.id[..8]), "joinPolicy": "request" }))
        .await
        .expect(201);
    let ws = ws["id"].as_str().expect("id").to_owned();
    let mut ann_sock = Socket::connect(&t.base, &ann.token).await.expect("socket");
    let asked = api.post(&format!("/api/workspaces/{ws}/join"), &bob.token, json!({})).await.expect(202);
    assert_eq!(asked["request"]["status"], "pending");
    assert_eq!(ann_sock.event("workspace:joinRequest", WAIT).await.expect("told")["request"]["userId"], bob.id);
    api.post(&format!("/api/workspaces/{ws}/join"), &cat.token, json!({})).await.expect(202);
    api.get(&format!("/api/workspaces/{ws}/join-requests"), &bob.token).await.expect_error(404, "NOT_FOUND");
    let pending = api.get(&format!("/api/workspaces/{ws}/join-requests"), &ann.token).await.expect(200);
    assert_eq!(pending["requests"].as_array().map(Vec::len), Some(2));
    let bob_req = asked["request"]["id"].as_str().expect("id");
    let mut bob_sock = Socket::connect(&t.base, &bob.token).await.expect("socket");
    api.post(&format!("/api/workspaces/{ws}/join-requests/{bob_req}"), &ann.token, json!({ "approve": true })).await.expect(200);
    assert_eq!(bob_sock.event("workspace:joinDecision", WAIT).await.expect("told")["request"]["status"], "approved");
    api.get(&format!("/api/workspaces/{ws}"), &bob.token).await.expect(200);
    api.post(&format!("/api/workspaces/{ws}/join-requests/{bob_req}"), &ann.token, json!({ "approve": false }))
        .await
        .expect_error(404, "NOT_FOUND");
    let cat_req = pending["requests"].as_array().expect("r").iter().find(|r| r["userId"] == cat.id.as_str()).expect("cat's")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    api.post(&format!("/api/workspaces/{ws}/join-requests/{cat_req}"), &ann.token, json!({ "approve": false })).await.expect(200);
    api.get(&format!("/api/workspaces/{ws}"), &cat.token).await.expect_error(404, "NOT_FOUND");

    // Invite-only workspaces cannot be asked to join; invites have limits.
    let closed = api.workspace(&ann).await.expect("closed");
    api.post(&format!("/api/workspaces/{closed}/join"), &cat.token, json!({})).await.expect_error(404, "NOT_FOUND");
    api.post(&format!("/api/workspaces/{closed}/invites"), &ann.token, json!({ "expiresInHours": 0 }))
        .await
        .expect_error(400, "VALIDATION_ERROR");
    let two =
        api.post(&format!("/api/workspaces/{closed}/invites"), &ann.token, json!({ "maxUses": 2, "expiresInHours": 1 })).await.expect(201);
    let tok = two["token"].as_str().expect("token");
    for u in [&bob, &cat] {
        api.post(&format!("/api/invites/{tok}/accept"), &u.token, json!({})).await.expect(200);
    }
    let dan = api.sign_up("Dan").await.expect("dan");
    api.post(&format!("/api/invites/{tok}/accept"), &dan.token, json!({})).await.expect_error(404, "NOT_FOUND");
    t.stop().await.expect("stops");
}
