//! Security emails over real SMTP (a server the test runs): invites by
//! email, a lockout, a sign-in from a new device, password resets, and
//! unread mentions and DMs in batches.

use std::time::Duration;

use crate::support::*;

/// A stack sending its email to an SMTP server run by the test, and what
/// that server received.
async fn smtp_stack(mut env: Vec<(String, String)>) -> (TestStack, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let (port, got) = smtp_sink().await;
    env.extend([("SMTP_HOST".to_owned(), "127.0.0.1".to_owned()), ("SMTP_PORT".to_owned(), port.to_string())]);
    let t = TestStack::start(StackOptions { env, ..Default::default() }).await.expect("stack");
    (t, got)
}

#[tokio::test(flavor = "multi_thread")]
async fn invites_lockouts_and_new_devices_are_emailed() {
    let (t, got) = smtp_stack(Vec::new()).await;
    let api = t.api();
    let ann = api.sign_up("Ann").await.expect("ann");
    let ws = api.workspace(&ann).await.expect("workspace");

    // An invite by email reaches that address with its link.
    let invite =
        api.post(&format!("/api/workspaces/{ws}/invites"), &ann.token, json!({ "email": "newcomer@example.com" })).await.expect(201);
    let token = invite["token"].as_str().expect("token").to_owned();
    let mail = mail_matching(&got, |m| m.contains("To: newcomer@example.com")).await.expect("the invite was emailed");
    assert!(mail.contains("invited to"), "{mail}");
    assert!(mail.replace("=\n", "").contains(&token), "the link is in the email");

    // A sign-in from a device the account never used is told; the same one again is not.
    let sign_in = |agent: &'static str| {
        let api = api.clone();
        let email = ann.email.clone();
        async move {
            api.http
                .post(format!("{}/api/auth/sign-in/email", api.base))
                .header("user-agent", agent)
                .json(&json!({ "email": email, "password": "correct horse battery" }))
                .send()
                .await
                .expect("sign in")
                .status()
        }
    };
    assert_eq!(sign_in("TestPhone/1.0 (new device)").await, 200);
    let new = mail_matching(&got, |m| m.contains("New sign-in")).await.expect("a new-device email");
    assert!(new.contains("TestPhone/1.0"), "{new}");
    assert_eq!(sign_in("TestPhone/1.0 (new device)").await, 200);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let count = got.lock().map(|g| g.iter().filter(|m| m.contains("New sign-in")).count()).unwrap_or(0);
    assert_eq!(count, 1, "a known device is not announced again");

    // Five wrong passwords lock the account, and its owner is told.
    for _ in 0..5 {
        api.call(
            reqwest::Method::POST,
            "/api/auth/sign-in/email",
            None,
            Some(json!({ "email": ann.email, "password": "wrong wrong wrong" })),
        )
        .await
        .expect("call");
    }
    let locked = mail_matching(&got, |m| m.contains("was locked")).await.expect("a lockout email");
    assert!(locked.contains(&format!("To: {}", ann.email)), "{locked}");
    t.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forgotten_password_is_reset_from_the_link_in_the_email() {
    let (t, got) = smtp_stack(Vec::new()).await;
    let api = t.api();
    let ann = api.sign_up("Ann").await.expect("ann");
    api.call(reqwest::Method::POST, "/api/auth/forget-password", None, Some(json!({ "email": ann.email })))
        .await
        .expect("call")
        .expect(200);
    let mail = mail_matching(&got, |m| m.contains("reset-password")).await.expect("the reset email");
    let text = mail.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=");
    let token = text
        .split("reset-password?token=")
        .nth(1)
        .map(|rest| rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect::<String>())
        .expect("a link with the token");
    assert!(token.len() >= 20, "{token}");
    api.call(
        reqwest::Method::POST,
        "/api/auth/reset-password",
        None,
        Some(json!({ "token": token, "newPassword": "a brand new passphrase" })),
    )
    .await
    .expect("call")
    .expect(200);
    // The old session ended; the new password works, the old one does not.
    api.get("/api/auth/session", &ann.token).await.expect_error(401, "UNAUTHORIZED");
    let sign_in = |password: &'static str| {
        let (api, email) = (api.clone(), ann.email.clone());
        async move {
            api.call(reqwest::Method::POST, "/api/auth/sign-in/email", None, Some(json!({ "email": email, "password": password })))
                .await
                .expect("call")
        }
    };
    sign_in("a brand new passphrase").await.expect(200);
    sign_in("correct horse battery").await.expect_error(401, "UNAUTHORIZED");
    // The link works once.
    api.call(
        reqwest::Method::POST,
        "/api/auth/reset-password",
        None,
        Some(json!({ "token": token, "newPassword": "yet another passphrase" })),
    )
    .await
    .expect("call")
    .expect_error(400, "VALIDATION_ERROR");
    t.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread")]
