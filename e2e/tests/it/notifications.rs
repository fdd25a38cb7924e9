//! Notifications of every kind, their read state, web push through a push
//! service that checks VAPID and decrypts, and CSP reports.

use std::time::Duration;

use svc_notify::testing::{PushService, vapid_keys};

use crate::support::*;

async fn push_stack() -> (TestStack, PushService) {
    push_stack_with(Vec::new()).await
}

async fn push_stack_with(mut env: Vec<(String, String)>) -> (TestStack, PushService) {
    let (public, private) = vapid_keys();
    let push = PushService::start(&public).await;
    env.extend([
        ("VAPID_PUBLIC_KEY".into(), public),
        ("VAPID_PRIVATE_KEY".into(), private),
        ("VAPID_EMAIL".into(), "ops@example.com".into()),
        ("PUSH_ALLOWED_HOSTS".into(), "127.0.0.1".into()),
    ]);
    let t = TestStack::start(StackOptions { env, ..Default::default() }).await.expect("stack");
    (t, push)
}

/// `ocomms jobs <args>` against the stack: what it printed, or its error.
async fn ocomms_jobs(t: &TestStack, args: &[&str]) -> Result<String, String> {
    let env = ocomms_runtime::config::Env::from_map(t.env.clone());
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let mut out = Vec::new();
    let done = ocomms::jobs::run(&env, &args, &mut out).await;
    let out = String::from_utf8(out).expect("UTF-8");
    match done {
        Ok(()) => Ok(out),
        Err(e) => Err(format!("{e:#}\n{out}")),
    }
}

