//! Accounts under attack, through the public API (issue 7): parallel
//! password guesses against the lockout (seed 5.3), leftover reset links,
//! what the audit log shows a workspace owner, a guest's grants after
//! removal, and client addresses a caller cannot choose.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use ocomms_proto::auth::v1 as pb;
use ocomms_proto::auth::v1::auth_service_client::AuthServiceClient;
use reqwest::Method;
use serde_json::Value;

use crate::support::*;

const PW: &str = "correct horse battery";

/// A sign-in through the gateway: status, time taken, body.
async fn sign_in(api: &Api, email: &str, password: &str) -> (u16, Duration, Value) {
    let started = Instant::now();
    let r =
        api.call(Method::POST, "/api/auth/sign-in/email", None, Some(json!({ "email": email, "password": password }))).await.expect("call");
    (r.status.as_u16(), started.elapsed(), r.body)
}

/// The same, on its own task (it keeps going while the test waits for
/// something else).
fn spawn_sign_in(api: &Api, email: &str, password: String) -> tokio::task::JoinHandle<(u16, Duration, Value)> {
    let (api, email) = (api.clone(), email.to_owned());
    tokio::spawn(async move { sign_in(&api, &email, &password).await })
}

#[tokio::test(flavor = "multi_thread")]
async fn parallel_guesses_are_checked_five_times_at_most_then_the_account_is_locked() {
    let t = stack().await;
    let api = t.api();
    let u = api.sign_up("Vic").await.expect("user");
    let guesses: Vec<_> = (0..24).map(|i| spawn_sign_in(&api, &u.email, format!("wrong guess number {i}"))).collect();
    let mut statuses = Vec::new();
    for g in guesses {
        let (status, _, body) = g.await.expect("join");
        if status == 423 {
            assert_eq!(body["error"]["code"], "ACCOUNT_LOCKED", "{body}");
        }
        statuses.push(status);
    }
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let refused = statuses.iter().filter(|s| **s == 423).count();
    assert!((1..=5).contains(&checked), "at most five guesses are checked against the password: {statuses:?}");
    assert_eq!(checked + refused, 24, "every other guess is refused as locked: {statuses:?}");
    // Locked now, even for the right password.
    let (status, _, body) = sign_in(&api, &u.email, PW).await;
    assert_eq!(status, 423, "{body}");
    assert_eq!(body["error"]["code"], "ACCOUNT_LOCKED");
    assert!(body["error"]["details"]["lockedUntil"].is_string(), "{body}");
    t.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_right_password_among_parallel_guesses_never_lifts_the_lock() {
    let t = stack().await;
    let api = t.api();
    let u = api.sign_up("Wes").await.expect("user");
    // Five wrong guesses in flight (the seed's delays hold them for up to
    // 10 s), then the right password: it waits for an attempt of its own,
    // and by then the fifth failure has locked the account.
    let mut wrong: FuturesUnordered<_> = (0..5).map(|i| spawn_sign_in(&api, &u.email, format!("wrong guess number {i}"))).collect();
    let first = wrong.next().await.expect("an answer").expect("join");
    let right = spawn_sign_in(&api, &u.email, PW.to_owned());
    let mut statuses = vec![first.0];
    while let Some(a) = wrong.next().await {
        statuses.push(a.expect("join").0);
    }
    assert_eq!(statuses, vec![401; 5], "the five guesses are checked");
    let (right_status, _, right_body) = right.await.expect("join");
    assert_eq!(right_status, 423, "the right password never lifts the lock: {right_body}");
    let (after, _, body) = sign_in(&api, &u.email, PW).await;
    assert_eq!(after, 423, "still locked: {body}");
    assert_eq!(body["error"]["code"], "ACCOUNT_LOCKED");
    t.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reset_voids_the_other_reset_links() {
    let t = stack().await;
    let api = t.api();
    let u = api.sign_up("Rae").await.expect("user");
    let ws = api.workspace(&u).await.expect("workspace");
    // Two links were sent; only their hashes are stored, so put known ones in.
    let (first, second) = ("first-reset-token-for-the-test-0123456789", "second-reset-token-for-the-test-012345678");
    for token in [first, second] {
        put_reset_token(&t, &u.id, token, chrono::Duration::hours(1)).await;
    }
    let reset = |token: &str, pw: &str| {
        api.call(Method::POST, "/api/auth/reset-password", None, Some(json!({ "token": token, "newPassword": pw })))
    };
    reset(first, "a brand new passphrase").await.expect("call").expect(200);
    let refused = reset(second, "someone else's passphrase").await.expect("call").expect_error(400, "VALIDATION_ERROR");
    assert_eq!(refused["error"]["details"]["field"], "token", "{refused}");
    assert_eq!(sign_in(&api, &u.email, "someone else's passphrase").await.0, 401);
    let (status, _, body) = sign_in(&api, &u.email, "a brand new passphrase").await;
    assert_eq!(status, 200, "{body}");
    // The reset is recorded with the client's own address and agent (the
    // gateway's connection to it), not the gateway's.
    let token = body["token"].as_str().expect("token");
    let log = api.get(&format!("/api/admin/audit-logs?workspaceId={ws}&limit=500"), token).await.expect(200);
    let entry =
        log["logs"].as_array().expect("logs").iter().find(|e| e["action"] == "password_reset").expect("the reset is logged").clone();
    assert_eq!(entry["ipAddress"], "127.0.0.1", "{entry}");
    assert!(entry["userAgent"].as_str().is_none_or(|ua| !ua.contains("tonic")), "{entry}");
    t.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_owner_reads_only_their_workspace_and_members_sign_ins_since_they_joined() {
    let t = stack().await;
    let api = t.api();
    let ann = api.sign_up("Ann").await.expect("ann");
    let w1 = api.workspace(&ann).await.expect("w1");
    let bob = api.sign_up("Bob").await.expect("bob");
    let w2 = api.workspace(&bob).await.expect("w2");
    // Before joining W1, Bob fails a sign-in and works in his own workspace.
    assert_eq!(sign_in(&api, &bob.email, "not my password").await.0, 401);
    api.post(&format!("/api/workspaces/{w2}/invites"), &bob.token, json!({})).await.expect(201);
    api.invite(&w1, &ann, &bob).await.expect("bob joins w1");
    // A member now: another failed sign-in, and more work in W2.
    assert_eq!(sign_in(&api, &bob.email, "still not my password").await.0, 401);
    api.post(&format!("/api/workspaces/{w2}/invites"), &bob.token, json!({})).await.expect(201);

    let log = api.get(&format!("/api/admin/audit-logs?workspaceId={w1}&limit=500"), &ann.token).await.expect(200);
    let logs = log["logs"].as_array().expect("logs");
    for l in logs {
        let ws = l.get("workspaceId").and_then(Value::as_str);
        assert!(ws.is_none_or(|w| w == w1), "an entry of another workspace: {l}");
        assert!(!l.to_string().contains(&w2), "an entry about W2: {l}");
    }
    let bobs_account: Vec<&str> = logs
        .iter()
        .filter(|l| l["userId"] == bob.id.as_str() && l.get("workspaceId").and_then(Value::as_str).is_none())
        .filter_map(|l| l["action"].as_str())
        .collect();
    assert_eq!(bobs_account, vec!["login_failure"], "only Bob's account events since he joined: {logs:?}");
    assert!(logs.iter().any(|l| l["action"] == "invite_accepted" && l["userId"] == bob.id.as_str()), "{logs:?}");
    t.stop().await.expect("stops");
}

/// `guest` accepts a guest invite of `ws` to `channel`, made by `admin`.
async fn invite_guest(api: &Api, ws: &str, admin: &User, guest: &User, channel: &str) {
    let until = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let invite = api
        .post(&format!("/api/workspaces/{ws}/guest-invites"), &admin.token, json!({ "channelIds": [channel], "expiresAt": until }))
        .await;
    let token = invite.expect(201)["token"].as_str().expect("token").to_owned();
    api.post(&format!("/api/invites/{token}/accept"), &guest.token, json!({})).await.expect(200);
}

/// The names of the channels `user` is shown in `ws`, sorted.
async fn channel_names(api: &Api, ws: &str, user: &User) -> Vec<String> {
    let list = api.get(&format!("/api/workspaces/{ws}/channels"), &user.token).await.expect(200);
    let mut names: Vec<String> =
        list["channels"].as_array().expect("channels").iter().filter_map(|c| c["name"].as_str().map(str::to_owned)).collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_invited_again_gets_only_the_new_invites_channels() {
    let t = stack().await;
    let r = room(&t.api()).await;
    let api = &r.api;
    let alpha = api.channel(&r.ws, &r.ann, "alpha").await.expect("alpha");
    let beta = api.channel(&r.ws, &r.ann, "beta").await.expect("beta");
    let gus = api.sign_up("Gus").await.expect("gus");
    invite_guest(api, &r.ws, &r.ann, &gus, &alpha).await;
    assert_eq!(channel_names(api, &r.ws, &gus).await, vec!["alpha"]);

    // Removed; once svc-messaging has dropped his channel memberships
    // (alpha is back to its creator alone), invited again to beta only.
    api.delete(&format!("/api/workspaces/{}/members/{}", r.ws, gus.id), &r.ann.token).await.expect(200);
    let dropped = ocomms_runtime::testing::eventually(10, || async {
        let ch = api.get(&format!("/api/channels/{alpha}"), &r.ann.token).await.expect(200);
        (ch["memberCount"] == 1).then_some(())
    })
    .await;
    assert!(dropped.is_some(), "the guest's channel memberships were dropped");
    invite_guest(api, &r.ws, &r.ann, &gus, &beta).await;
    assert_eq!(channel_names(api, &r.ws, &gus).await, vec!["beta"], "the old invite's channels do not come back");
    api.get(&format!("/api/channels/{alpha}"), &gus.token).await.expect_error(404, "NOT_FOUND");
    api.get(&format!("/api/channels/{alpha}/messages"), &gus.token).await.expect_error(404, "NOT_FOUND");
    t.stop().await.expect("stops");
}

/// A SignIn request with the given metadata.
fn with_metadata(message: pb::SignInRequest, pairs: &[(&'static str, &str)]) -> tonic::Request<pb::SignInRequest> {
    let mut req = tonic::Request::new(message);
    for (k, v) in pairs {
        req.metadata_mut().insert(*k, v.parse().expect("ascii"));
    }
    req
}

#[tokio::test(flavor = "multi_thread")]
async fn recorded_client_addresses_come_from_the_connection_not_from_the_caller() {
    let t = stack().await;
    let api = t.api();
    let u = api.sign_up("Ivy").await.expect("user");
    let mut auth = AuthServiceClient::connect(format!("http://{}", t.service("auth"))).await.expect("connects");
    let forged = pb::SignInRequest {
        email: u.email.clone(),
        password: PW.into(),
        ip_address: Some("203.0.113.9".into()),
        user_agent: Some("forged-agent/1.0".into()),
        ..Default::default()
    };
    let session = |r: pb::AuthResponse| r.session.expect("session");

    // A gRPC (or gRPC-web) caller cannot choose what is recorded: the
    // connection's address and its own user-agent are.
    let s = session(auth.sign_in(with_metadata(forged.clone(), &[("user-agent", "ivy-client/2.0")])).await.expect("sign in").into_inner());
    assert_eq!(s.ip_address.as_deref(), Some("127.0.0.1"));
    assert_eq!(s.user_agent.as_deref(), Some("ivy-client/2.0"));
    let not_the_credential =
        with_metadata(forged.clone(), &[(ocomms_runtime::identity::SERVICE_TOKEN_HEADER, "not-the-service-token-at-all")]);
    let s = session(auth.sign_in(not_the_credential).await.expect("sign in").into_inner());
    assert_eq!(s.ip_address.as_deref(), Some("127.0.0.1"));
    assert_ne!(s.user_agent.as_deref(), Some("forged-agent/1.0"));

    // The gateway, holding the service credential, states the client's.
    let token = ocomms_runtime::testing::SERVICE_TOKEN;
    let vouched = with_metadata(forged, &[(ocomms_runtime::identity::SERVICE_TOKEN_HEADER, token)]);
    let s = session(auth.sign_in(vouched).await.expect("sign in").into_inner());
    assert_eq!((s.ip_address.as_deref(), s.user_agent.as_deref()), (Some("203.0.113.9"), Some("forged-agent/1.0")));

    // Through REST, an address in the body is not the client's either.
    let r = api
        .call(
            Method::POST,
            "/api/auth/sign-in/email",
            None,
            Some(json!({ "email": u.email, "password": PW, "ipAddress": "203.0.113.9", "userAgent": "forged-agent/1.0" })),
        )
        .await
        .expect("call")
        .expect(200);
    assert_eq!(r["session"]["ipAddress"], "127.0.0.1", "{r}");
    assert_ne!(r["session"]["userAgent"], "forged-agent/1.0", "{r}");
    t.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stolen_session_cannot_guess_the_password_past_the_lockout() {
    // Turning two-factor on asks for the password again: those checks
    // spend the same five attempts as sign-ins.
    let t = stack().await;
    let api = t.api();
    let u = api.sign_up("Wes").await.expect("user");
    for i in 0..5 {
        api.post("/api/auth/two-factor/enable", &u.token, json!({ "password": format!("guess {i}") }))
            .await
            .expect_error(400, "VALIDATION_ERROR");
    }
    api.post("/api/auth/two-factor/enable", &u.token, json!({ "password": PW })).await.expect_error(423, "ACCOUNT_LOCKED");
    let (status, _, body) = sign_in(&api, &u.email, PW).await;
    assert_eq!(status, 423, "{body}");
    t.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_of_right_passwords_for_one_account_all_get_in() {
    // More sign-ins at once than the account has attempts (a user's many
    // devices after a restart): they wait their turn, none is refused.
    let t = stack().await;
    let api = t.api();
    let u = api.sign_up("Xia").await.expect("user");
    let all: Vec<_> = (0..12).map(|_| spawn_sign_in(&api, &u.email, PW.to_owned())).collect();
    for a in all {
        let (status, _, body) = a.await.expect("join");
        assert_eq!(status, 200, "{body}");
    }
    t.stop().await.expect("stop");
}
