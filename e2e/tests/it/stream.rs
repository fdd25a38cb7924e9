//! The real-time stream over gRPC on the gateway's port
//! (`ocomms.gateway.v1.EventsService/Subscribe`): what the caller's
//! WebSocket receives, resumable by sequence, over HTTP/2 gRPC and gRPC-web.

use ocomms_proto::gateway::v1::events_service_client::EventsServiceClient;
use ocomms_proto::gateway::v1::{Event, Resume, SubscribeRequest};
use serde_json::Value;

use crate::support::*;

fn subscribe_request(token: Option<&str>, resume: Vec<Resume>) -> tonic::Request<SubscribeRequest> {
    let mut req = tonic::Request::new(SubscribeRequest { resume });
    if let Some(t) = token {
        req.metadata_mut().insert("authorization", format!("Bearer {t}").parse().expect("header"));
    }
    req
}

fn resume_channel(channel: &str, after: i64) -> Resume {
    Resume { channel_id: Some(channel.to_owned()), conversation_id: None, after_sequence: after }
}

async fn next(stream: &mut tonic::Streaming<Event>) -> Result<(String, Value), tonic::Status> {
    let e = tokio::time::timeout(WAIT, stream.message()).await.expect("an event in time")?.expect("the stream goes on");
    Ok((e.event, serde_json::from_str(&e.data).expect("JSON data")))
}

