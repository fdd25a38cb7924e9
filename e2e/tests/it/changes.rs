//! Catching up after a long absence: new messages by sequence, changes to
//! older ones by the change feed; the client ends with exactly the server's
//! state.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::support::*;

/// Every message of a channel a member can read, by sequence.
async fn history(api: &Api, token: &str, channel: &str, after: i64) -> BTreeMap<i64, Value> {
    let mut out = BTreeMap::new();
    let mut after = after;
    loop {
        let page = api.get(&format!("/api/channels/{channel}/messages?after={after}&limit=200"), token).await.expect(200);
        for m in page["messages"].as_array().expect("messages") {
            let seq = m["sequence"].as_i64().expect("sequence");
            after = after.max(seq);
            out.insert(seq, m.clone());
        }
        if page["hasMore"] != true {
            return out;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_away_for_long_catches_up_on_new_messages_and_changes_exactly() {
    let t = stack().await;
    let api = t.api();
    let r = room(&api).await;
    let ch = r.channel.clone();
    let post = |token: String, body: Value| {
        let (api, ch) = (api.clone(), ch.clone());
        async move { api.post(&format!("/api/channels/{ch}/messages"), &token, body).await.expect(201)["id"].as_str().expect("id").to_owned() }
    };
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(post(r.ann.token.clone(), json!({ "content": format!("message {i}") })).await);
    }
    // Bob's client loads the channel: its history and the current change version.
    let mut local = history(&api, &r.bob.token, &ch, 0).await;
    let start = api.get(&format!("/api/channels/{ch}/changes"), &r.bob.token).await.expect(200);
    assert_eq!((start["messages"].clone(), start["hasMore"].clone()), (json!([]), json!(false)));
    let mut version = start["version"].as_i64().expect("version");

    // Bob is away. Meanwhile: edits, a deletion, reactions (one undone), a
    // pin, a thread reply, new messages.
    api.patch(&format!("/api/messages/{}", ids[0]), &r.ann.token, json!({ "content": "message 0, edited" })).await.expect(200);
    api.delete(&format!("/api/messages/{}", ids[1]), &r.ann.token).await.expect(200);
    api.post(&format!("/api/messages/{}/reactions", ids[2]), &r.ann.token, json!({ "emoji": "👍" })).await.expect(200);
    api.post(&format!("/api/messages/{}/reactions", ids[2]), &r.bob.token, json!({ "emoji": "🎉" })).await.expect(200);
    for _ in 0..2 {
        api.post(&format!("/api/messages/{}/reactions", ids[3]), &r.ann.token, json!({ "emoji": "👀" })).await.expect(200);
    }
    api.post(&format!("/api/channels/{ch}/pins"), &r.ann.token, json!({ "messageId": ids[4], "pinned": true })).await.expect(200);
    post(r.ann.token.clone(), json!({ "content": "a reply", "parentId": ids[5] })).await;
    api.patch(&format!("/api/messages/{}", ids[0]), &r.ann.token, json!({ "content": "message 0, edited twice" })).await.expect(200);
    for i in 6..9 {
        post(r.ann.token.clone(), json!({ "content": format!("message {i}") })).await;
    }

    // Back: new messages by sequence, then the changes, two at a time.
    let last = local.keys().last().copied().unwrap_or_default();
    local.extend(history(&api, &r.bob.token, &ch, last).await);
    let mut changed = Vec::new();
    loop {
        let page = api.get(&format!("/api/channels/{ch}/changes?since={version}&limit=2"), &r.bob.token).await.expect(200);
        for m in page["messages"].as_array().expect("messages") {
            changed.push(m["id"].as_str().expect("id").to_owned());
            local.insert(m["sequence"].as_i64().expect("sequence"), m.clone());
        }
        let next = page["version"].as_i64().expect("version");
        assert!(next > version || page["hasMore"] == false, "the version moves on while more follow");
        version = next;
        if page["hasMore"] != true {
            break;
        }
    }
    // Exactly the server's state.
    assert_eq!(local, history(&api, &r.bob.token, &ch, 0).await);
    // Each changed message once, in its latest state, the twice-edited one last.
    let distinct: BTreeSet<&String> = changed.iter().collect();
    assert_eq!(distinct.len(), changed.len(), "no message twice: {changed:?}");
    assert_eq!(distinct, ids[..6].iter().collect::<BTreeSet<_>>());
    assert_eq!(changed.last(), Some(&ids[0]));
    let zero = local.values().find(|m| m["id"] == ids[0].as_str()).expect("message 0");
    assert_eq!(zero["content"], "message 0, edited twice");
    assert!(local.values().any(|m| m["id"] == ids[1].as_str() && m["isDeleted"] == true));

    // Nothing new: an empty page at the same version.
    let again = api.get(&format!("/api/channels/{ch}/changes?since={version}"), &r.bob.token).await.expect(200);
    assert_eq!((again["messages"].clone(), again["version"].as_i64()), (json!([]), Some(version)));
    // Conversations have the feed too; outsiders and bad input do not get in.
    let dm = api.post(&format!("/api/workspaces/{}/conversations", r.ws), &r.ann.token, json!({ "userIds": [r.bob.id] })).await.expect(200);
    let dm_id = dm["id"].as_str().expect("id");
    let m = api.post(&format!("/api/conversations/{dm_id}/messages"), &r.ann.token, json!({ "content": "hi" })).await.expect(201);
    api.patch(&format!("/api/messages/{}", m["id"].as_str().expect("id")), &r.ann.token, json!({ "content": "hi there" }))
        .await
        .expect(200);
    let feed = api.get(&format!("/api/conversations/{dm_id}/changes?since=0"), &r.bob.token).await.expect(200);
    assert_eq!(feed["messages"][0]["content"], "hi there");
    let cat = api.sign_up("Cat").await.expect("cat");
    api.get(&format!("/api/channels/{ch}/changes?since=0"), &cat.token).await.expect_error(404, "NOT_FOUND");
    api.get(&format!("/api/conversations/{dm_id}/changes"), &cat.token).await.expect_error(404, "NOT_FOUND");
    api.get(&format!("/api/channels/{ch}/changes?since=-1"), &r.bob.token).await.expect_error(400, "VALIDATION_ERROR");
    // A version this place never had (a restored backup): reload, not silence.
    let ahead = api.get(&format!("/api/channels/{ch}/changes?since={}", version + 1000), &r.bob.token).await.expect_error(409, "CONFLICT");
    assert_eq!(ahead["error"]["details"]["version"].as_i64(), Some(version));
    api.get(&format!("/api/channels/{ch}/changes?since=x"), &r.bob.token).await.expect_error(400, "VALIDATION_ERROR");
    api.get(&format!("/api/channels/{ch}/changes?limit=500"), &r.bob.token).await.expect_error(400, "VALIDATION_ERROR");
    t.stop().await.expect("stop");
}