/// Waits for `n` pushes received by the push service.
async fn pushes(push: &PushService, n: usize) -> Vec<svc_notify::testing::Received> {
    ocomms_runtime::testing::eventually(15, || async { Some(push.received()).filter(|r| r.len() >= n) })
        .await
        .unwrap_or_else(|| panic!("expected {n} pushes, got {:?} (refused: {:?})", push.received(), push.refused()))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mention_reaches_an_inactive_user_by_web_push_encrypted_and_signed() {
    let (t, push) = push_stack().await;
    let api = t.api();
    let r = room(&api).await;
    let key = api.get("/api/push/vapid-public", &r.bob.token).await.expect(200);
    assert_eq!(key["publicKey"].as_str().map(str::len), Some(87), "65 bytes, base64url: {key}");

    // Bad subscriptions are refused and change nothing.
    let browser = push.subscribe();
    for (bad, why) in [
        (json!({ "subscription": { "endpoint": "https://10.0.0.1/push/x", "keys": browser.json()["keys"] } }), "private address"),
        (json!({ "subscription": { "endpoint": "http://push.example.com/x", "keys": browser.json()["keys"] } }), "plain http"),
        (json!({ "subscription": { "endpoint": browser.endpoint, "keys": { "p256dh": "AAAA", "auth": browser.auth } } }), "bad key"),
        (json!({ "subscription": { "endpoint": browser.endpoint, "keys": { "p256dh": browser.p256dh, "auth": "AAAA" } } }), "bad auth"),
        (json!({ "subscription": { "endpoint": "not a url", "keys": browser.json()["keys"] } }), "not a URL"),
        (json!({ "subscription": { "endpoint": "https://push.example.com:8443/x", "keys": browser.json()["keys"] } }), "not port 443"),
        (json!({ "subscription": { "endpoint": "https://u:p@push.example.com/x", "keys": browser.json()["keys"] } }), "credentials"),
    ] {
        let e = api.post("/api/push/subscribe", &r.bob.token, bad).await.expect_error(400, "VALIDATION_ERROR");
        assert!(e["error"]["message"].is_string(), "{why}: {e}");
    }
    api.call(reqwest::Method::POST, "/api/push/subscribe", None, Some(json!({ "subscription": browser.json() })))
        .await
        .expect("call")
        .expect_error(401, "UNAUTHORIZED");
    api.post("/api/push/subscribe", &r.bob.token, json!({ "subscription": browser.json() })).await.expect(200);
    // Ann cannot take Bob's endpoint over with keys of her own.
    let other_keys = push.subscribe().json()["keys"].clone();
    api.post("/api/push/subscribe", &r.ann.token, json!({ "subscription": { "endpoint": browser.endpoint, "keys": other_keys } }))
        .await
        .expect_error(409, "CONFLICT");

    // Bob has no socket: a mention is pushed, signed with our VAPID key and
    // decrypted by the push service with the browser's private key.
    api.post(&format!("/api/channels/{}/messages", r.channel), &r.ann.token, json!({ "content": "@bob the build is green" }))
        .await
        .expect(201);
    let got = pushes(&push, 1).await;
    assert!(push.refused().is_empty(), "{:?}", push.refused());
    let p = &got[0].payload;
    assert_eq!(p["type"], "mention");
    assert_eq!(p["title"], "Ann mentioned you in #general");
    assert_eq!(p["body"], "@bob the build is green");
    assert_eq!(p["data"]["channelId"], r.channel.as_str());
    let list = api.get("/api/notifications", &r.bob.token).await.expect(200);
    assert_eq!(p["notificationId"], list["notifications"][0]["id"]);
    assert_eq!(got[0].topic.as_deref(), list["notifications"][0]["id"].as_str().map(|s| s.replace('-', "")).as_deref());

    // While Bob is active in the workspace his open client shows it: no push.
    let mut sock = Socket::connect(&t.base, &r.bob.token).await.expect("socket");
    sock.request("presence:setActive", json!({ "workspaceId": r.ws })).await.expect("active");
    api.post(&format!("/api/channels/{}/messages", r.channel), &r.ann.token, json!({ "content": "@bob you're here" })).await.expect(201);
    sock.event("notification:new", WAIT).await.expect("live instead");
    let notify_db = t.env.get("NOTIFY_DATABASE_URL").expect("db").clone();
    // Its push job is done (skipped) before Bob goes away.
    let settled = ocomms_runtime::testing::eventually(15, || {
        let url = notify_db.clone();
        async move {
            let jobs = count(&url, "SELECT count(*) AS n FROM outbox WHERE routing_key = 'notify.push'").await;
            let done = count(&url, "SELECT count(*) AS n FROM processed_events WHERE event_id LIKE 'notify:%'").await;
            (jobs == 2 && done == 2).then_some(())
        }
    })
    .await;
    assert!(settled.is_some(), "two push jobs, both done");
    // Then away: pushed again.
    sock.request("presence:setAway", json!({ "workspaceId": r.ws })).await.expect("away");
    api.post(&format!("/api/channels/{}/messages", r.channel), &r.ann.token, json!({ "content": "@bob are you there?" })).await.expect(201);
    let got = pushes(&push, 2).await;
    assert_eq!(got.len(), 2, "nothing pushed while active: {got:?}");
    assert_eq!(got[1].payload["body"], "@bob are you there?");

    // A push service that is down for a while: retried until it takes it.
    push.fail(&browser.id, 2);
    api.post(&format!("/api/channels/{}/messages", r.channel), &r.ann.token, json!({ "content": "@bob third" })).await.expect(201);
    let got = pushes(&push, 3).await;
    assert_eq!(got[2].payload["body"], "@bob third");

    // The browser unsubscribed at the push service (410): the subscription
    // is deleted, so later notifications are not sent there at all.
    push.expire(&browser.id);
    api.post(&format!("/api/channels/{}/messages", r.channel), &r.ann.token, json!({ "content": "@bob fourth" })).await.expect(201);
    let left = ocomms_runtime::testing::eventually(15, || {
        let url = notify_db.clone();
        async move {
            let n = count(&url, "SELECT count(*) AS n FROM push_subscriptions").await;
            (n == 0).then_some(n)
        }
    })
    .await;
    assert_eq!(left, Some(0), "the gone subscription was deleted");
    assert_eq!(push.received().len(), 3);

    // Unsubscribing removes it; unsubscribing again is fine.
    let second = push.subscribe();
    api.post("/api/push/subscribe", &r.bob.token, json!({ "subscription": second.json() })).await.expect(200);
    assert_eq!(count(&notify_db, "SELECT count(*) AS n FROM push_subscriptions").await, 1);
    api.post("/api/push/unsubscribe", &r.bob.token, json!({ "endpoint": second.endpoint })).await.expect(200);
    api.post("/api/push/unsubscribe", &r.bob.token, json!({ "endpoint": second.endpoint })).await.expect(200);
    assert_eq!(count(&notify_db, "SELECT count(*) AS n FROM push_subscriptions").await, 0);
    sock.close().await;
    t.stop().await.expect("stop");
}

async fn count(url: &str, sql: &str) -> i64 {
    use diesel_async::{AsyncConnection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = diesel_async::AsyncPgConnection::establish(url).await.expect("db");
    diesel::sql_query(sql).get_result::<N>(&mut conn).await.expect("count").n
}

#[tokio::test(flavor = "multi_thread")]
async fn thread_replies_and_dms_notify_and_read_state_follows_the_user() {
    let t = stack().await;
    let api = t.api();
    let r = room(&api).await;
    // Without VAPID keys push is off, and says so.
    api.get("/api/push/vapid-public", &r.bob.token).await.expect_error(404, "NOT_FOUND");
    let keys = svc_notify::testing::PushService::start("unused").await.subscribe().json()["keys"].clone();
    let sub = json!({ "subscription": { "endpoint": "https://push.example.com/x", "keys": keys } });
    api.post("/api/push/subscribe", &r.bob.token, sub).await.expect_error(404, "NOT_FOUND");

    let mut bob_a = Socket::connect(&t.base, &r.bob.token).await.expect("socket");
    let mut bob_b = Socket::connect(&t.base, &r.bob.token).await.expect("socket");
    // Bob starts a thread; Ann's reply notifies him (thread_reply).
    let parent = api.post(&format!("/api/channels/{}/messages", r.channel), &r.bob.token, json!({ "content": "lunch?" })).await.expect(201);
    api.post(&format!("/api/channels/{}/messages", r.channel), &r.ann.token, json!({ "content": "yes", "parentId": parent["id"] }))
        .await
        .expect(201);
    let n = bob_a.event("notification:new", Duration::from_secs(10)).await.expect("thread reply");
    assert_eq!(n["notification"]["type"], "thread_reply");
    assert_eq!(n["notification"]["title"], "Ann replied to a thread in #general");
    // Ann, who only replied, hears of Bob's answer in the thread too.
    api.post(&format!("/api/channels/{}/messages", r.channel), &r.bob.token, json!({ "content": "great", "parentId": parent["id"] }))
        .await
        .expect(201);
    let ann_has = ocomms_runtime::testing::eventually(10, || async {
        let l = api.get("/api/notifications", &r.ann.token).await.expect(200);
        (l["notifications"].as_array().map(Vec::len) == Some(1)).then_some(l)
    })
    .await
    .expect("ann notified");
    assert_eq!(ann_has["notifications"][0]["type"], "thread_reply");

    // A DM notifies the other member.
    let dm = api.post(&format!("/api/workspaces/{}/conversations", r.ws), &r.ann.token, json!({ "userIds": [r.bob.id] })).await.expect(200);
    api.post(&format!("/api/conversations/{}/messages", dm["id"].as_str().expect("id")), &r.ann.token, json!({ "content": "psst" }))
        .await
        .expect(201);
    let n = bob_a.event("notification:new", Duration::from_secs(10)).await.expect("dm");
    assert_eq!(n["notification"]["type"], "dm");
    assert_eq!(n["notification"]["title"], "Ann sent you a message");
    assert_eq!(n["notification"]["body"], "psst");

    // Unread count; one read: the other socket hears; then all read.
    let list = api.get("/api/notifications?unreadOnly=true", &r.bob.token).await.expect(200);
    assert_eq!(list["unreadCount"], 2);
    let first = list["notifications"][0]["id"].as_str().expect("id").to_owned();
    api.post(&format!("/api/notifications/{first}/read"), &r.bob.token, json!({})).await.expect(200);
    let ev = bob_b.event("notification:read", WAIT).await.expect("other socket");
    assert_eq!(ev["notificationId"], first.as_str());
    assert_eq!(api.get("/api/notifications", &r.bob.token).await.expect(200)["unreadCount"], 1);
    assert_eq!(api.post("/api/notifications/read-all", &r.bob.token, json!({})).await.expect(200)["updated"], 1);
    assert_eq!(bob_b.event("notification:read", WAIT).await.expect("all")["allRead"], true);
    let list = api.get("/api/notifications", &r.bob.token).await.expect(200);
    assert_eq!((list["unreadCount"].as_i64(), list["notifications"].as_array().map(Vec::len)), (Some(0), Some(2)));
    assert_eq!(api.post("/api/notifications/read-all", &r.bob.token, json!({})).await.expect(200)["updated"], 0);
    // Ann's notifications are hers alone.
    assert_eq!(api.get("/api/notifications", &r.ann.token).await.expect(200)["unreadCount"], 1);
    bob_a.close().await;
    bob_b.close().await;
    t.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread")]
async fn csp_reports_are_accepted_in_both_shapes_counted_and_bad_ones_refused() {
    let t = stack().await;
    let api = t.api();
    let post = |ct: &'static str, body: Vec<u8>| {
        let api = api.clone();
        async move { api.http.post(format!("{}/api/csp-report", api.base)).header("content-type", ct).body(body).send().await.expect("send") }
    };
    let old = json!({ "csp-report": { "document-uri": "http://localhost:3000/w/1?token=secret", "violated-directive": "script-src", "blocked-uri": "inline" } });
    assert_eq!(post("application/csp-report", old.to_string().into_bytes()).await.status(), 204);
    let new = json!([{ "type": "csp-violation", "body": { "documentURL": "http://localhost:3000/", "effectiveDirective": "img-src", "blockedURL": "https://evil.example/x.png" } }]);
    assert_eq!(post("application/reports+json", new.to_string().into_bytes()).await.status(), 204);
    assert_eq!(post("text/plain", b"{}".to_vec()).await.status(), 400);
    assert_eq!(post("application/csp-report", b"not json".to_vec()).await.status(), 400);
    assert_eq!(post("application/csp-report", vec![b' '; 20 * 1024]).await.status(), 400);
    assert_eq!(post("application/csp-report", b"{\"other\":1}".to_vec()).await.status(), 400);
    let metrics = api.http.get(format!("{}/metrics", api.base)).send().await.expect("metrics").text().await.expect("text");
    assert!(metrics.contains("ocomms_csp_reports_total 2"), "{metrics}");
    t.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_push_that_keeps_failing_rests_dead_until_the_operator_sends_it_again() {
    let (t, push) = push_stack_with(vec![("JOB_MAX_ATTEMPTS".into(), "3".into())]).await;
    let api = t.api();
    let r = room(&api).await;
    let browser = push.subscribe();
    api.post("/api/push/subscribe", &r.bob.token, json!({ "subscription": browser.json() })).await.expect(200);
    assert_eq!(ocomms_jobs(&t, &["dead"]).await.expect("dead"), "no dead jobs\n");

    // The push service is down for longer than the job's two attempts.
    push.fail(&browser.id, 3);
    api.post(&format!("/api/channels/{}/messages", r.channel), &r.ann.token, json!({ "content": "@bob the deploy failed" }))
        .await
        .expect(201);
    let listed =
        ocomms_runtime::testing::eventually(20, || async { ocomms_jobs(&t, &["dead", "--json"]).await.ok().filter(|o| !o.is_empty()) })
            .await
            .expect("the push job gave up and is listed");
    let dead: Vec<serde_json::Value> = listed.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    let dead: Vec<&serde_json::Value> = dead.iter().filter(|d| d["key"] == "notify.push").collect();
    assert_eq!(dead.len(), 1, "{listed}");
    let d = dead[0];
    assert_eq!((d["service"].as_str(), d["key"].as_str(), d["failures"].as_i64()), (Some("notify"), Some("notify.push"), Some(3)), "{d}");
    assert!(d["lastError"].as_str().is_some_and(|e| e.contains("answered 503")), "{d}");
    assert!(d["queue"].as_str().is_some_and(|q| q.ends_with(".notify.push")), "{d}");
    let id = d["jobId"].as_str().expect("job id").to_owned();
    let text = ocomms_jobs(&t, &["dead"]).await.expect("dead");
    assert!(
        text.contains(&id) && text.contains("after 3 attempts: the push service answered 503") && text.ends_with("1 dead job\n"),
        "{text}"
    );
    assert!(push.received().is_empty());
    // One service's database at a time.
    assert!(ocomms_jobs(&t, &["dead", "--service", "notify"]).await.expect("notify").contains(&id));
    assert_eq!(ocomms_jobs(&t, &["dead", "--service", "auth"]).await.expect("auth"), "no dead jobs\n");

    // Bad requests change nothing.
    assert!(ocomms_jobs(&t, &["dead", "--service", "mail"]).await.expect_err("no such service").contains("--service takes"));
    let e = ocomms_jobs(&t, &["retry", "notify:nope"]).await.expect_err("unknown id");
    assert!(e.contains("no dead job notify:nope"), "{e}");
    assert!(ocomms_jobs(&t, &["retry"]).await.expect_err("no id").contains("unknown arguments"));
    assert!(ocomms_jobs(&t, &["discard", "--everything"]).await.expect_err("bad flag").contains("unknown arguments"));
    assert!(ocomms_jobs(&t, &["dead"]).await.expect("dead").ends_with("1 dead job\n"));

    // The push service is back: the operator sends the job again, and Bob
    // gets his push (once).
    let out = ocomms_jobs(&t, &["retry", &id]).await.expect("retry");
    assert_eq!(out, format!("{id}: sent back (notify)\n"));
    let got = pushes(&push, 1).await;
    assert_eq!(got[0].payload["body"], "@bob the deploy failed");
    assert_eq!(ocomms_jobs(&t, &["dead"]).await.expect("dead"), "no dead jobs\n");
    assert!(ocomms_jobs(&t, &["discard", &id]).await.expect_err("gone").contains("no dead job"));
    assert_eq!(ocomms_jobs(&t, &["retry", "--all"]).await.expect("all"), "no dead jobs\n");

    // Another one dies; the operator gives up on every dead job at once.
    push.fail(&browser.id, 3);
    api.post(&format!("/api/channels/{}/messages", r.channel), &r.ann.token, json!({ "content": "@bob never mind" })).await.expect(201);
    let listed = ocomms_runtime::testing::eventually(20, || async {
        ocomms_jobs(&t, &["dead", "--json"]).await.ok().filter(|o| o.contains("notify.push"))
    })
    .await
    .expect("the second push job gave up");
    let second: serde_json::Value = serde_json::from_str(listed.lines().next().expect("a line")).expect("JSON");
    let second = second["jobId"].as_str().expect("id");
    assert_ne!(second, id);
    assert_eq!(ocomms_jobs(&t, &["discard", "--all"]).await.expect("discard all"), format!("{second}: discarded (notify)\n"));
    assert_eq!(ocomms_jobs(&t, &["dead"]).await.expect("dead"), "no dead jobs\n");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(push.received().len(), 1, "pushed once, and the discarded one never");
    t.stop().await.expect("stop");
}
