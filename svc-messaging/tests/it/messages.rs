use std::collections::BTreeSet;
use std::time::Duration;

use ocomms_proto::messaging::v1 as pb;

use crate::helpers::*;

async fn setup() -> (App, String, String, pb::Channel) {
    let app = app().await;
    let (_, ann) = user(&app, "ann").await;
    let (_, bob) = user(&app, "bob").await;
    let ws = workspace(&app, &ann).await;
    invite(&app, &ws, &ann, &bob).await;
    let general = channel(&app, &ann, &ws, "general", false).await;
    app.client.clone().join_channel(authed(&bob, pb::JoinChannelRequest { channel_id: general.id.clone() })).await.expect("join");
    (app, ann, bob, general)
}

#[tokio::test(flavor = "multi_thread")]
async fn sequences_count_up_and_history_pages_both_ways() {
    let (app, ann, _, general) = setup().await;
    let mut c = app.client.clone();
    for i in 1..=25 {
        let m = c.send_message(authed(&ann, send_req(&general.id, &format!("m{i}")))).await.expect("send").into_inner();
        assert_eq!(m.sequence, i);
    }
    let latest = c.list_messages(authed(&ann, history_req(&general.id, None, None, Some(10)))).await.expect("latest").into_inner();
    assert_eq!(latest.messages.iter().map(|m| m.sequence).collect::<Vec<_>>(), (16..=25).collect::<Vec<_>>());
    assert!(latest.has_more);
    let older = c.list_messages(authed(&ann, history_req(&general.id, Some(16), None, Some(10)))).await.expect("before").into_inner();
    assert_eq!(older.messages.first().map(|m| m.sequence), Some(6));
    assert_eq!(older.messages.last().map(|m| m.sequence), Some(15));
    let oldest = c.list_messages(authed(&ann, history_req(&general.id, Some(6), None, Some(10)))).await.expect("before").into_inner();
    assert_eq!(oldest.messages.len(), 5);
    assert!(!oldest.has_more);
    let after = c.list_messages(authed(&ann, history_req(&general.id, None, Some(20), Some(3)))).await.expect("after").into_inner();
    assert_eq!(after.messages.iter().map(|m| m.content.as_str()).collect::<Vec<_>>(), vec!["m21", "m22", "m23"]);
    assert!(after.has_more);
    let err = c.list_messages(authed(&ann, history_req(&general.id, Some(5), Some(1), None))).await.expect_err("both");
    assert_eq!(code(&err), "VALIDATION_ERROR");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retried_send_returns_the_first_message() {
    let (app, ann, _, general) = setup().await;
    let mut c = app.client.clone();
    let mut req = send_req(&general.id, "once");
    req.client_msg_id = Some("client-1".into());
    let first = c.send_message(authed(&ann, req.clone())).await.expect("first").into_inner();
    let again = c.send_message(authed(&ann, req.clone())).await.expect("retry").into_inner();
    assert_eq!(first.id, again.id);
    // Racing retries of one send also end as one message.
    let mut race = req.clone();
    race.client_msg_id = Some("client-2".into());
    let sends = (0..8).map(|_| {
        let mut c = c.clone();
        let r = authed(&ann, race.clone());
        async move { c.send_message(r).await.map(|m| m.into_inner().id) }
    });
    let ids: BTreeSet<String> = futures_util::future::join_all(sends).await.into_iter().map(|r| r.expect("each retry succeeds")).collect();
    assert_eq!(ids.len(), 1);
    let page = c.list_messages(authed(&ann, history_req(&general.id, None, Some(0), None))).await.expect("history").into_inner();
    assert_eq!(page.messages.iter().map(|m| m.sequence).collect::<Vec<_>>(), vec![1, 2], "two sends, two messages, no gap");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_senders_get_gap_free_sequences() {
    let (app, ann, bob, general) = setup().await;
    let senders = (0..8).map(|i| {
        let mut c = app.client.clone();
        let token = if i % 2 == 0 { ann.clone() } else { bob.clone() };
        let channel = general.id.clone();
        tokio::spawn(async move {
            let mut seqs = Vec::new();
            for j in 0..20 {
                let m = c.send_message(authed(&token, send_req(&channel, &format!("s{i}-{j}")))).await.expect("send").into_inner();
                seqs.push(m.sequence);
            }
            seqs
        })
    });
    let mut all: Vec<i64> = Vec::new();
    for s in futures_util::future::join_all(senders).await {
        all.extend(s.expect("sender"));
    }
    all.sort_unstable();
    assert_eq!(all, (1..=160).collect::<Vec<_>>());
    let mut c = app.client.clone();
    let mut seen = Vec::new();
    let mut after = 0;
    loop {
        let page = c.list_messages(authed(&bob, history_req(&general.id, None, Some(after), Some(200)))).await.expect("page").into_inner();
        seen.extend(page.messages.iter().map(|m| m.sequence));
        after = seen.last().copied().unwrap_or(after);
        if !page.has_more {
            break;
        }
    }
    assert_eq!(seen, (1..=160).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_messages_are_refused_and_change_nothing() {
    let (app, ann, _, general) = setup().await;
    let mut c = app.client.clone();
    for (content, parent) in
        [("   ", None), (&*"x".repeat(40_001), None), ("ok", Some("not-an-id".to_owned())), ("ok", Some(uuid::Uuid::now_v7().to_string()))]
    {
        let mut req = send_req(&general.id, content);
        req.parent_id = parent;
        let err = c.send_message(authed(&ann, req)).await.expect_err("refused");
        assert_eq!(code(&err), "VALIDATION_ERROR");
    }
    let got = c.get_channel(authed(&ann, pb::GetChannelRequest { channel_id: general.id.clone() })).await.expect("get").into_inner();
    assert_eq!(got.last_sequence, 0);
    let m = c.send_message(authed(&ann, send_req(&general.id, "first"))).await.expect("send").into_inner();
    assert_eq!(m.sequence, 1, "failed sends gave their sequence back");
}

#[tokio::test(flavor = "multi_thread")]
async fn thread_replies_count_on_their_parent() {
    let (app, ann, bob, general) = setup().await;
    let mut c = app.client.clone();
    let parent = c.send_message(authed(&ann, send_req(&general.id, "question"))).await.expect("parent").into_inner();
    let mut reply = send_req(&general.id, "answer");
    reply.parent_id = Some(parent.id.clone());
    let r = c.send_message(authed(&bob, reply)).await.expect("reply").into_inner();
    assert_eq!(r.parent_id.as_deref(), Some(parent.id.as_str()));
    let mut nested = send_req(&general.id, "nested");
    nested.parent_id = Some(r.id.clone());
    assert_eq!(code(&c.send_message(authed(&bob, nested)).await.expect_err("nested")), "VALIDATION_ERROR");
    let page = c.list_messages(authed(&ann, history_req(&general.id, None, None, None))).await.expect("history").into_inner();
    assert_eq!(page.messages[0].reply_count, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn new_messages_are_announced_to_channel_members_only() {
    let app = app().await;
    let (ann_id, ann) = user(&app, "ann").await;
    let (bob_id, bob) = user(&app, "bob").await;
    let (cat_id, cat) = user(&app, "cat").await;
    let ws = workspace(&app, &ann).await;
    invite(&app, &ws, &ann, &bob).await;
    invite(&app, &ws, &ann, &cat).await;
    let general = channel(&app, &ann, &ws, "general", false).await;
    app.client.clone().join_channel(authed(&bob, pb::JoinChannelRequest { channel_id: general.id.clone() })).await.expect("join");
    let mut events = app.bus.subscribe();
    let m = app.client.clone().send_message(authed(&ann, send_req(&general.id, "hello"))).await.expect("send").into_inner();
    let ev = loop {
        let ev = tokio::time::timeout(Duration::from_secs(5), events.recv()).await.expect("in time").expect("event");
        if ev.name == "message:new" {
            break ev;
        }
    };
    assert_eq!(ev.data["message"]["id"], m.id);
    assert_eq!(ev.data["channel"]["id"], general.id);
    let ocomms_runtime::events::Audience::Users(to) = &ev.to else { panic!("addressed to users") };
    let to: BTreeSet<String> = to.iter().map(|u| u.to_string()).collect();
    assert_eq!(to, BTreeSet::from([ann_id, bob_id]));
    assert!(!to.contains(&cat_id));
}
