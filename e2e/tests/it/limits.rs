//! The seed's rate limits at the gateway: 429 RATE_LIMIT_EXCEEDED with
//! Retry-After, per address for sign-in and sign-up, per account for
//! messages; shared through Redis between gateways.

use ocomms_gateway::ratelimit::{Bucket, Limiter};
use reqwest::Method;

use crate::support::*;

fn limited() -> StackOptions {
    StackOptions { env: vec![("RATE_LIMIT_ENABLED".into(), "true".into())], ..Default::default() }
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_ups_sign_ins_and_messages_are_limited() {
    let t = TestStack::start(limited()).await.expect("stack");
    let api = t.api();
    let ann = api.sign_up("Ann").await.expect("1");
    let bob = api.sign_up("Bob").await.expect("2");
    api.sign_up("Cat").await.expect("3");
    let fourth = api
        .call(
            Method::POST,
            "/api/auth/sign-up/email",
            None,
            Some(json!({ "email": "dan@example.com", "password": "correct horse battery", "name": "Dan" })),
        )
        .await
        .expect("call");
    let retry_header: u64 =
        fourth.headers.get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).expect("Retry-After");
    let body = fourth.expect_error(429, "RATE_LIMIT_EXCEEDED");
    assert_eq!(body["error"]["details"]["retryAfter"].as_u64(), Some(retry_header));
    assert!((1..=60).contains(&retry_header));
    // Dan was not created: nothing happened behind the 429.
    api.call(
        Method::POST,
        "/api/auth/sign-in/email",
        None,
        Some(json!({ "email": "dan@example.com", "password": "correct horse battery" })),
    )
    .await
    .expect("call")
    .expect_error(401, "UNAUTHORIZED");

    // Sign-in: 5 a minute per address (one was just spent).
    for _ in 0..4 {
        api.call(Method::POST, "/api/auth/sign-in/email", None, Some(json!({ "email": ann.email, "password": "correct horse battery" })))
            .await
            .expect("call")
            .expect(200);
    }
    api.call(Method::POST, "/api/auth/sign-in/email", None, Some(json!({ "email": ann.email, "password": "correct horse battery" })))
        .await
        .expect("call")
        .expect_error(429, "RATE_LIMIT_EXCEEDED");

    // Messages: 10 a minute per account, REST and socket together.
    let ws = api.workspace(&ann).await.expect("ws");
    api.invite(&ws, &ann, &bob).await.expect("invite");
    let channel = api.channel(&ws, &ann, "general").await.expect("channel");
    let path = format!("/api/channels/{channel}/messages");
    for i in 0..10 {
        api.post(&path, &ann.token, json!({ "content": format!("m{i}") })).await.expect(201);
    }
    api.post(&path, &ann.token, json!({ "content": "one too many" })).await.expect_error(429, "RATE_LIMIT_EXCEEDED");
    let mut s = Socket::connect(&t.base, &ann.token).await.expect("socket");
    let ack = s.request("message:send", json!({ "channelId": channel, "content": "over the socket" })).await.expect("ack");
    assert_eq!(ack["error"]["code"], "RATE_LIMIT_EXCEEDED");
    // Typing over its limit is dropped silently (seed 5.8).
    let mut dropped = 0;
    for _ in 0..31 {
        let ack = s.request("typing:start", json!({ "channelId": channel })).await.expect("ack");
        assert_eq!(ack["ok"], true, "never an error: {ack}");
        if ack["data"]["dropped"] == true {
            dropped += 1;
        }
    }
    assert_eq!(dropped, 1, "the 31st in a minute is dropped");
    // Another account still has its allowance; reads are not messages.
    api.join(&channel, &bob).await.expect("join");
    api.post(&path, &bob.token, json!({ "content": "hi" })).await.expect(201);
    let page = api.get(&path, &ann.token).await.expect(200);
    assert_eq!(page["messages"].as_array().map(Vec::len), Some(11), "refused sends stored nothing");
    t.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn gateways_share_one_allowance_through_redis() {
    let redis = redis::Client::open(ocomms_runtime::testing::redis_url()).expect("url");
    let prefix = format!("ocomms-rl-{}", uuid::Uuid::new_v4().simple());
    let one = Limiter::redis(redis.get_connection_manager().await.expect("redis"), &prefix);
    let two = Limiter::redis(redis.get_connection_manager().await.expect("redis"), &prefix);
    one.check(Bucket::SignUp, "10.0.0.1").await.expect("1");
    two.check(Bucket::SignUp, "10.0.0.1").await.expect("2");
    one.check(Bucket::SignUp, "10.0.0.1").await.expect("3");
    let e = two.check(Bucket::SignUp, "10.0.0.1").await.expect_err("the fourth, on another gateway");
    assert_eq!(e.code, ocomms_runtime::ErrorCode::RateLimited);
    two.check(Bucket::SignUp, "10.0.0.2").await.expect("another address");
}
