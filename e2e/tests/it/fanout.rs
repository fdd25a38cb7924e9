//! Several gateway replicas: with Redis, a message sent through one gateway
//! reaches a socket on another.

use std::sync::Arc;

use tokio::net::TcpListener;

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_message_sent_through_one_gateway_reaches_a_socket_on_another() {
    let t = TestStack::start(StackOptions { redis: true, ..Default::default() }).await.expect("stack");
    // A second gateway with its own Redis subscription, in front of the same services.
    let mut env = ocomms_runtime::config::Env::from_map(t.env.clone());
    let mut config = ocomms_gateway::Config::from_env(&mut env);
    env.finish().expect("config");
    config.services = ocomms_gateway::config::ServiceUrls {
        auth: format!("http://{}", t.service("auth")),
        messaging: format!("http://{}", t.service("messaging")),
        presence: format!("http://{}", t.service("presence")),
        files: format!("http://{}", t.service("files")),
        scheduler: format!("http://{}", t.service("scheduler")),
        notify: format!("http://{}", t.service("notify")),
    };
    let bus = ocomms_runtime::events::Bus::redis(&t.env["REDIS_URL"], &t.env["REDIS_PREFIX"]).await.expect("redis");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let second = format!("http://{}", listener.local_addr().expect("addr"));
    let stop = Arc::new(tokio::sync::Notify::new());
    let s2 = stop.clone();
    let gw = tokio::spawn(ocomms_gateway::serve(config, bus, listener, async move { s2.notified().await }));

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