async fn unread_mentions_and_dms_are_emailed_in_one_batch_and_read_ones_never() {
    let (t, got) = smtp_stack(vec![("EMAIL_DIGEST_DELAY_SECS".into(), "3".into())]).await;
    let api = t.api();
    let r = room(&api).await;
    let to_bob = |m: &str| m.contains(&format!("To: {}", r.bob.email));
    let unread = |user: &User| {
        let (api, token) = (api.clone(), user.token.clone());
        async move { api.get("/api/notifications?unreadOnly=true", &token).await.expect(200)["notifications"].as_array().map_or(0, Vec::len) }
    };
    assert_eq!(api.get("/api/notifications/email-settings", &r.bob.token).await.expect(200)["digestMinutes"], 15);

    // Read in time: never emailed.
    api.post(&format!("/api/channels/{}/messages", r.channel), &r.ann.token, json!({ "content": "@bob quick one" })).await.expect(201);
    ocomms_runtime::testing::eventually(10, || async { (unread(&r.bob).await == 1).then_some(()) }).await.expect("notified");
    api.post("/api/notifications/read-all", &r.bob.token, json!({})).await.expect(200);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(got.lock().map(|g| !g.iter().any(|m| to_bob(m))).unwrap_or(false), "nothing emailed for what was read");

    // A mention and a DM left unread: one email with both.
    api.post(&format!("/api/channels/{}/messages", r.channel), &r.ann.token, json!({ "content": "@bob the release notes" }))
        .await
        .expect(201);
    let dm = api.post(&format!("/api/workspaces/{}/conversations", r.ws), &r.ann.token, json!({ "userIds": [r.bob.id] })).await.expect(200);
    api.post(
        &format!("/api/conversations/{}/messages", dm["id"].as_str().expect("id")),
        &r.ann.token,
        json!({ "content": "lunch at noon?" }),
    )
    .await
    .expect(201);
    ocomms_runtime::testing::eventually(10, || async { (unread(&r.bob).await == 2).then_some(()) }).await.expect("notified");
    let mail = mail_matching(&got, to_bob).await.expect("emailed");
    let text = mail.replace("=\r\n", "").replace("=\n", "");
    assert!(text.contains("Subject: You have 2 unread messages in OComms"), "{text}");
    assert!(text.contains("Ann mentioned you in #general") && text.contains("@bob the release notes"), "{text}");
    assert!(text.contains("Ann sent you a message") && text.contains("lunch at noon?"), "{text}");

    // Another mention right after: not before Bob's 15 minutes are over.
    api.post(&format!("/api/channels/{}/messages", r.channel), &r.ann.token, json!({ "content": "@bob and one more" })).await.expect(201);
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(got.lock().map(|g| g.iter().filter(|m| to_bob(m)).count()).unwrap_or_default(), 1, "one email per interval");

    // The setting: 0 turns emails off; out of range is refused.
    api.call(reqwest::Method::PUT, "/api/notifications/email-settings", Some(&r.bob.token), Some(json!({ "digestMinutes": 2000 })))
        .await
        .expect("call")
        .expect_error(400, "VALIDATION_ERROR");
    let off = api
        .call(reqwest::Method::PUT, "/api/notifications/email-settings", Some(&r.bob.token), Some(json!({ "digestMinutes": 0 })))
        .await
        .expect("call")
        .expect(200);
    assert_eq!(off["digestMinutes"], 0);
    assert_eq!(api.get("/api/notifications/email-settings", &r.bob.token).await.expect(200)["digestMinutes"], 0);
    // Ann never gets Bob's emails.
    assert!(got.lock().map(|g| !g.iter().any(|m| m.contains(&format!("To: {}", r.ann.email)))).unwrap_or(false));
    t.stop().await.expect("stop");
}
