//! Past what the server can do, sends are refused at once (503
//! SERVICE_UNAVAILABLE with Retry-After over REST, the same error in a
//! socket's ack) instead of queued, and a refused send changes nothing.

use std::collections::HashMap;

use reqwest::Method;

use crate::support::*;

/// A service takes `GRPC_MAX_IN_FLIGHT` calls at once (4 here); a burst of
/// sends beyond it gets some 503s with `Retry-After`. Retried with the same
/// `clientMsgId` as told, every message lands exactly once, with gap-free
/// sequences: nothing of a refused send happened.
#[tokio::test(flavor = "multi_thread")]
async fn a_burst_past_the_servers_limit_is_refused_with_503_and_retry_after_and_retries_land_once() {
    let t =
        TestStack::start(StackOptions { env: vec![("GRPC_MAX_IN_FLIGHT".into(), "4".into())], ..Default::default() }).await.expect("stack");
    let api = t.api();
    let r = room(&api).await;
    let path = format!("/api/channels/{}/messages", r.channel);
    // Every id sent, and whether its send was refused.
    let mut answers: HashMap<String, bool> = HashMap::new();
    let mut refused_seen = 0;
    let mut bursts = 0;
    // Bursts of 40 at once until one was refused (the first nearly always).
    while refused_seen == 0 && bursts < 5 {
        let ids: Vec<String> = (0..40).map(|i| format!("b{bursts}-m{i}")).collect();
        let sent =
            futures_util::future::join_all(ids.iter().map(|id| {
                let (api, path, token) = (&api, &path, &r.ann.token);
                async move {
                    api.call(Method::POST, path, Some(token), Some(json!({ "content": id, "clientMsgId": id }))).await.expect("answered")
                }
            }))
            .await;
        for (id, resp) in ids.into_iter().zip(sent) {
            let refused = match resp.status.as_u16() {
                201 => false,
                503 => {
                    refused_seen += 1;
                    assert_eq!(resp.headers.get("retry-after").and_then(|v| v.to_str().ok()), Some("1"), "told when to retry");
                    let body = resp.expect_error(503, "SERVICE_UNAVAILABLE");
                    assert_eq!(body["error"]["details"]["retryAfter"], 1);
                    true
                }
                other => panic!("a send answered {other}: {}", resp.body),
            };
            answers.insert(id, refused);
        }
        bursts += 1;
    }
    assert!(refused_seen > 0, "bursts of 40 sends past a limit of 4 calls in flight were never refused");
    // Refused by the services' limit (counted), not by anything slower.
    let metrics = api.http.get(format!("{}/metrics", t.base)).send().await.expect("metrics").text().await.expect("text");
    let refused_total: f64 = metrics
        .lines()
        .filter(|l| l.starts_with("ocomms_grpc_refused_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(refused_total >= 1.0, "ocomms_grpc_refused_total counts the refusals: {refused_total}");

    // Retry what was refused (one at a time, as a client told to wait would).
    let refused: Vec<String> = answers.iter().filter(|(_, refused)| **refused).map(|(id, _)| id.clone()).collect();
    for id in &refused {
        api.post(&path, &r.ann.token, json!({ "content": id, "clientMsgId": id })).await.expect(201);
    }
    let page = api.get(&format!("{path}?after=0&limit=200"), &r.ann.token).await.expect(200);
    let messages = page["messages"].as_array().expect("messages");
    let mut contents: Vec<&str> = messages.iter().filter_map(|m| m["content"].as_str()).collect();
    contents.sort_unstable();
    let mut sent: Vec<&str> = answers.keys().map(String::as_str).collect();
    sent.sort_unstable();
    assert_eq!(contents, sent, "every message exactly once, refused ones included after their retry");
    let sequences: Vec<i64> = messages.iter().filter_map(|m| m["sequence"].as_i64()).collect();
    assert_eq!(sequences, (1..=sent.len() as i64).collect::<Vec<_>>(), "a refused send took no sequence");
    t.stop().await.expect("stops");
}

/// A socket holds at most 64 frames in flight, and a place at most 4 whose
/// oldest is over 0.25 s old; 200 sends written back to back into one
/// channel (each waits for the one before) get some refused in their acks
/// (SERVICE_UNAVAILABLE, retryAfter), every frame gets exactly one ack, and
/// the accepted ones land in the order written.
#[tokio::test(flavor = "multi_thread")]
async fn a_socket_refuses_frames_past_its_backlog_and_keeps_the_accepted_ones_in_order() {
    let t = stack().await;
    let api = t.api();
    let r = room(&api).await;
    let mut ann = Socket::connect(&t.base, &r.ann.token).await.expect("ann");
    for i in 0..200 {
        let frame = json!({ "event": "message:send", "data": { "channelId": r.channel, "content": format!("m{i}") }, "ack": i });
        ann.send_raw(&frame.to_string()).await.expect("write");
    }
    let mut acked: HashMap<i64, bool> = HashMap::new();
    while acked.len() < 200 {
        let f = ann.next_frame(WAIT).await.expect("frame").expect("answered in time");
        let Some(a) = f["ack"].as_i64() else { continue };
        let ok = f["ok"] == true;
        if !ok {
            assert_eq!(f["error"]["code"], "SERVICE_UNAVAILABLE", "{f}");
            assert_eq!(f["error"]["details"]["retryAfter"], 1, "{f}");
        }
        assert!(acked.insert(a, ok).is_none(), "ack {a} twice");
    }
    let refused = acked.values().filter(|ok| !**ok).count();
    assert!(refused > 0, "200 sends in one place written at once were all taken");
    let page = api.get(&format!("/api/channels/{}/messages?after=0&limit=200", r.channel), &r.ann.token).await.expect(200);
    let contents: Vec<&str> = page["messages"].as_array().expect("messages").iter().filter_map(|m| m["content"].as_str()).collect();
    let accepted: Vec<String> = (0..200).filter(|i| acked[i]).map(|i| format!("m{i}")).collect();
    assert_eq!(contents, accepted, "exactly the accepted sends, in the order written");
    t.stop().await.expect("stops");
}
