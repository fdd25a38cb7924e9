//! Messaging features through the gateway, with who-receives-what checked
//! on live sockets.

use std::time::Duration;

use reqwest::Method;

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn edits_deletes_and_reactions_reach_members_live() {
    let t = stack().await;
    let r = room(&t.api()).await;
    let api = &r.api;
    let mut bob = Socket::connect(&t.base, &r.bob.token).await.expect("socket");
    let mut ann = Socket::connect(&t.base, &r.ann.token).await.expect("socket");
    let m = api.post(&format!("/api/channels/{}/messages", r.channel), &r.bob.token, json!({ "content": "tpyo" })).await.expect(201);
    let id = m["id"].as_str().expect("id").to_owned();

    // Only the author edits.
    let e = api
        .call(Method::PATCH, &format!("/api/messages/{id}"), Some(&r.ann.token), Some(json!({ "content": "hijack" })))
        .await
        .expect("call");
    e.expect_error(403, "FORBIDDEN");
    let ack = bob.request("message:edit", json!({ "messageId": id, "content": "typo" })).await.expect("ack");
    assert_eq!(ack["data"]["content"], "typo");
    let edited = ann.event("message:edited", WAIT).await.expect("edited");
    assert_eq!(edited["message"]["content"], "typo");
    assert!(edited["message"]["editedAt"].is_string());

    // Reactions toggle, with counts and users.
    let ack = ann.request("reaction:toggle", json!({ "messageId": id, "emoji": "👍" })).await.expect("ack");
    assert_eq!(ack["data"]["reactions"][0]["count"], 1);
    let upd = bob.event("reaction:update", WAIT).await.expect("reaction");
    assert_eq!(upd["reactions"][0]["emoji"], "👍");
    assert_eq!(upd["reactions"][0]["userIds"][0], r.ann.id);
    api.post(&format!("/api/messages/{id}/reactions"), &r.bob.token, json!({ "emoji": "👍" })).await.expect(200);
    let both = api.post(&format!("/api/messages/{id}/reactions"), &r.ann.token, json!({ "emoji": "👍" })).await.expect(200);
    assert_eq!(both["reactions"][0]["count"], 1, "toggling again removes ann's");
    assert_eq!(both["reactions"][0]["userIds"][0], r.bob.id);
    api.post(&format!("/api/messages/{id}/reactions"), &r.bob.token, json!({ "emoji": "  " })).await.expect_error(400, "VALIDATION_ERROR");

    // A thread reply, then the workspace owner deletes the parent: it keeps its
    // place as [deleted]; its reply stays.
    let reply = api
        .post(&format!("/api/channels/{}/messages", r.channel), &r.ann.token, json!({ "content": "answer", "parentId": id }))
        .await
        .expect(201);
    let tr = bob.event("thread:newReply", WAIT).await.expect("thread reply to the parent's author");
    assert_eq!(tr["parentId"], id);
    assert_eq!(tr["reply"]["id"], reply["id"]);
    let thread = api.get(&format!("/api/messages/{id}/replies"), &r.bob.token).await.expect(200);
    assert_eq!(thread["messages"].as_array().map(Vec::len), Some(1));
    let del = api.call(Method::DELETE, &format!("/api/messages/{id}"), Some(&r.ann.token), None).await.expect("call").expect(200);
    assert_eq!(del["content"], "[deleted]");
    let gone = bob.event("message:deleted", WAIT).await.expect("deleted");
    assert_eq!(gone["messageId"], id);
    assert_eq!(gone["channelId"], r.channel);
    let page = api.get(&format!("/api/channels/{}/messages", r.channel), &r.bob.token).await.expect(200);
    let msgs = page["messages"].as_array().expect("messages");
    assert_eq!(msgs.len(), 2);
    assert_eq!(
        (msgs[0]["sequence"].as_i64(), msgs[0]["content"].as_str(), msgs[0]["isDeleted"].as_bool()),
        (Some(1), Some("[deleted]"), Some(true))
    );
    assert_eq!(msgs[0]["replyCount"], 1);
    assert_eq!(msgs[1]["content"], "answer");
    let e = api
        .call(Method::PATCH, &format!("/api/messages/{id}"), Some(&r.bob.token), Some(json!({ "content": "undo" })))
        .await
        .expect("call");
    e.expect_error(404, "NOT_FOUND");
    t.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn dms_are_one_per_set_of_people_and_private_to_them() {
    let t = stack().await;
    let r = room(&t.api()).await;
    let api = &r.api;
    let cat = api.sign_up("Cat").await.expect("cat");
    api.invite(&r.ws, &r.ann, &cat).await.expect("invite");
    let convs = format!("/api/workspaces/{}/conversations", r.ws);
    let dm = api.post(&convs, &r.ann.token, json!({ "userIds": [r.bob.id] })).await.expect(200);
    let again = api.post(&convs, &r.bob.token, json!({ "userIds": [r.ann.id, r.bob.id] })).await.expect(200);
    assert_eq!(dm["id"], again["id"], "same set, same conversation");
    let group = api.post(&convs, &r.ann.token, json!({ "userIds": [r.bob.id, cat.id] })).await.expect(200);
    assert_ne!(group["id"], dm["id"]);
    assert_eq!(group["participantIds"].as_array().map(Vec::len), Some(3));

    let mut bob = Socket::connect(&t.base, &r.bob.token).await.expect("socket");
    let mut cat_s = Socket::connect(&t.base, &cat.token).await.expect("socket");
    let dm_id = dm["id"].as_str().expect("id");
    let ack = Socket::connect(&t.base, &r.ann.token)
        .await
        .expect("socket")
        .request("message:send", json!({ "conversationId": dm_id, "content": "psst" }))
        .await
        .expect("ack");
    assert_eq!(ack["ok"], true, "{ack}");
    let got = bob.event("message:new", WAIT).await.expect("bob gets the DM");
    assert_eq!(got["conversation"]["id"], dm_id);
    cat_s.expect_no_event("message:new", QUIET).await.expect("cat does not");
    api.get(&format!("/api/conversations/{dm_id}/messages"), &cat.token).await.expect_error(404, "NOT_FOUND");
    api.post(&format!("/api/conversations/{dm_id}/messages"), &cat.token, json!({ "content": "me too" }))
        .await
        .expect_error(404, "NOT_FOUND");
    let list = api.get(&convs, &r.bob.token).await.expect(200);
    assert_eq!(list["conversations"].as_array().map(Vec::len), Some(2));
    let bob_dm = list["conversations"].as_array().expect("list").iter().find(|c| c["id"] == dm["id"]).expect("dm listed").clone();
    assert_eq!(bob_dm["unreadCount"], 1);
    // Someone outside the workspace cannot be added.
    let eve = api.sign_up("Eve").await.expect("eve");
    api.post(&convs, &r.ann.token, json!({ "userIds": [eve.id] })).await.expect_error(400, "VALIDATION_ERROR");
    t.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn unread_counts_follow_messages_and_read_marks() {
    let t = stack().await;
    let r = room(&t.api()).await;
    let api = &r.api;
    let path = format!("/api/channels/{}/messages", r.channel);
    for i in 0..3 {
        api.post(&path, &r.ann.token, json!({ "content": format!("n{i}") })).await.expect(201);
    }
    let unread = format!("/api/workspaces/{}/unread", r.ws);
    let bob_view = api.get(&unread, &r.bob.token).await.expect(200);
    assert_eq!(bob_view["total"], 3);
    assert_eq!(bob_view["channels"][0]["channelId"], r.channel);
    assert_eq!(api.get(&unread, &r.ann.token).await.expect(200)["total"], 0, "one's own messages are never unread");
    let list = api.get(&format!("/api/workspaces/{}/channels", r.ws), &r.bob.token).await.expect(200);
    assert_eq!(list["channels"][0]["unreadCount"], 3);

    let mut other_tab = Socket::connect(&t.base, &r.bob.token).await.expect("socket");
    // A new message pushes the new count to the other members.
    api.post(&path, &r.ann.token, json!({ "content": "n3" })).await.expect(201);
    let pushed = other_tab.event("unread:update", WAIT).await.expect("pushed on a new message");
    assert_eq!((pushed["channelId"].as_str(), pushed["count"].as_i64()), (Some(r.channel.as_str()), Some(4)));
    let read = api.post(&format!("/api/channels/{}/read", r.channel), &r.bob.token, json!({ "sequence": 2 })).await.expect(200);
    assert_eq!(read["count"], 2);
    let ev = other_tab.event("unread:update", WAIT).await.expect("unread:update");
    assert_eq!((ev["channelId"].as_str(), ev["count"].as_i64()), (Some(r.channel.as_str()), Some(2)));
    assert_eq!(other_tab.event("workspace:unreadUpdate", WAIT).await.expect("total")["total"], 2);
    // Marks never move back, and cannot point past the end.
    api.post(&format!("/api/channels/{}/read", r.channel), &r.bob.token, json!({ "sequence": 1 })).await.expect(200);
    assert_eq!(api.get(&unread, &r.bob.token).await.expect(200)["total"], 2);
    api.post(&format!("/api/channels/{}/read", r.channel), &r.bob.token, json!({ "sequence": 99 }))
        .await
        .expect_error(400, "VALIDATION_ERROR");
    api.post(&format!("/api/channels/{}/read", r.channel), &r.bob.token, json!({ "sequence": 4 })).await.expect(200);
    assert_eq!(api.get(&unread, &r.bob.token).await.expect(200)["total"], 0);
    t.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn private_channels_grow_by_invitation_and_archived_ones_are_read_only() {
    let t = stack().await;
    let r = room(&t.api()).await;
    let api = &r.api;
    let secret = api
        .post(&format!("/api/workspaces/{}/channels", r.ws), &r.ann.token, json!({ "name": "secret", "isPrivate": true }))
        .await
        .expect(201);
    let sid = secret["id"].as_str().expect("id").to_owned();
    let mut bob = Socket::connect(&t.base, &r.bob.token).await.expect("socket");
    api.post(&format!("/api/channels/{sid}/join"), &r.bob.token, json!({})).await.expect_error(404, "NOT_FOUND");
    api.post(&format!("/api/channels/{sid}/members"), &r.ann.token, json!({ "userId": r.bob.id })).await.expect(200);
    let joined = bob.event("channel:joined", WAIT).await.expect("told of the channel");
    assert_eq!(joined["channel"]["id"], sid);
    let m = api.post(&format!("/api/channels/{sid}/messages"), &r.ann.token, json!({ "content": "for your eyes" })).await.expect(201);
    assert_eq!(bob.event("message:new", WAIT).await.expect("now hears it")["message"]["id"], m["id"]);

    // Pins.
    let mid = m["id"].as_str().expect("id");
    api.post(&format!("/api/channels/{sid}/pins"), &r.bob.token, json!({ "messageId": mid, "pinned": true })).await.expect(200);
    let pins = api.get(&format!("/api/channels/{sid}/pins"), &r.ann.token).await.expect(200);
    assert_eq!(pins["messages"][0]["id"], mid);
    api.post(&format!("/api/channels/{sid}/pins"), &r.bob.token, json!({ "messageId": mid, "pinned": false })).await.expect(200);
    assert_eq!(api.get(&format!("/api/channels/{sid}/pins"), &r.ann.token).await.expect(200)["messages"].as_array().map(Vec::len), Some(0));

    // Categories and topics.
    let cats = format!("/api/workspaces/{}/categories", r.ws);
    api.post(&cats, &r.bob.token, json!({ "name": "Projects" })).await.expect_error(403, "FORBIDDEN");
    let cat = api.post(&cats, &r.ann.token, json!({ "name": "Projects", "position": 1 })).await.expect(201);
    let in_cat = api
        .patch(&format!("/api/channels/{sid}"), &r.ann.token, json!({ "categoryId": cat["id"], "topic": "Q3 launch" }))
        .await
        .expect(200);
    assert_eq!((in_cat["categoryId"].as_str(), in_cat["topic"].as_str()), (cat["id"].as_str(), Some("Q3 launch")));
    assert_eq!(bob.event("channel:updated", WAIT).await.expect("told")["channel"]["topic"], "Q3 launch");
    api.patch(&format!("/api/channels/{sid}"), &r.ann.token, json!({ "categoryId": uuid::Uuid::now_v7() }))
        .await
        .expect_error(400, "VALIDATION_ERROR");
    let made = api
        .post(&format!("/api/workspaces/{}/channels", r.ws), &r.bob.token, json!({ "name": "filed", "categoryId": cat["id"] }))
        .await
        .expect(201);
    assert_eq!(made["categoryId"], cat["id"]);
    assert_eq!(api.get(&cats, &r.bob.token).await.expect(200)["categories"][0]["name"], "Projects");

    // Only the creator or an admin archives; then the channel is read-only.
    let chan = format!("/api/channels/{sid}");
    api.patch(&chan, &r.bob.token, json!({ "isArchived": true })).await.expect_error(403, "FORBIDDEN");
    let archived = api.patch(&chan, &r.ann.token, json!({ "isArchived": true, "description": "done" })).await.expect(200);
    assert_eq!(archived["isArchived"], true);
    assert_eq!(bob.event("channel:updated", WAIT).await.expect("told")["channel"]["isArchived"], true);
    api.post(&format!("/api/channels/{sid}/messages"), &r.ann.token, json!({ "content": "too late" })).await.expect_error(403, "FORBIDDEN");
    api.get(&format!("/api/channels/{sid}/messages"), &r.bob.token).await.expect(200);

    // Removing Bob: he no longer sees it.
    api.delete(&format!("/api/channels/{sid}/members/{}", r.bob.id), &r.ann.token).await.expect(200);
    assert_eq!(bob.event("channel:left", WAIT).await.expect("told")["channelId"], sid);
    api.get(&format!("/api/channels/{sid}"), &r.bob.token).await.expect_error(404, "NOT_FOUND");
    t.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn mentions_reach_the_right_people_durably_as_notifications() {
    let t = stack().await;
    let r = room(&t.api()).await;
    let api = &r.api;
    let [cat, dan, eve] =
        [api.sign_up("Cat").await.expect("cat"), api.sign_up("Dan").await.expect("dan"), api.sign_up("Eve").await.expect("eve")];
    for u in [&cat, &dan, &eve] {
        api.invite(&r.ws, &r.ann, u).await.expect("invite");
    }
    for u in [&dan, &eve] {
        api.join(&r.channel, u).await.expect("join");
    }
    let group = api
        .post(
            &format!("/api/workspaces/{}/groups", r.ws),
            &r.ann.token,
            json!({ "handle": "designers", "name": "Designers", "memberIds": [r.bob.id] }),
        )
        .await
        .expect(201);
    assert_eq!(group["handle"], "designers");
    api.post(&format!("/api/workspaces/{}/groups", r.ws), &r.ann.token, json!({ "handle": "here", "name": "x" }))
        .await
        .expect_error(400, "VALIDATION_ERROR");
    // Dan is active, Eve is not.
    let mut dan_sock = Socket::connect(&t.base, &dan.token).await.expect("socket");
    dan_sock.request("presence:setActive", json!({ "workspaceId": r.ws })).await.expect("active");
    let mut bob_sock = Socket::connect(&t.base, &r.bob.token).await.expect("socket");

    api.post(
        &format!("/api/channels/{}/messages", r.channel),
        &r.ann.token,
        json!({ "content": "Hey @designers and @cat, @here: ship it. cc @channel @ann" }),
    )
    .await
    .expect(201);
    let n = bob_sock.event("notification:new", Duration::from_secs(10)).await.expect("bob notified through RabbitMQ");
    assert_eq!(n["notification"]["type"], "mention");
    assert!(n["notification"]["title"].as_str().expect("title").contains("#general"), "{n}");
    assert_eq!(dan_sock.event("notification:new", Duration::from_secs(10)).await.expect("dan")["notification"]["type"], "here");
    let kinds = |u: &User| {
        let api = api.clone();
        let tok = u.token.clone();
        async move {
            let list = api.get("/api/notifications", &tok).await.expect(200);
            list["notifications"]
                .as_array()
                .expect("list")
                .iter()
                .map(|n| n["type"].as_str().unwrap_or_default().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let eve_kinds = ocomms_runtime::testing::eventually(10, || async { Some(kinds(&eve).await).filter(|k| !k.is_empty()) }).await;
    assert_eq!(eve_kinds, Some(vec!["channel".to_owned()]));
    assert_eq!(kinds(&cat).await, vec!["mention"], "a public channel's mention reaches a workspace member outside it");
    assert_eq!(kinds(&r.bob).await, vec!["mention"], "one notification per person, the most specific kind");
    assert!(kinds(&r.ann).await.is_empty(), "never the author");
    let unread = api.get(&format!("/api/workspaces/{}/unread", r.ws), &r.bob.token).await.expect(200);
    assert_eq!((unread["channels"][0]["count"].as_i64(), unread["channels"][0]["mentionCount"].as_i64()), (Some(1), Some(1)));

    // Muting a channel stops its notifications.
    api.post(&format!("/api/channels/{}/notifications", r.channel), &eve.token, json!({ "muted": true })).await.expect(200);
    assert_eq!(api.get(&format!("/api/channels/{}/notifications", r.channel), &eve.token).await.expect(200)["muted"], true);
    api.post(&format!("/api/channels/{}/notifications", r.channel), &eve.token, json!({ "level": "loud" }))
        .await
        .expect_error(400, "VALIDATION_ERROR");
    // Do Not Disturb: no notification either (seed 5.2).
    api.call(Method::PUT, &format!("/api/workspaces/{}/status", r.ws), Some(&dan.token), Some(json!({ "dnd": true })))
        .await
        .expect("put")
        .expect(200);
    api.post(&format!("/api/channels/{}/messages", r.channel), &r.ann.token, json!({ "content": "again @channel" })).await.expect(201);
    let bob_two = ocomms_runtime::testing::eventually(10, || async { Some(kinds(&r.bob).await).filter(|k| k.len() == 2) }).await;
    assert!(bob_two.is_some(), "bob hears the second @channel");
    assert_eq!(kinds(&eve).await.len(), 1, "eve muted the channel");
    assert_eq!(kinds(&dan).await.len(), 1, "dan is in Do Not Disturb");

    // In a private channel, only its members can be reached.
    let secret = api
        .post(&format!("/api/workspaces/{}/channels", r.ws), &r.ann.token, json!({ "name": "secret", "isPrivate": true }))
        .await
        .expect(201);
    api.post(&format!("/api/channels/{}/messages", secret["id"].as_str().expect("id")), &r.ann.token, json!({ "content": "@cat look" }))
        .await
        .expect(201);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(kinds(&cat).await.len(), 1, "cat cannot read the private channel, so is not notified");

    // Marking read over the socket.
    let id = n["notification"]["id"].as_str().expect("id");
    let ack = bob_sock.request("notification:markRead", json!({ "notificationId": id })).await.expect("ack");
    assert_eq!(ack["data"]["notification"]["isRead"], true);
    let unread_only = api.get("/api/notifications?unreadOnly=true", &r.bob.token).await.expect(200);
    let left: Vec<&str> = unread_only["notifications"].as_array().expect("list").iter().filter_map(|n| n["id"].as_str()).collect();
    assert_eq!(left.len(), 1, "the @channel one is still unread");
    assert!(!left.contains(&id));
    t.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn search_finds_what_the_caller_may_see_with_filters() {
    let t = stack().await;
    let r = room(&t.api()).await;
    let api = &r.api;
    let post = |channel: &str, who: &User, text: &str| {
        let api = api.clone();
        let (path, tok, body) = (format!("/api/channels/{channel}/messages"), who.token.clone(), json!({ "content": text }));
        async move { api.post(&path, &tok, body).await.expect(201) }
    };
    post(&r.channel, &r.ann, "We deploy the <b>release</b> on Friday").await;
    post(&r.channel, &r.bob, "The redeployment went fine").await;
    post(&r.channel, &r.bob, "東京で会議があります").await;
    let secret = api
        .post(&format!("/api/workspaces/{}/channels", r.ws), &r.ann.token, json!({ "name": "secret", "isPrivate": true }))
        .await
        .expect(201);
    post(secret["id"].as_str().expect("id"), &r.ann, "secret deploy plans").await;
    let search = |tok: &str, q: &str| {
        let api = api.clone();
        let path = format!("/api/workspaces/{}/search?q={}", r.ws, urlencode(q));
        let tok = tok.to_owned();
        async move { api.get(&path, &tok).await.expect(200)["results"].as_array().expect("results").clone() }
    };
    let hits = search(&r.bob.token, "deploy").await;
    assert_eq!(hits.len(), 2, "the word and the partial word; not the private channel: {hits:?}");
    assert!(hits[0]["highlight"].as_str().expect("hl").contains("<mark>deploy</mark>"));
    assert!(hits.iter().all(|h| !h["highlight"].as_str().unwrap_or_default().contains("<b>")), "content is escaped");
    assert_eq!(hits[0]["channelName"], "general");
    assert_eq!(search(&r.ann.token, "deploy").await.len(), 3, "ann is in the private channel");
    assert_eq!(search(&r.bob.token, "会議").await.len(), 1, "words in a script without spaces");
    assert_eq!(search(&r.bob.token, "deploy from:@bob").await.len(), 1);
    assert_eq!(search(&r.ann.token, "deploy in:#secret").await.len(), 1);
    assert_eq!(search(&r.ann.token, "deploy before:2001-01-01").await.len(), 0);
    assert_eq!(search(&r.ann.token, "deploy after:2001-01-01").await.len(), 3);
    assert_eq!(search(&r.ann.token, "from:@nobody").await.len(), 0);
    api.get(&format!("/api/workspaces/{}/search?q=before:someday", r.ws), &r.ann.token).await.expect_error(400, "VALIDATION_ERROR");
    api.get(&format!("/api/workspaces/{}/search?q=", r.ws), &r.ann.token).await.expect_error(400, "VALIDATION_ERROR");
    t.stop().await.expect("stops");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn notes_keep_versions_and_reach_subscribers_and_bookmarks_are_private() {
    let t = stack().await;
    let r = room(&t.api()).await;
    let api = &r.api;
    let cat = api.sign_up("Cat").await.expect("cat");
    api.invite(&r.ws, &r.ann, &cat).await.expect("invite");
    api.join(&r.channel, &cat).await.expect("join");
    let eve = api.sign_up("Eve").await.expect("eve");

    // Personal notes: optimistic versions.
    let personal = format!("/api/notes/personal?workspaceId={}", r.ws);
    let empty = api.get(&personal, &r.ann.token).await.expect(200);
    assert_eq!((empty["content"].as_str(), empty["version"].as_i64()), (Some(""), Some(0)));
    let saved =
        api.post("/api/notes/personal", &r.ann.token, json!({ "workspaceId": r.ws, "content": "# todo", "version": 0 })).await.expect(200);
    assert_eq!(saved["version"], 1);
    let stale = api
        .post("/api/notes/personal", &r.ann.token, json!({ "workspaceId": r.ws, "content": "lost", "version": 0 }))
        .await
        .expect_error(409, "CONFLICT");
    assert_eq!(stale["error"]["details"]["currentVersion"], 1);
    api.post("/api/notes/personal", &r.ann.token, json!({ "workspaceId": r.ws, "content": "# todo\n- ship", "version": 1 }))
        .await
        .expect(200);
    assert_eq!(api.get(&personal, &r.bob.token).await.expect(200)["version"], 0, "personal means personal");
    api.get(&personal, &eve.token).await.expect_error(404, "NOT_FOUND");

    // Channel notes reach the sockets that subscribed.
    let mut bob = Socket::connect(&t.base, &r.bob.token).await.expect("socket");
    let mut cat_s = Socket::connect(&t.base, &cat.token).await.expect("socket");
    let sub = bob.request("note:subscribe", json!({ "channelId": r.channel })).await.expect("ack");
    assert_eq!(sub["data"]["version"], 0);
    let mut eve_s = Socket::connect(&t.base, &eve.token).await.expect("socket");
    let denied = eve_s.request("note:subscribe", json!({ "channelId": r.channel })).await.expect("ack");
    assert_eq!(denied["error"]["code"], "NOT_FOUND");
    api.post("/api/notes/channel", &r.ann.token, json!({ "channelId": r.channel, "content": "agenda", "version": 0 })).await.expect(200);
    let upd = bob.event("note:updated", WAIT).await.expect("subscriber hears it");
    assert_eq!((upd["content"].as_str(), upd["version"].as_i64()), (Some("agenda"), Some(1)));
    cat_s.expect_no_event("note:updated", QUIET).await.expect("not subscribed, not told");
    let ack = bob.request("note:broadcast", json!({ "channelId": r.channel, "content": "agenda v2", "version": 1 })).await.expect("ack");
    assert_eq!(ack["data"]["version"], 2);
    assert_eq!(bob.event("note:updated", WAIT).await.expect("own edit echoes to subscribed tabs")["version"], 2);
    let ack = bob.request("note:broadcast", json!({ "channelId": r.channel, "content": "stale", "version": 1 })).await.expect("ack");
    assert_eq!(ack["error"]["code"], "CONFLICT");
    bob.request("note:unsubscribe", json!({ "channelId": r.channel })).await.expect("ack");
    api.post("/api/notes/channel", &r.ann.token, json!({ "channelId": r.channel, "content": "v3", "version": 2 })).await.expect(200);
    bob.expect_no_event("note:updated", QUIET).await.expect("unsubscribed");
    api.get(&format!("/api/notes/channel?channelId={}", r.channel), &eve.token).await.expect_error(404, "NOT_FOUND");
    api.post("/api/notes/channel", &eve.token, json!({ "channelId": r.channel, "content": "x", "version": 3 }))
        .await
        .expect_error(404, "NOT_FOUND");

    // Bookmarks.
    let m = api.post(&format!("/api/channels/{}/messages", r.channel), &r.ann.token, json!({ "content": "remember me" })).await.expect(201);
    let b = api.post("/api/bookmarks", &r.bob.token, json!({ "messageId": m["id"], "note": "later" })).await.expect(201);
    assert_eq!(b["message"]["content"], "remember me");
    let list = api.get("/api/bookmarks", &r.bob.token).await.expect(200);
    assert_eq!(list["bookmarks"].as_array().map(Vec::len), Some(1));
    assert_eq!(api.get("/api/bookmarks", &cat.token).await.expect(200)["bookmarks"].as_array().map(Vec::len), Some(0));
    api.post("/api/bookmarks", &eve.token, json!({ "messageId": m["id"] })).await.expect_error(404, "NOT_FOUND");
    let bid = b["id"].as_str().expect("id");
    api.delete(&format!("/api/bookmarks/{bid}"), &cat.token).await.expect_error(404, "NOT_FOUND");
    api.delete(&format!("/api/bookmarks/{bid}"), &r.bob.token).await.expect(200);
    t.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_rabbitmq_jobs_run_in_process_and_removal_still_cleans_up() {
    let t = TestStack::start(StackOptions { local_jobs: true, ..Default::default() }).await.expect("stack");
    let r = room(&t.api()).await;
    let api = &r.api;
    let mut bob = Socket::connect(&t.base, &r.bob.token).await.expect("socket");
    api.post(&format!("/api/channels/{}/messages", r.channel), &r.ann.token, json!({ "content": "@bob ping" })).await.expect(201);
    let n = bob.event("notification:new", Duration::from_secs(10)).await.expect("notified in process");
    assert_eq!(n["notification"]["type"], "mention");
    // Removal (a durable job) drops channel membership.
    api.delete(&format!("/api/workspaces/{}/members/{}", r.ws, r.bob.id), &r.ann.token).await.expect(200);
    let gone = ocomms_runtime::testing::eventually(10, || async {
        let ch = api.get(&format!("/api/channels/{}", r.channel), &r.ann.token).await.expect(200);
        (ch["memberCount"] == 1).then_some(())
    })
    .await;
    assert!(gone.is_some(), "bob's channel membership was dropped");
    t.stop().await.expect("stops");
}

/// A socket handles its frames side by side (events keep flowing while its
/// sends are in flight) but keeps each place's order: forty sends written
/// back to back over two channels are each acknowledged once, land in each
/// channel in the order written, and reach the other member.
#[tokio::test(flavor = "multi_thread")]
async fn a_socket_pipelines_its_frames_and_keeps_each_places_order() {
    let t = stack().await;
    let api = t.api();
    let r = room(&api).await;
    let other = api.channel(&r.ws, &r.ann, "random").await.expect("second channel");
    api.join(&other, &r.bob).await.expect("join");
    let mut ann = Socket::connect(&t.base, &r.ann.token).await.expect("ann");
    let mut bob = Socket::connect(&t.base, &r.bob.token).await.expect("bob");
    for i in 0..40 {
        let channel = if i % 2 == 0 { &r.channel } else { &other };
        let frame = json!({ "event": "message:send", "data": { "channelId": channel, "content": format!("m{i}") }, "ack": 1000 + i });
        ann.send_raw(&frame.to_string()).await.expect("write");
    }
    let mut acks = std::collections::HashSet::new();
    while acks.len() < 40 {
        let f = ann.next_frame(WAIT).await.expect("frame").expect("answered in time");
        if let Some(a) = f["ack"].as_i64() {
            assert_eq!(f["ok"], true, "{f}");
            assert!(acks.insert(a), "ack {a} twice");
        }
    }
    for (channel, parity) in [(&r.channel, 0), (&other, 1)] {
        let page = api.get(&format!("/api/channels/{channel}/messages?after=0&limit=100"), &r.ann.token).await.expect(200);
        let contents: Vec<&str> = page["messages"].as_array().expect("messages").iter().filter_map(|m| m["content"].as_str()).collect();
        let written: Vec<String> = (0..40).filter(|i| i % 2 == parity).map(|i| format!("m{i}")).collect();
        assert_eq!(contents, written, "the order written");
    }
    let mut got = 0;
    while got < 40 {
        bob.event("message:new", WAIT).await.expect("delivered");
        got += 1;
    }
    bob.expect_no_event("message:new", QUIET).await.expect("each once");
    t.stop().await.expect("stops");
}

/// The largest message (40,000 four-byte characters, 160 KB) goes in and
/// out over sockets whole, though sockets read and write in 1 KiB steps.
#[tokio::test(flavor = "multi_thread")]
async fn the_largest_message_travels_over_sockets_whole() {
    let t = stack().await;
    let r = room(&t.api()).await;
    let mut ann = Socket::connect(&t.base, &r.ann.token).await.expect("ann");
    let mut bob = Socket::connect(&t.base, &r.bob.token).await.expect("bob");
    let big = "😀".repeat(40_000);
    let acked = ann.request("message:send", json!({ "channelId": r.channel, "content": big })).await.expect("acked");
    assert_eq!(acked["ok"], true, "{}", acked["error"]);
    assert_eq!(acked["data"]["content"].as_str().map(|c| c.chars().count()), Some(40_000));
    let got = bob.event("message:new", WAIT).await.expect("delivered");
    assert_eq!(got["message"]["content"].as_str(), Some(big.as_str()));
    t.stop().await.expect("stops");
}

/// Unread counts leave deleted messages out (counts are arithmetic on
/// sequences, less the deleted messages past the reader's mark): both the
/// workspace's counts and the `unread:update` a new message pushes.
#[tokio::test(flavor = "multi_thread")]
async fn deleted_messages_are_not_unread() {
    let t = stack().await;
    let r = room(&t.api()).await;
    let api = &r.api;
    let path = format!("/api/channels/{}/messages", r.channel);
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            api.post(&path, &r.ann.token, json!({ "content": format!("d{i}") })).await.expect(201)["id"].as_str().expect("id").to_owned(),
        );
    }
    api.delete(&format!("/api/messages/{}", ids[1]), &r.ann.token).await.expect(200);
    let unread = format!("/api/workspaces/{}/unread", r.ws);
    assert_eq!(api.get(&unread, &r.bob.token).await.expect(200)["total"], 2, "the deleted message is not unread");
    let mut bob = Socket::connect(&t.base, &r.bob.token).await.expect("bob");
    api.post(&path, &r.ann.token, json!({ "content": "d3" })).await.expect(201);
    let pushed = bob.event("unread:update", WAIT).await.expect("pushed");
    assert_eq!(pushed["count"], 3, "{pushed}");
    t.stop().await.expect("stops");
}
