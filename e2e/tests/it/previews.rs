//! Link previews: fetched by svc-files without ever reaching what it must
//! not (SSRF), delivered to exactly who may see the message. A local HTTP
//! server records every request it gets.

use std::time::Duration;

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_preview_reaches_exactly_who_sees_the_message() {
    let (port, seen) = recorder().await;
    let t = TestStack::start(StackOptions { env: vec![("LINK_PREVIEW_ALLOWED_HOSTS".into(), "127.0.0.1".into())], ..Default::default() })
        .await
        .expect("stack");
    let api = t.api();
    let r = room(&api).await;
    let eve = api.sign_up("Eve").await.expect("eve");
    let secret = api
        .post(&format!("/api/workspaces/{}/channels", r.ws), &r.ann.token, json!({ "name": "secret", "isPrivate": true }))
        .await
        .expect(201);
    let mut bob = Socket::connect(&t.base, &r.bob.token).await.expect("bob");
    let mut eve_socket = Socket::connect(&t.base, &eve.token).await.expect("eve");

    let link = format!("http://127.0.0.1:{port}/page");
    let sent = api
        .post(&format!("/api/channels/{}/messages", r.channel), &r.ann.token, json!({ "content": format!("notes: {link}.") }))
        .await
        .expect(201);
    let ready = bob.event("linkPreview:ready", Duration::from_secs(10)).await.expect("linkPreview:ready");
    assert_eq!(ready["messageId"], sent["id"]);
    assert_eq!(ready["channelId"], r.channel.as_str());
    assert_eq!((ready["preview"]["url"].as_str(), ready["preview"]["title"].as_str()), (Some(link.as_str()), Some("Release notes")));
    assert_eq!(ready["preview"]["description"], "What changed in 2.0");
    eve_socket.expect_no_event("linkPreview:ready", QUIET).await.expect("an outsider hears nothing");
    let page = api.get(&format!("/api/channels/{}/messages", r.channel), &r.bob.token).await.expect(200);
    let last = page["messages"].as_array().and_then(|m| m.last()).cloned().expect("a message");
    assert_eq!(last["linkPreviews"][0]["title"], "Release notes", "history carries it");

    // Edited to drop the link, the message drops its preview.
    let mid = sent["id"].as_str().expect("id");
    let edited = api.patch(&format!("/api/messages/{mid}"), &r.ann.token, json!({ "content": "notes: gone" })).await.expect(200);
    assert_eq!(edited["linkPreviews"], json!([]));

    // In a private channel Bob is not in, he hears nothing of its previews.
    api.post(&format!("/api/channels/{}/messages", secret["id"].as_str().expect("id")), &r.ann.token, json!({ "content": link }))
        .await
        .expect(201);
    bob.expect_no_event("linkPreview:ready", Duration::from_secs(2)).await.expect("not for bob");
    assert_eq!(seen.lock().map(|l| l.iter().filter(|p| *p == "/page").count()).unwrap_or(0), 1, "the second is served from the cache");

    // A redirect to a host that is not allowed is not followed.
    api.post(&format!("/api/channels/{}/messages", r.channel), &r.ann.token, json!({ "content": format!("http://127.0.0.1:{port}/hop") }))
        .await
        .expect(201);
    bob.expect_no_event("linkPreview:ready", Duration::from_secs(2)).await.expect("no preview");
    let paths = seen.lock().map(|l| l.clone()).unwrap_or_default();
    assert!(paths.contains(&"/hop".to_owned()));
    assert!(!paths.contains(&"/secret".to_owned()), "the redirect target was never contacted: {paths:?}");
    t.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_internal_is_ever_contacted() {
    let (port, seen) = recorder().await;
    let t = stack().await;
    let api = t.api();
    let r = room(&api).await;
    let mut bob = Socket::connect(&t.base, &r.bob.token).await.expect("bob");
    for link in [
        format!("http://127.0.0.1:{port}/page"),
        format!("http://localhost:{port}/page"),
        format!("http://[::1]:{port}/page"),
        format!("http://2130706433:{port}/page"),
        format!("http://0x7f.0.0.1:{port}/page"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://127.0.0.1/page".to_owned(),
        "http://[::ffff:127.0.0.1]/page".to_owned(),
    ] {
        api.post(&format!("/api/channels/{}/messages", r.channel), &r.ann.token, json!({ "content": format!("see {link}") }))
            .await
            .expect(201);
    }
    bob.expect_no_event("linkPreview:ready", Duration::from_secs(3)).await.expect("no preview of anything internal");
    assert_eq!(seen.lock().map(|l| l.len()).unwrap_or(99), 0, "the local server got no request at all");
    t.stop().await.expect("stop");
}
