//! Accounts and sessions through `/api/auth/*`: bearer and cookie alike.

use reqwest::Method;

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn sign_up_in_session_and_out() {
    let t = stack().await;
    let api = t.api();
    let email = format!("zoe-{}@example.com", uuid::Uuid::new_v4().simple());
    let up = api
        .call(Method::POST, "/api/auth/sign-up/email", None, Some(json!({ "email": email, "password": "correct horse battery", "name": "Zoe" })))
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
        .call(Method::POST, "/api/auth/sign-in/email", None, Some(json!({ "email": email.to_uppercase(), "password": "correct horse battery" })))
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
    api.call(Method::POST, "/api/auth/sign-up/email", None, Some(json!({ "email": u.email, "password": "another password 1", "name": "Y" })))
        .await
        .expect("call")
        .expect_error(409, "CONFLICT");
    t.stop().await.expect("stops");
}
