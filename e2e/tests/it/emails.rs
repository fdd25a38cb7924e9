//! Security emails over real SMTP (a server the test runs): invites by
//! email, a lockout, a sign-in from a new device.

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn invites_lockouts_and_new_devices_are_emailed() {
    let (port, got) = smtp_sink().await;
    let t = TestStack::start(StackOptions {
        env: vec![("SMTP_HOST".into(), "127.0.0.1".into()), ("SMTP_PORT".into(), port.to_string())],
        ..Default::default()
    })
    .await
    .expect("stack");
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
