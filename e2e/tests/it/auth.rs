//! Accounts and sessions through `/api/auth/*`: bearer and cookie alike.

use reqwest::Method;

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn sign_up_in_session_and_out() {
    let t = stack().await;
    let api = t.api();
    let email = format!("zoe-{}@example.com", uuid::Uuid::new_v4().simple());
    let up = api
        .call(
            Method::POST,
            "/api/auth/sign-up/email",
            None,
            Some(json!({ "email": email, "password": "correct horse battery", "name": "Zoe" })),
        )
        .await
        .expect("sign up");
    let cookie = up.headers.get("set-cookie").and_then(|v| v.to_str().ok()).expect("cookie").to_owned();
    assert!(cookie.starts_with("ocomms_session=") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    let body = up.expect(200);
    assert_eq!(body["user"]["email"], email);
    assert!(body["user"].get("passwordHash").is_none() && !body.to_string().contains("argon2"), "no hash leaks");

    // The cookie alone authenticates.
    let jar_value = cookie.split(';').next().expect("pair").to_owned();
    let s = api.http.get(format!("{}/api/auth/session", t.base)).header("cookie", &jar_value).send().await.expect("session");
    assert_eq!(s.status().as_u16(), 200);

    let signed_in = api
        .call(
            Method::POST,
            "/api/auth/sign-in/email",
            None,
            Some(json!({ "email": email.to_uppercase(), "password": "correct horse battery" })),
        )
        .await
        .expect("sign in")
        .expect(200);
    let token = signed_in["token"].as_str().expect("token").to_owned();
    let session = api.get("/api/auth/session", &token).await.expect(200);
    assert_eq!(session["user"]["id"], body["user"]["id"]);
    assert_eq!(session["session"]["current"], true);

    // Signing out ends that session everywhere at once, and only that one.
    api.post("/api/auth/sign-out", &token, json!({})).await.expect(200);
    api.get("/api/auth/session", &token).await.expect_error(401, "UNAUTHORIZED");
    api.get("/api/workspaces", &token).await.expect_error(401, "UNAUTHORIZED");
    assert!(Socket::connect(&t.base, &token).await.is_err(), "a revoked token cannot open a socket");
    api.get("/api/auth/session", body["token"].as_str().expect("first token")).await.expect(200);
    t.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_credentials_get_one_answer() {
    let t = stack().await;
    let api = t.api();
    let u = api.sign_up("Yan").await.expect("user");
    let wrong = api
        .call(Method::POST, "/api/auth/sign-in/email", None, Some(json!({ "email": u.email, "password": "not the password" })))
        .await
        .expect("call")
        .expect_error(401, "UNAUTHORIZED");
    let unknown = api
        .call(Method::POST, "/api/auth/sign-in/email", None, Some(json!({ "email": "nobody@example.com", "password": "not the password" })))
        .await
        .expect("call")
        .expect_error(401, "UNAUTHORIZED");
    assert_eq!(wrong, unknown);
    assert_eq!(wrong["error"]["message"], "Invalid credentials");
    api.call(
        Method::POST,
        "/api/auth/sign-up/email",
        None,
        Some(json!({ "email": u.email, "password": "another password 1", "name": "Y" })),
    )
    .await
    .expect("call")
    .expect_error(409, "CONFLICT");
    t.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn password_reset_is_single_use_ends_sessions_and_refuses_old_passwords() {
    use diesel_async::{AsyncConnection, AsyncPgConnection};
    let t = stack().await;
    let api = t.api();
    let u = api.sign_up("Rae").await.expect("user");
    let count = |sql: &'static str| sql;
    // Same answer for an unknown email, and nothing is created for it.
    for email in [u.email.as_str(), "nobody@example.com"] {
        let r = api.call(Method::POST, "/api/auth/forget-password", None, Some(json!({ "email": email }))).await.expect("call");
        assert_eq!(r.status.as_u16(), 200);
        assert_eq!(r.body, json!({ "success": true }));
    }
    // What is no email address at all is refused, as at sign-up.
    for body in [json!({}), json!({ "email": "" }), json!({ "email": "not an email" })] {
        let r = api.call(Method::POST, "/api/auth/forget-password", None, Some(body.clone())).await.expect("call");
        assert_eq!(r.status.as_u16(), 400, "{body}");
        assert_eq!(r.body["error"]["details"]["field"], "email", "{body}");
    }
    let made = ocomms_runtime::testing::eventually(5, || async {
        let mut c = AsyncPgConnection::establish(&t.env["AUTH_DATABASE_URL"]).await.ok()?;
        let n = ocomms_runtime::db::count(&mut c, count("SELECT count(*) AS n FROM password_resets")).await.ok()?;
        (n == 1).then_some(n)
    })
    .await;
    assert_eq!(made, Some(1), "one reset, for the account that exists");

    // Only the hash is stored; put a known token in to walk the reset path.
    let token = "known-reset-token-for-the-test-0123456789";
    put_reset_token(&t, &u.id, token, chrono::Duration::hours(1)).await;
    let reset = |pw: &str| api.call(Method::POST, "/api/auth/reset-password", None, Some(json!({ "token": token, "newPassword": pw })));
    reset("correct horse battery").await.expect("call").expect_error(400, "VALIDATION_ERROR");
    reset("short").await.expect("call").expect_error(400, "VALIDATION_ERROR");
    reset("a brand new passphrase").await.expect("call").expect(200);
    api.get("/api/auth/session", &u.token).await.expect_error(401, "UNAUTHORIZED");
    reset("yet another passphrase").await.expect("call").expect_error(400, "VALIDATION_ERROR");
    let sign_in = |pw: &str| api.call(Method::POST, "/api/auth/sign-in/email", None, Some(json!({ "email": u.email, "password": pw })));
    sign_in("correct horse battery").await.expect("call").expect_error(401, "UNAUTHORIZED");
    sign_in("a brand new passphrase").await.expect("call").expect(200);
    // Expired tokens do not work.
    let old = "expired-reset-token-for-the-test-0123456789";
    put_reset_token(&t, &u.id, old, chrono::Duration::seconds(-1)).await;
    api.call(Method::POST, "/api/auth/reset-password", None, Some(json!({ "token": old, "newPassword": "something fresh 42" })))
        .await
        .expect("call")
        .expect_error(400, "VALIDATION_ERROR");
    t.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_factor_through_the_gateway() {
    let t = stack().await;
    let api = t.api();
    let u = api.sign_up("Tom").await.expect("user");
    let setup = api.post("/api/auth/two-factor/enable", &u.token, json!({ "password": "correct horse battery" })).await.expect(200);
    let secret = svc_auth::totp::base32_decode(setup["secret"].as_str().expect("secret")).expect("base32");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
    let code = |ahead: u64| format!("{:06}", svc_auth::totp::code_at_step(&secret, now / 30 + ahead));
    api.post("/api/auth/two-factor/verify", &u.token, json!({ "code": code(0) })).await.expect(200);
    let sign_in = |c: Option<String>| {
        api.call(
            Method::POST,
            "/api/auth/sign-in/email",
            None,
            Some(json!({ "email": u.email, "password": "correct horse battery", "totpCode": c })),
        )
    };
    let need = sign_in(None).await.expect("call").expect_error(401, "UNAUTHORIZED");
    assert_eq!(need["error"]["details"]["twoFactorRequired"], true);
    sign_in(Some(code(1))).await.expect("call").expect(200);
    t.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_session_loses_its_open_sockets() {
    let t = stack().await;
    let r = room(&t.api()).await;
    let second = r
        .api
        .call(Method::POST, "/api/auth/sign-in/email", None, Some(json!({ "email": r.bob.email, "password": "correct horse battery" })))
        .await
        .expect("sign in")
        .expect(200);
    let stolen = second["token"].as_str().expect("token").to_owned();
    let mut thief = Socket::connect(&t.base, &stolen).await.expect("socket");
    let mut owner = Socket::connect(&t.base, &r.bob.token).await.expect("socket");
    r.api.post("/api/sessions/revoke", &r.bob.token, json!({ "allOthers": true })).await.expect(200);
    // The revoked socket is closed; the current one stays.
    let closed = tokio::time::timeout(WAIT, async {
        loop {
            if thief.next_frame(WAIT).await.is_err() {
                return true;
            }
        }
    })
    .await
    .unwrap_or(false);
    assert!(closed, "the revoked session's socket was closed");
    r.api.post(&format!("/api/channels/{}/messages", r.channel), &r.ann.token, json!({ "content": "after revocation" })).await.expect(201);
    assert_eq!(owner.event("message:new", WAIT).await.expect("still live")["message"]["content"], "after revocation");
    t.stop().await.expect("stops");
}
