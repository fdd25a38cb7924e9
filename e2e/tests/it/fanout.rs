//! Several gateway replicas: with Redis, a message sent through one gateway
//! reaches a socket on another.

use std::sync::Arc;

use tokio::net::TcpListener;

use crate::support::*;

/// Another gateway process in front of the same services, with its own
/// Redis subscription: its URL, how to stop it, and its task.
async fn second_gateway(t: &TestStack) -> (String, Arc<tokio::sync::Notify>, tokio::task::JoinHandle<anyhow::Result<()>>) {
    let mut env = ocomms_runtime::config::Env::from_map(t.env.clone());
    let mut config = ocomms_gateway::Config::from_env(&mut env);
    env.finish().expect("config");
    let url = |name: &str| format!("http://{}", t.service(name));
    config.services = ocomms_gateway::config::ServiceUrls {
        auth: url("auth"),
        messaging: url("messaging"),
        presence: url("presence"),
        files: url("files"),
        scheduler: url("scheduler"),
        notify: url("notify"),
    };
    let bus = ocomms_runtime::events::Bus::redis(&t.env["REDIS_URL"], &t.env["REDIS_PREFIX"]).await.expect("redis");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let second = format!("http://{}", listener.local_addr().expect("addr"));
    let stop = Arc::new(tokio::sync::Notify::new());
    let s2 = stop.clone();
    let gw = tokio::spawn(ocomms_gateway::serve(config, bus, listener, async move { s2.notified().await }));
    (second, stop, gw)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_sent_through_one_gateway_reaches_a_socket_on_another() {
    let t = TestStack::start(StackOptions { redis: true, ..Default::default() }).await.expect("stack");
    // A second gateway with its own Redis subscription, in front of the same services.
    let (second, stop, gw) = second_gateway(&t).await;

    let r = room(&t.api()).await;
    let mut bob_on_second = Socket::connect(&second, &r.bob.token).await.expect("socket on gateway 2");
    let mut ann_on_first = Socket::connect(&t.base, &r.ann.token).await.expect("socket on gateway 1");
    let ack = ann_on_first.request("message:send", json!({ "channelId": r.channel, "content": "across gateways" })).await.expect("ack");
    assert_eq!(ack["ok"], true);
    let got = bob_on_second.event("message:new", WAIT).await.expect("delivered through Redis");
    assert_eq!(got["message"]["id"], ack["data"]["id"]);
    // Exactly once per socket, even with two gateways subscribed.
    bob_on_second.expect_no_event("message:new", QUIET).await.expect("no duplicate");
    assert_eq!(ann_on_first.event("message:new", WAIT).await.expect("own echo")["message"]["id"], ack["data"]["id"]);
    ann_on_first.expect_no_event("message:new", QUIET).await.expect("no duplicate");

    // And the other way round, through REST on the second gateway.
    Api::new(&second).post(&format!("/api/channels/{}/messages", r.channel), &r.bob.token, json!({ "content": "back" })).await.expect(201);
    assert_eq!(ann_on_first.event("message:new", WAIT).await.expect("delivered")["message"]["content"], "back");
    stop.notify_one();
    gw.await.expect("joined").expect("second gateway stops cleanly");
    t.stop().await.expect("stops");
}

/// The resume protocol (see the OpenAPI `x-websocket.resume`): a client on
/// a gateway that goes away reconnects to another and loses nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_client_resumes_without_gap_or_duplicate_after_its_gateway_stops() {
    let t = TestStack::start(StackOptions { redis: true, ..Default::default() }).await.expect("stack");
    let (second, stop, gw) = second_gateway(&t).await;

    let r = room(&t.api()).await;
    let path = format!("/api/channels/{}/messages", r.channel);
    let mut bob = Socket::connect(&second, &r.bob.token).await.expect("bob on gateway 2");
    for i in 1..=3 {
        r.api.post(&path, &r.ann.token, json!({ "content": format!("m{i}") })).await.expect(201);
    }
    let mut last = 0;
    for _ in 0..3 {
        last = bob.event("message:new", WAIT).await.expect("live")["message"]["sequence"].as_i64().expect("seq");
    }
    assert_eq!(last, 3);

    // Gateway 2 goes away; messages keep coming through gateway 1.
    stop.notify_one();
    gw.await.expect("joined").expect("stopped cleanly");
    drop(bob);
    for i in 4..=9 {
        r.api.post(&path, &r.ann.token, json!({ "content": format!("m{i}") })).await.expect(201);
    }
    // Reconnect (to gateway 1) first, then page from the last sequence applied.
    let mut bob = Socket::connect(&t.base, &r.bob.token).await.expect("bob on gateway 1");
    let sender = {
        let api = r.api.clone();
        let (path, tok) = (path.clone(), r.ann.token.clone());
        tokio::spawn(async move {
            for i in 10..=12 {
                api.post(&path, &tok, json!({ "content": format!("m{i}") })).await.expect(201);
            }
        })
    };
    let mut applied = Vec::new();
    loop {
        let page = r.api.get(&format!("{path}?after={last}&limit=2"), &r.bob.token).await.expect(200);
        for m in page["messages"].as_array().expect("messages") {
            last = m["sequence"].as_i64().expect("seq");
            applied.push(last);
        }
        if page["hasMore"] == false {
            break;
        }
    }
    sender.await.expect("sender");
    // Live events continue; only those past what history gave are applied.
    while last < 12 {
        let seq = bob.event("message:new", WAIT).await.expect("live again")["message"]["sequence"].as_i64().expect("seq");
        if seq > last {
            assert_eq!(seq, last + 1, "live events arrive in order once caught up");
            last = seq;
            applied.push(seq);
        }
    }
    assert_eq!(applied, (4..=12).collect::<Vec<_>>(), "exactly the missed messages, then the new ones: no gap, no duplicate");
    t.stop().await.expect("stops");
}
