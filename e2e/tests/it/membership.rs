//! Membership ends, access ends: an event is addressed only to users who may
//! see its place at publish time, and every read of a place someone was
//! removed from answers 404.
//!
//! The walker takes every server event of `x-websocket.serverEvents`: each
//! is either content of a place (then the test makes it happen after Bob was
//! removed, and Bob must not receive it, while Cat, who stays, does) or
//! addressed only to its subject about their own state (listed with the
//! reason). A new event type fails the test until it is classified here.

use serde_json::Value;

use crate::support::*;

/// Server events that carry content of a place (a channel, a conversation,
/// or the workspace itself), with how the walker makes each happen.
const CONTENT: &[&str] = &[
    "message:new",
    "message:edited",
    "message:deleted",
    "reaction:update",
    "thread:newReply",
    "typing:update",
    "unread:update",
    "pin:update",
    "note:updated",
    "channel:updated",
    "notification:new",
    "profile:update",
    "status:update",
    "presence:update",
    "workspace:updated",
    "linkPreview:ready",
];

/// Server events addressed only to their subject, about their own state.
const OWN: &[(&str, &str)] = &[
    ("workspace:removed", "tells the removed member themselves"),
    ("channel:left", "tells the member taken out of a channel"),
    ("channel:joined", "tells the member added to a channel"),
    ("member:updated", "tells a member their new role"),
    ("guest:locked", "tells a guest their access turned read-only"),
    ("workspace:joinRequest", "to the workspace's admins, about a request to join"),
    ("workspace:joinDecision", "to the requester, about their own request"),
    ("notification:read", "to the reader's other sockets"),
    ("workspace:unreadUpdate", "to the reader's other sockets, after they read"),
    ("reminder:fired", "to the user who set the reminder, about their own reminder"),
];

struct World {
    t: TestStack,
    api: Api,
    ann: User,
    bob: User,
    cat: User,
    ws: String,
    public: String,
    private: String,
    group: String,
    /// Per place: a message by Ann with a thread Bob replied in.
    threads: Vec<(Place, String)>,
    /// A local page links in messages point at (its previews reach Cat).
    preview_port: u16,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Place {
    Public,
    Private,
    Group,
}

impl World {
    fn place(&self, p: Place) -> (&'static str, &str) {
        match p {
            Place::Public => ("channels", &self.public),
            Place::Private => ("channels", &self.private),
            Place::Group => ("conversations", &self.group),
        }
    }

    fn field(&self, p: Place) -> Value {
        match p {
            Place::Public => json!({ "channelId": self.public }),
            Place::Private => json!({ "channelId": self.private }),
            Place::Group => json!({ "conversationId": self.group }),
        }
    }

    async fn post(&self, p: Place, who: &User, body: Value) -> Value {
        let (kind, id) = self.place(p);
        self.api.post(&format!("/api/{kind}/{id}/messages"), &who.token, body).await.expect(201)
    }

