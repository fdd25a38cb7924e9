//! The first real slice: two people, one channel, messages live and in
//! history; nobody else hears a thing.

use std::collections::BTreeSet;

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_message_travels_live_to_members_and_nobody_else() {
    let t = stack().await;
    let api = t.api();
    let r = room(&api).await;
    // Cat is in the workspace but not the channel; Eve is in another workspace.
    let cat = api.sign_up("Cat").await.expect("cat");
    api.invite(&r.ws, &r.ann, &cat).await.expect("invite cat");
    let eve = api.sign_up("Eve").await.expect("eve");
    let eve_ws = api.workspace(&eve).await.expect("eve ws");
    api.channel(&eve_ws, &eve, "general").await.expect("eve channel");

    let mut ann = Socket::connect(&t.base, &r.ann.token).await.expect("ann socket");
    let mut bob = Socket::connect(&t.base, &r.bob.token).await.expect("bob socket");
    let mut cat_ws = Socket::connect(&t.base, &cat.token).await.expect("cat socket");
    let mut eve_sock = Socket::connect(&t.base, &eve.token).await.expect("eve socket");

    // Over the socket, with an ack.
    let ack = ann.request("message:send", json!({ "channelId": r.channel, "content": "hello **team**" })).await.expect("ack");
    assert_eq!(ack["ok"], true, "{ack}");
    assert_eq!(ack["data"]["sequence"], 1);
    let got = bob.event("message:new", WAIT).await.expect("bob hears it");
    assert_eq!(got["message"]["id"], ack["data"]["id"]);
    assert_eq!(got["message"]["content"], "hello **team**");
    assert_eq!(got["channel"]["id"], r.channel);
    assert_eq!(got["channel"]["name"], "general");
    // The sender's own other tabs hear it too.
    assert_eq!(ann.event("message:new", WAIT).await.expect("echo")["message"]["sequence"], 1);

    // Over REST.
    let sent = api.post(&format!("/api/channels/{}/messages", r.channel), &r.bob.token, json!({ "content": "hi Ann" })).await.expect(201);
    assert_eq!(sent["sequence"], 2);
    assert_eq!(ann.event("message:new", WAIT).await.expect("ann hears it")["message"]["content"], "hi Ann");

    cat_ws.expect_no_event("message:new", QUIET).await.expect("cat hears nothing");
    eve_sock.expect_no_event("message:new", QUIET).await.expect("eve hears nothing");

    // Cat joins: from now on Cat hears the channel, without reconnecting.
    api.join(&r.channel, &cat).await.expect("cat joins");
    api.post(&format!("/api/channels/{}/messages", r.channel), &r.ann.token, json!({ "content": "welcome Cat" })).await.expect(201);
    assert_eq!(cat_ws.event("message:new", WAIT).await.expect("cat hears it")["message"]["sequence"], 3);

    // History: the same three messages, in order.
    let page = api.get(&format!("/api/channels/{}/messages", r.channel), &cat.token).await.expect(200);
    let seqs: Vec<i64> = page["messages"].as_array().expect("array").iter().map(|m| m["sequence"].as_i64().expect("seq")).collect();
    assert_eq!(seqs, vec![1, 2, 3]);
    assert_eq!(page["hasMore"], false);
    t.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn history_pages_backwards_and_forwards_by_sequence() {
    let t = stack().await;
    let r = room(&t.api()).await;
    let path = format!("/api/channels/{}/messages", r.channel);
    for i in 1..=30 {
        r.api.post(&path, &r.ann.token, json!({ "content": format!("m{i}") })).await.expect(201);
    }
    let latest = r.api.get(&format!("{path}?limit=10"), &r.bob.token).await.expect(200);
    assert_eq!(latest["messages"][0]["sequence"], 21);
    assert_eq!(latest["messages"][9]["sequence"], 30);
    assert_eq!(latest["hasMore"], true);
    let back = r.api.get(&format!("{path}?before=21&limit=15"), &r.bob.token).await.expect(200);
    assert_eq!(back["messages"][0]["sequence"], 6);
    assert_eq!(back["messages"][14]["sequence"], 20);
    // Resume after a disconnect: everything after the last sequence seen, in order.
    let mut seen = Vec::new();
    let mut after = 12;
    loop {
        let page = r.api.get(&format!("{path}?after={after}&limit=7"), &r.bob.token).await.expect(200);
        for m in page["messages"].as_array().expect("array") {
            seen.push(m["sequence"].as_i64().expect("seq"));
        }
        after = *seen.last().expect("some");
        if page["hasMore"] == false {
            break;
        }
    }
    assert_eq!(seen, (13..=30).collect::<Vec<_>>());
    r.api.get(&format!("{path}?limit=201"), &r.bob.token).await.expect_error(400, "VALIDATION_ERROR");
    r.api.get(&format!("{path}?before=abc"), &r.bob.token).await.expect_error(400, "VALIDATION_ERROR");
    t.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_send_creates_one_message_and_one_event() {
    let t = stack().await;
    let r = room(&t.api()).await;
    let mut bob = Socket::connect(&t.base, &r.bob.token).await.expect("socket");
    let mut ann = Socket::connect(&t.base, &r.ann.token).await.expect("socket");
    let body = json!({ "channelId": r.channel, "content": "exactly once", "clientMsgId": "retry-me" });
    let first = ann.request("message:send", body.clone()).await.expect("first");
    let second = ann.request("message:send", body.clone()).await.expect("retry");
    let third = r.api.post(&format!("/api/channels/{}/messages", r.channel), &r.ann.token, body).await.expect(201);
    assert_eq!(first["data"]["id"], second["data"]["id"]);
    assert_eq!(first["data"]["id"], third["id"]);
    bob.event("message:new", WAIT).await.expect("one event");
    bob.expect_no_event("message:new", QUIET).await.expect("not two");
    let page = r.api.get(&format!("/api/channels/{}/messages", r.channel), &r.bob.token).await.expect(200);
    assert_eq!(page["messages"].as_array().map(Vec::len), Some(1));
    t.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_senders_keep_sequences_gap_free_and_every_event_arrives() {
    let t = stack().await;
    let r = room(&t.api()).await;
    let mut watcher = Socket::connect(&t.base, &r.bob.token).await.expect("socket");
    let senders = (0..8).map(|i| {
        let api = r.api.clone();
        let user = if i % 2 == 0 { r.ann.clone() } else { r.bob.clone() };
        let channel = r.channel.clone();
        let base = t.base.clone();
        tokio::spawn(async move {
            let mut seqs = Vec::new();
            if i < 4 {
                for j in 0..20 {
                    let m = api
                        .post(&format!("/api/channels/{channel}/messages"), &user.token, json!({ "content": format!("{i}/{j}") }))
                        .await
                        .expect(201);
                    seqs.push(m["sequence"].as_i64().expect("seq"));
                }
            } else {
                let mut s = Socket::connect(&base, &user.token).await.expect("socket");
                for j in 0..20 {
                    let ack = s.request("message:send", json!({ "channelId": channel, "content": format!("{i}/{j}") })).await.expect("ack");
                    assert_eq!(ack["ok"], true, "{ack}");
                    seqs.push(ack["data"]["sequence"].as_i64().expect("seq"));
                }
            }
            seqs
        })
    });
    let mut all = Vec::new();
    for s in futures_util::future::join_all(senders).await {
        all.extend(s.expect("sender"));
    }
    all.sort_unstable();
    assert_eq!(all, (1..=160).collect::<Vec<_>>(), "gap-free, no duplicates");
    let mut delivered = BTreeSet::new();
    while delivered.len() < 160 {
        let ev = watcher.event("message:new", WAIT).await.expect("every event arrives");
        assert!(delivered.insert(ev["message"]["sequence"].as_i64().expect("seq")), "duplicate delivery");
    }
    watcher.expect_no_event("message:new", QUIET).await.expect("nothing extra");
    t.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn typing_indicators_reach_the_other_members_only() {
    let t = stack().await;
    let r = room(&t.api()).await;
    let outsider = r.api.sign_up("Otto").await.expect("otto");
    r.api.invite(&r.ws, &r.ann, &outsider).await.expect("invite");
    let mut ann = Socket::connect(&t.base, &r.ann.token).await.expect("socket");
    let mut bob = Socket::connect(&t.base, &r.bob.token).await.expect("socket");
    let mut otto = Socket::connect(&t.base, &outsider.token).await.expect("socket");
    let ack = ann.request("typing:start", json!({ "channelId": r.channel })).await.expect("ack");
    assert_eq!(ack["ok"], true, "{ack}");
    let ev = bob.event("typing:update", WAIT).await.expect("bob sees it");
    assert_eq!(
        (ev["userId"].as_str(), ev["isTyping"].as_bool(), ev["channelId"].as_str()),
        (Some(r.ann.id.as_str()), Some(true), Some(r.channel.as_str()))
    );
    ann.request("typing:stop", json!({ "channelId": r.channel })).await.expect("ack");
    assert_eq!(bob.event("typing:update", WAIT).await.expect("stop")["isTyping"], false);
    ann.expect_no_event("typing:update", QUIET).await.expect("not to oneself");
    otto.expect_no_event("typing:update", QUIET).await.expect("not outside the channel");
    let denied = otto.request("typing:start", json!({ "channelId": r.channel })).await.expect("ack");
    assert_eq!(denied["error"]["code"], "FORBIDDEN", "typing needs membership");
    t.stop().await.expect("stops");
}