/// The next event named `name`, skipping others (presence and the like).
async fn next_named(stream: &mut tonic::Streaming<Event>, name: &str) -> Value {
    loop {
        let (event, data) = next(stream).await.expect("no error");
        if event == name {
            return data;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_grpc_stream_replays_what_was_missed_then_delivers_what_the_socket_does() {
    let t = stack().await;
    let api = t.api();
    let r = room(&api).await;
    let msgs = format!("/api/channels/{}/messages", r.channel);
    for i in 1..=3 {
        api.post(&msgs, &r.ann.token, json!({ "content": format!("m{i}") })).await.expect(201);
    }
    let channel = tonic::transport::Endpoint::from_shared(t.base.clone()).expect("url").connect().await.expect("HTTP/2 to the gateway");
    let mut client = EventsServiceClient::new(channel);

    // Bob's tool had applied sequence 1: it gets 2 and 3, in order, first.
    let mut stream = client
        .subscribe(subscribe_request(Some(&r.bob.token), vec![resume_channel(&r.channel, 1)]))
        .await
        .expect("subscribed")
        .into_inner();
    for want in [2, 3] {
        let (event, data) = next(&mut stream).await.expect("replayed");
        assert_eq!(event, "message:new");
        assert_eq!(data["message"]["sequence"], want);
        assert_eq!(data["channel"]["id"], r.channel.as_str());
    }
    // Then live, exactly as Bob's socket sees it, and once.
    let mut socket = Socket::connect(&t.base, &r.bob.token).await.expect("socket");
    api.post(&msgs, &r.ann.token, json!({ "content": "m4" })).await.expect(201);
    let live = next_named(&mut stream, "message:new").await;
    assert_eq!(live["message"]["sequence"], 4);
    assert_eq!(live, socket.event("message:new", WAIT).await.expect("socket"), "the socket's payload");
    let edit = api
        .patch(&format!("/api/messages/{}", live["message"]["id"].as_str().expect("id")), &r.ann.token, json!({ "content": "m4!" }))
        .await;
    edit.expect(200);
    assert_eq!(next_named(&mut stream, "message:edited").await["message"]["content"], "m4!");

    // A second subscription resuming at 3 while messages keep coming sees
    // each sequence once, in order.
    let mut again =
        client.subscribe(subscribe_request(Some(&r.bob.token), vec![resume_channel(&r.channel, 3)])).await.expect("again").into_inner();
    api.post(&msgs, &r.ann.token, json!({ "content": "m5" })).await.expect(201);
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let data = next_named(&mut again, "message:new").await;
        seen.push(data["message"]["sequence"].as_i64().expect("seq"));
    }
    assert_eq!(seen, vec![4, 5]);

    // Signing out ends both streams: UNAVAILABLE, resubscribe needed (and refused).
    api.post("/api/auth/sign-out", &r.bob.token, json!({})).await.expect(200);
    let ended = loop {
        match tokio::time::timeout(WAIT, stream.message()).await.expect("ends in time") {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("ended without a status"),
            Err(status) => break status,
        }
    };
    assert_eq!(ended.code(), tonic::Code::Unavailable, "{ended:?}");
    let refused = client.subscribe(subscribe_request(Some(&r.bob.token), vec![])).await.expect_err("signed out");
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    t.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_grpc_stream_refuses_what_the_caller_may_not_see_and_bad_requests() {
    let t = stack().await;
    let api = t.api();
    let r = room(&api).await;
    let cat = api.sign_up("Cat").await.expect("cat");
    let channel = tonic::transport::Endpoint::from_shared(t.base.clone()).expect("url").connect().await.expect("HTTP/2");
    let mut client = EventsServiceClient::new(channel);
    let status = client.subscribe(subscribe_request(None, vec![])).await.expect_err("no token");
    assert_eq!(status.code(), tonic::Code::Unauthenticated);
    // Cat is not in the workspace: its channel does not exist for her.
    let mut s =
        client.subscribe(subscribe_request(Some(&cat.token), vec![resume_channel(&r.channel, 0)])).await.expect("call").into_inner();
    let err = tokio::time::timeout(WAIT, s.message()).await.expect("in time").expect_err("not visible");
    assert_eq!(err.code(), tonic::Code::NotFound, "{err:?}");
    let both = Resume { channel_id: Some(r.channel.clone()), conversation_id: Some(r.channel.clone()), after_sequence: 0 };
    let err = client.subscribe(subscribe_request(Some(&r.bob.token), vec![both])).await.expect_err("one place per entry");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    let err = client.subscribe(subscribe_request(Some(&r.bob.token), vec![resume_channel(&r.channel, -1)])).await.expect_err("negative");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    t.stop().await.expect("stops");
}

/// gRPC-web (HTTP/1.1, as a browser sends it): the same stream.
#[tokio::test(flavor = "multi_thread")]
async fn the_grpc_stream_speaks_grpc_web() {
    use prost::Message;
    let t = stack().await;
    let api = t.api();
    let r = room(&api).await;
    let msgs = format!("/api/channels/{}/messages", r.channel);
    api.post(&msgs, &r.ann.token, json!({ "content": "before" })).await.expect(201);
    let body = SubscribeRequest { resume: vec![resume_channel(&r.channel, 0)] }.encode_to_vec();
    let mut framed = vec![0u8];
    framed.extend((body.len() as u32).to_be_bytes());
    framed.extend(body);
    let resp = reqwest::Client::new()
        .post(format!("{}/ocomms.gateway.v1.EventsService/Subscribe", t.base))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .bearer_auth(&r.bob.token)
        .body(framed)
        .send();
    let mut resp = tokio::time::timeout(WAIT, resp).await.expect("headers in time").expect("call");
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.headers()["content-type"].to_str().expect("ct").starts_with("application/grpc-web"));
    let mut buf: Vec<u8> = Vec::new();
    let mut events: Vec<Event> = Vec::new();
    let mut posted = false;
    while events.iter().filter(|e| e.event == "message:new").count() < 2 {
        let chunk = tokio::time::timeout(WAIT, resp.chunk()).await.expect("a chunk in time").expect("body").expect("not ended");
        buf.extend_from_slice(&chunk);
        while buf.len() >= 5 {
            let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
            if buf.len() < 5 + len {
                break;
            }
            let payload: Vec<u8> = buf[5..5 + len].to_vec();
            assert_eq!(buf[0] & 0x80, 0, "a data frame, not trailers: {}", String::from_utf8_lossy(&payload));
            buf.drain(..5 + len);
            events.push(Event::decode(payload.as_slice()).expect("an Event"));
        }
        if !events.is_empty() && !posted {
            api.post(&msgs, &r.ann.token, json!({ "content": "after" })).await.expect(201);
            posted = true;
        }
    }
    let contents: Vec<Value> = events
        .iter()
        .filter(|e| e.event == "message:new")
        .map(|e| serde_json::from_str::<Value>(&e.data).expect("json")["message"]["content"].clone())
        .collect();
    assert_eq!(contents, vec![json!("before"), json!("after")], "replayed, then live");
    // The gateway stopping ends the stream (its graceful shutdown would
    // otherwise wait for it): the trailers say UNAVAILABLE.
    let stopped = tokio::spawn(t.stop());
    let mut rest = Vec::new();
    while let Ok(Some(chunk)) = tokio::time::timeout(WAIT, resp.chunk()).await.expect("ends in time") {
        rest.extend_from_slice(&chunk);
    }
    let tail = String::from_utf8_lossy(&rest).to_string();
    assert!(tail.contains("grpc-status:14"), "{tail:?}");
    stopped.await.expect("joined").expect("stops");
}

/// A conversation named in any spelling of its id, and named twice, is
/// replayed once, and its live messages are not sent again.
#[tokio::test(flavor = "multi_thread")]
async fn a_conversation_resumes_once_whatever_the_spelling_of_its_id() {
    let t = stack().await;
    let api = t.api();
    let r = room(&api).await;
    let dm = api.post(&format!("/api/workspaces/{}/conversations", r.ws), &r.ann.token, json!({ "userIds": [r.bob.id] })).await.expect(200);
    let id = dm["id"].as_str().expect("id").to_owned();
    let msgs = format!("/api/conversations/{id}/messages");
    api.post(&msgs, &r.ann.token, json!({ "content": "one" })).await.expect(201);
    let channel = tonic::transport::Endpoint::from_shared(t.base.clone()).expect("url").connect().await.expect("HTTP/2");
    let mut client = EventsServiceClient::new(channel);
    let loud = Resume { channel_id: None, conversation_id: Some(id.to_uppercase()), after_sequence: 0 };
    let plain = Resume { channel_id: None, conversation_id: Some(id.clone()), after_sequence: 0 };
    let mut stream = client.subscribe(subscribe_request(Some(&r.bob.token), vec![loud, plain])).await.expect("subscribed").into_inner();
    let first = next_named(&mut stream, "message:new").await;
    assert_eq!((first["message"]["sequence"].as_i64(), first["conversation"]["id"].as_str()), (Some(1), Some(id.as_str())));
    api.post(&msgs, &r.ann.token, json!({ "content": "two" })).await.expect(201);
    let second = next_named(&mut stream, "message:new").await;
    assert_eq!(second["message"]["content"], "two", "one replayed once, then the live one");
    let extra = tokio::time::timeout(QUIET, async {
        loop {
            if let Ok(Some(e)) = stream.message().await
                && e.event == "message:new"
            {
                return e;
            }
        }
    })
    .await;
    assert!(extra.is_err(), "nothing twice: {extra:?}");
    t.stop().await.expect("stops");
}