    fn thread(&self, p: Place) -> String {
        self.threads.iter().find(|(q, _)| *q == p).map(|(_, id)| id.clone()).expect("thread")
    }
}

async fn world() -> World {
    let (preview_port, _) = recorder().await;
    let t = TestStack::start(StackOptions { env: vec![("LINK_PREVIEW_ALLOWED_HOSTS".into(), "127.0.0.1".into())], ..Default::default() })
        .await
        .expect("stack");
    let api = t.api();
    let ann = api.sign_up("Ann").await.expect("ann");
    let bob = api.sign_up("Bob").await.expect("bob");
    let cat = api.sign_up("Cat").await.expect("cat");
    let ws = api.workspace(&ann).await.expect("workspace");
    api.invite(&ws, &ann, &bob).await.expect("invite bob");
    api.invite(&ws, &ann, &cat).await.expect("invite cat");
    let public = api.channel(&ws, &ann, "general").await.expect("public");
    api.join(&public, &bob).await.expect("join");
    api.join(&public, &cat).await.expect("join");
    let private = api
        .post(&format!("/api/workspaces/{ws}/channels"), &ann.token, json!({ "name": "secret", "isPrivate": true }))
        .await
        .expect(201)["id"]
        .as_str()
        .expect("id")
        .to_owned();
    for u in [&bob, &cat] {
        api.post(&format!("/api/channels/{private}/members"), &ann.token, json!({ "userId": u.id })).await.expect(200);
    }
    let group = api
        .post(&format!("/api/workspaces/{ws}/conversations"), &ann.token, json!({ "userIds": [bob.id, cat.id] }))
        .await
        .expect(200)["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let mut w = World { t, api, ann, bob, cat, ws, public, private, group, threads: Vec::new(), preview_port };
    // Bob takes part everywhere: a thread he replied in, in every place.
    for p in [Place::Public, Place::Private, Place::Group] {
        let parent = w.post(p, &w.ann, json!({ "content": "what do we ship?" })).await["id"].as_str().expect("id").to_owned();
        w.post(p, &w.bob, json!({ "content": "the chat", "parentId": parent })).await;
        w.threads.push((p, parent));
    }
    // The notifications of these (Bob's and Cat's of Ann's group message,
    // Ann's of Bob's replies) are made before the tests start watching.
    for (u, n) in [(&w.bob, 1), (&w.cat, 1), (&w.ann, 3)] {
        let made = ocomms_runtime::testing::eventually(15, || async {
            let list = w.api.get("/api/notifications", &u.token).await.expect(200);
            (list["notifications"].as_array().map(Vec::len) == Some(n)).then_some(())
        })
        .await;
        assert!(made.is_some(), "{} has {n} notifications", u.email);
    }
    w
}

/// Makes every content event of place `p` happen, acting as Ann, and returns
/// the names of the events Cat (who stays) must have received.
async fn act_in(w: &World, p: Place, ann_sock: &mut Socket, cat_sock: &mut Socket) -> Vec<&'static str> {
    let api = &w.api;
    let mut seen = Vec::new();
    let link = format!("http://127.0.0.1:{}/page", w.preview_port);
    let m = w.post(p, &w.ann, json!({ "content": format!("after you left, @bob {link}") })).await;
    let id = m["id"].as_str().expect("id").to_owned();
    cat_sock.event("message:new", WAIT).await.expect("cat hears message:new");
    cat_sock.event("unread:update", WAIT).await.expect("cat hears unread:update");
    cat_sock.event("linkPreview:ready", WAIT).await.expect("cat hears linkPreview:ready");
    seen.extend(["message:new", "unread:update", "linkPreview:ready"]);
    api.patch(&format!("/api/messages/{id}"), &w.ann.token, json!({ "content": "edited, @bob" })).await.expect(200);
    cat_sock.event("message:edited", WAIT).await.expect("edited");
    api.post(&format!("/api/messages/{id}/reactions"), &w.ann.token, json!({ "emoji": "👍" })).await.expect(200);
    cat_sock.event("reaction:update", WAIT).await.expect("reaction");
    w.post(p, &w.ann, json!({ "content": "a reply Bob must not read", "parentId": w.thread(p) })).await;
    cat_sock.event("message:new", WAIT).await.expect("reply");
    let ack = ann_sock.request("typing:start", w.field(p)).await.expect("typing");
    assert_eq!(ack["ok"], true, "{ack}");
    cat_sock.event("typing:update", WAIT).await.expect("typing");
    seen.extend(["message:edited", "reaction:update", "thread:newReply", "typing:update"]);
    if p != Place::Group {
        let (_, cid) = w.place(p);
        api.post(&format!("/api/channels/{cid}/pins"), &w.ann.token, json!({ "messageId": id, "pinned": true })).await.expect(200);
        cat_sock.event("pin:update", WAIT).await.expect("pin");
        let note = api.get(&format!("/api/notes/channel?channelId={cid}"), &w.ann.token).await.expect(200);
        api.post("/api/notes/channel", &w.ann.token, json!({ "channelId": cid, "content": "secret plans", "version": note["version"] }))
            .await
            .expect(200);
        cat_sock.event("note:updated", WAIT).await.expect("note");
        api.patch(&format!("/api/channels/{cid}"), &w.ann.token, json!({ "topic": "the secret topic" })).await.expect(200);
        cat_sock.event("channel:updated", WAIT).await.expect("channel update");
        seen.extend(["pin:update", "note:updated", "channel:updated"]);
    }
    api.delete(&format!("/api/messages/{id}"), &w.ann.token).await.expect(200);
    cat_sock.event("message:deleted", WAIT).await.expect("deleted");
    seen.extend(["message:deleted", "notification:new"]);
    seen
}

/// Everything Bob's socket received, once Cat has heard the last act.
async fn drain(sock: &mut Socket) -> Vec<Value> {
    let mut got = std::mem::take(&mut sock.backlog);
    while let Some(v) = sock.next_frame(QUIET).await.expect("socket open") {
        got.push(v);
    }
    got
}

fn assert_nothing_of(got: &[Value], names: &[&str], what: &str) {
    let leaked: Vec<&Value> = got.iter().filter(|v| names.iter().any(|n| v["event"] == *n)).collect();
    assert!(leaked.is_empty(), "{what}: a removed member received {leaked:?}");
}

/// Reads of a place Bob may no longer see: every one answers 404.
async fn assert_unreadable(w: &World, p: Place, bob: &User) {
    let api = &w.api;
    let (kind, id) = w.place(p);
    let thread = w.thread(p);
    api.get(&format!("/api/{kind}/{id}/messages"), &bob.token).await.expect_error(404, "NOT_FOUND");
    api.get(&format!("/api/messages/{thread}/replies"), &bob.token).await.expect_error(404, "NOT_FOUND");
    api.post(&format!("/api/messages/{thread}/reactions"), &bob.token, json!({ "emoji": "👍" })).await.expect_error(404, "NOT_FOUND");
    api.post(&format!("/api/{kind}/{id}/messages"), &bob.token, json!({ "content": "still here?" })).await.expect_error(404, "NOT_FOUND");
    if kind == "channels" {
        api.get(&format!("/api/channels/{id}"), &bob.token).await.expect_error(404, "NOT_FOUND");
        api.get(&format!("/api/channels/{id}/pins"), &bob.token).await.expect_error(404, "NOT_FOUND");
        api.get(&format!("/api/notes/channel?channelId={id}"), &bob.token).await.expect_error(404, "NOT_FOUND");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_content_event_is_classified() {
    let t = stack().await;
    let doc = t.api().call(reqwest::Method::GET, "/api/openapi.json", None, None).await.expect("openapi").expect(200);
    let events: Vec<String> =
        serde_json::from_value(doc["x-websocket"]["serverEvents"].clone()).expect("x-websocket.serverEvents is a list of names");
    for e in &events {
        assert!(
            CONTENT.contains(&e.as_str()) || OWN.iter().any(|(n, _)| n == e),
            "server event {e} is not classified: does it carry content of a place? add it to the walker"
        );
    }
    for e in CONTENT.iter().chain(OWN.iter().map(|(n, _)| n)) {
        assert!(events.iter().any(|x| x == e), "{e} is classified but not documented in x-websocket.serverEvents");
    }
    t.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread")]
async fn removed_from_a_private_channel_bob_hears_and_reads_nothing_of_it() {
    let w = world().await;
    let mut bob = Socket::connect(&w.t.base, &w.bob.token).await.expect("socket");
    let mut ann = Socket::connect(&w.t.base, &w.ann.token).await.expect("socket");
    let mut cat = Socket::connect(&w.t.base, &w.cat.token).await.expect("socket");
    for s in [&mut bob, &mut cat] {
        let ack = s.request("note:subscribe", json!({ "channelId": w.private })).await.expect("ack");
        assert_eq!(ack["ok"], true, "{ack}");
    }
    w.api.delete(&format!("/api/channels/{}/members/{}", w.private, w.bob.id), &w.ann.token).await.expect(200);
    bob.event("channel:left", WAIT).await.expect("bob is told he was removed");
    let seen = act_in(&w, Place::Private, &mut ann, &mut cat).await;
    let got = drain(&mut bob).await;
    assert_nothing_of(&got, &seen, "private channel");
    assert_unreadable(&w, Place::Private, &w.bob).await;
    // Search finds nothing of it for him, what it finds for those in it.
    let search = format!("/api/workspaces/{}/search?q=reply", w.ws);
    let hits = w.api.get(&search, &w.cat.token).await.expect(200);
    assert_eq!(hits["results"].as_array().map(Vec::len), Some(1), "{hits}");
    let hits = w.api.get(&search, &w.bob.token).await.expect(200);
    assert_eq!(hits["results"].as_array().map(Vec::len), Some(0), "{hits}");
    w.t.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread")]
async fn having_left_a_public_channel_bob_hears_nothing_of_it() {
    // A public channel stays readable to every member of the workspace
    // (seed: browse and read before joining), so only its events stop.
    let w = world().await;
    let mut bob = Socket::connect(&w.t.base, &w.bob.token).await.expect("socket");
    let mut ann = Socket::connect(&w.t.base, &w.ann.token).await.expect("socket");
    let mut cat = Socket::connect(&w.t.base, &w.cat.token).await.expect("socket");
    for s in [&mut bob, &mut cat] {
        s.request("note:subscribe", json!({ "channelId": w.public })).await.expect("ack");
    }
    w.api.post(&format!("/api/channels/{}/leave", w.public), &w.bob.token, json!({})).await.expect(200);
    let mut seen = act_in(&w, Place::Public, &mut ann, &mut cat).await;
    // A mention of someone not in the channel may reach them (they can read
    // it), so that one is not asserted here.
    seen.retain(|e| *e != "notification:new");
    let got = drain(&mut bob).await;
    assert_nothing_of(&got, &seen, "public channel after leaving");
    w.t.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread")]
async fn removed_from_the_workspace_bob_hears_and_reads_nothing_of_it() {
    let w = world().await;
    let mut bob = Socket::connect(&w.t.base, &w.bob.token).await.expect("socket");
    let mut ann = Socket::connect(&w.t.base, &w.ann.token).await.expect("socket");
    let mut cat = Socket::connect(&w.t.base, &w.cat.token).await.expect("socket");
    for s in [&mut bob, &mut cat] {
        for c in [&w.public, &w.private] {
            s.request("note:subscribe", json!({ "channelId": c })).await.expect("ack");
        }
    }
    w.api.delete(&format!("/api/workspaces/{}/members/{}", w.ws, w.bob.id), &w.ann.token).await.expect(200);
    bob.event("workspace:removed", WAIT).await.expect("bob is told");
    let mut seen = Vec::new();
    for p in [Place::Public, Place::Private, Place::Group] {
        seen.extend(act_in(&w, p, &mut ann, &mut cat).await);
    }
    // The workspace's own content.
    w.api.patch(&format!("/api/workspaces/{}/profile", w.ws), &w.ann.token, json!({ "title": "CEO" })).await.expect(200);
    cat.event("profile:update", WAIT).await.expect("profile");
    w.api
        .call(
            reqwest::Method::PUT,
            &format!("/api/workspaces/{}/status", w.ws),
            Some(&w.ann.token),
            Some(json!({ "text": "in a meeting" })),
        )
        .await
        .expect("status")
        .expect(200);
    cat.event("status:update", WAIT).await.expect("status");
    let ack = ann.request("presence:setAway", json!({ "workspaceId": w.ws })).await.expect("ack");
    assert_eq!(ack["ok"], true, "{ack}");
    cat.event("presence:update", WAIT).await.expect("presence");
    w.api.patch(&format!("/api/workspaces/{}", w.ws), &w.ann.token, json!({ "name": "Renamed" })).await.expect(200);
    cat.event("workspace:updated", WAIT).await.expect("workspace update");
    seen.extend(["profile:update", "status:update", "presence:update", "workspace:updated"]);
    let got = drain(&mut bob).await;
    assert_nothing_of(&got, &seen, "workspace");
    for p in [Place::Public, Place::Private, Place::Group] {
        assert_unreadable(&w, p, &w.bob).await;
    }
    let api = &w.api;
    api.get(&format!("/api/workspaces/{}/search?q=reply", w.ws), &w.bob.token).await.expect_error(404, "NOT_FOUND");
    api.get(&format!("/api/workspaces/{}/conversations", w.ws), &w.bob.token).await.expect_error(404, "NOT_FOUND");
    api.get(&format!("/api/workspaces/{}/channels", w.ws), &w.bob.token).await.expect_error(404, "NOT_FOUND");
    // The others keep the conversation, and still see who it was with.
    let convs = api.get(&format!("/api/workspaces/{}/conversations", w.ws), &w.cat.token).await.expect(200);
    let c = convs["conversations"].as_array().expect("list").iter().find(|c| c["id"] == w.group.as_str()).expect("kept").clone();
    assert!(c["participantIds"].as_array().expect("ids").iter().any(|u| u == w.bob.id.as_str()), "{c}");
    w.t.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_removed_from_a_granted_channel_stays_out() {
    let t = stack().await;
    let r = room(&t.api()).await;
    let api = &r.api;
    let until = (chrono::Utc::now() + chrono::Duration::days(7)).to_rfc3339();
    let inv = api
        .post(&format!("/api/workspaces/{}/guest-invites", r.ws), &r.ann.token, json!({ "channelIds": [r.channel], "expiresAt": until }))
        .await
        .expect(201);
    let gus = api.sign_up("Gus").await.expect("gus");
    api.post(&format!("/api/invites/{}/accept", inv["token"].as_str().expect("token")), &gus.token, json!({})).await.expect(200);
    let history = format!("/api/channels/{}/messages", r.channel);
    api.get(&history, &gus.token).await.expect(200);
    api.delete(&format!("/api/channels/{}/members/{}", r.channel, gus.id), &r.ann.token).await.expect(200);
    // Every later read answers 404, and the channel is not listed: the grant
    // is not applied a second time.
    api.get(&history, &gus.token).await.expect_error(404, "NOT_FOUND");
    api.get(&format!("/api/channels/{}", r.channel), &gus.token).await.expect_error(404, "NOT_FOUND");
    let list = api.get(&format!("/api/workspaces/{}/channels", r.ws), &gus.token).await.expect(200);
    assert_eq!(list["channels"].as_array().map(Vec::len), Some(0), "{list}");
    api.get(&history, &gus.token).await.expect_error(404, "NOT_FOUND");
    let mut sock = Socket::connect(&t.base, &gus.token).await.expect("socket");
    api.post(&history, &r.ann.token, json!({ "content": "not for guests any more" })).await.expect(201);
    sock.expect_no_event("message:new", QUIET).await.expect("no events");
    t.stop().await.expect("stop");
}

/// Every list answers for any content the API accepts: 30 messages of
/// 40,000 four-byte characters (4.8 MB) make one page of history, a thread,
/// the pins and the bookmarks; threads, pins and bookmarks are paged.
#[tokio::test(flavor = "multi_thread")]
async fn pages_of_the_largest_messages_are_readable() {
    let t = stack().await;
    let r = room(&t.api()).await;
    let api = &r.api;
    let big = "😀".repeat(40_000);
    let post = format!("/api/channels/{}/messages", r.channel);
    let parent = api.post(&post, &r.ann.token, json!({ "content": "thread" })).await.expect(201)["id"].as_str().expect("id").to_owned();
    let mut ids = Vec::new();
    for i in 0..30 {
        let body = if i % 2 == 0 { json!({ "content": big, "parentId": parent }) } else { json!({ "content": big }) };
        let m = api.post(&post, &r.ann.token, body).await.expect(201);
        ids.push(m["id"].as_str().expect("id").to_owned());
    }
    for id in &ids {
        api.post(&format!("/api/channels/{}/pins", r.channel), &r.bob.token, json!({ "messageId": id, "pinned": true })).await.expect(200);
    }
    let page = api.get(&format!("{post}?limit=50"), &r.bob.token).await.expect(200);
    assert_eq!(page["messages"].as_array().map(Vec::len), Some(31));
    assert_eq!(page["messages"][1]["content"].as_str().map(|c| c.chars().count()), Some(40_000));

    // The thread, ten at a time, oldest first.
    let mut replies = Vec::new();
    let mut after = 0;
    loop {
        let p = api.get(&format!("/api/messages/{parent}/replies?limit=10&after={after}"), &r.bob.token).await.expect(200);
        let got = p["messages"].as_array().expect("messages").clone();
        after = got.last().and_then(|m| m["sequence"].as_i64()).unwrap_or(after);
        replies.extend(got);
        if p["hasMore"] != true {
            break;
        }
    }
    assert_eq!(replies.len(), 15);
    assert!(replies.windows(2).all(|w| w[0]["sequence"].as_i64() < w[1]["sequence"].as_i64()), "oldest first, no repeat");

    // Pins, twelve at a time, most recently pinned first.
    let mut pinned: Vec<String> = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let q = before.as_ref().map(|b| format!("&before={b}")).unwrap_or_default();
        let p = api.get(&format!("/api/channels/{}/pins?limit=12{q}", r.channel), &r.bob.token).await.expect(200);
        let got: Vec<String> = p["messages"].as_array().expect("m").iter().map(|m| m["id"].as_str().expect("id").to_owned()).collect();
        before = got.last().cloned();
        pinned.extend(got);
        if p["hasMore"] != true {
            break;
        }
    }
    let mut expected = ids.clone();
    expected.reverse();
    assert_eq!(pinned, expected, "every pin once, most recent first");
    api.get(&format!("/api/channels/{}/pins?limit=500", r.channel), &r.bob.token).await.expect_error(400, "VALIDATION_ERROR");
    api.get(&format!("/api/messages/{parent}/replies?limit=500"), &r.bob.token).await.expect_error(400, "VALIDATION_ERROR");
    // Bookmarks (each carries its message), twelve at a time, newest first.
    let mut marks = Vec::new();
    for id in &ids {
        let b = api.post("/api/bookmarks", &r.bob.token, json!({ "messageId": id })).await;
        assert!(b.status.is_success(), "{:?}", b.body);
        marks.push(b.body["id"].as_str().expect("id").to_owned());
    }
    let mut listed: Vec<String> = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let q = before.as_ref().map(|b| format!("&before={b}")).unwrap_or_default();
        let p = api.get(&format!("/api/bookmarks?workspaceId={}&limit=12{q}", r.ws), &r.bob.token).await.expect(200);
        let got: Vec<String> = p["bookmarks"].as_array().expect("b").iter().map(|b| b["id"].as_str().expect("id").to_owned()).collect();
        assert!(p["bookmarks"][0]["message"]["content"].is_string());
        before = got.last().cloned();
        listed.extend(got);
        if p["hasMore"] != true {
            break;
        }
    }
    marks.reverse();
    assert_eq!(listed, marks, "every bookmark once, newest first");
    let search = api.get(&format!("/api/workspaces/{}/search?q=%F0%9F%98%80&limit=100", r.ws), &r.bob.token).await;
    assert_eq!(search.status.as_u16(), 200, "search over the largest messages answers");
    t.stop().await.expect("stop");
}
