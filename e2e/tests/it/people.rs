//! Sessions, roles, removal, profiles, statuses, audit log, through the
//! gateway.

use reqwest::Method;

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn sessions_are_listed_and_revoked_at_once() {
    let t = stack().await;
    let api = t.api();
    let u = api.sign_up("Sam").await.expect("user");
    let second = api
        .call(Method::POST, "/api/auth/sign-in/email", None, Some(json!({ "email": u.email, "password": "correct horse battery" })))
        .await
        .expect("sign in")
        .expect(200);
    let other = second["token"].as_str().expect("token").to_owned();
    let list = api.get("/api/sessions", &u.token).await.expect(200);
    let sessions = list["sessions"].as_array().expect("sessions");
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    let other_id = second["session"]["id"].as_str().expect("id");
    // Warm the other services' principal caches with the session...
    let ws = api.workspace(&u).await.expect("ws");
    api.get(&format!("/api/workspaces/{ws}/channels"), &other).await.expect(200);
    api.get("/api/notifications", &other).await.expect(200);
    api.post("/api/sessions/revoke", &u.token, json!({ "sessionId": other_id })).await.expect(200);
    // ...the revocation still takes effect at once in every service.
    api.get("/api/auth/session", &other).await.expect_error(401, "UNAUTHORIZED");
    api.get(&format!("/api/workspaces/{ws}/channels"), &other).await.expect_error(401, "UNAUTHORIZED");
    api.get("/api/notifications", &other).await.expect_error(401, "UNAUTHORIZED");
    api.post("/api/sessions/revoke", &u.token, json!({ "sessionId": other_id })).await.expect_error(404, "NOT_FOUND");
    api.post("/api/sessions/revoke", &u.token, json!({})).await.expect_error(400, "VALIDATION_ERROR");
    // Someone else's session id is not found.
    let v = api.sign_up("Vic").await.expect("vic");
    let vs = api.get("/api/sessions", &v.token).await.expect(200);
    let vid = vs["sessions"][0]["id"].as_str().expect("id");
    api.post("/api/sessions/revoke", &u.token, json!({ "sessionId": vid })).await.expect_error(404, "NOT_FOUND");
    api.get("/api/auth/session", &v.token).await.expect(200);
    // All others: only the current survives.
    let third = api
        .call(Method::POST, "/api/auth/sign-in/email", None, Some(json!({ "email": u.email, "password": "correct horse battery" })))
        .await
        .expect("sign in")
        .expect(200);
    let r = api.post("/api/sessions/revoke", &u.token, json!({ "allOthers": true })).await.expect(200);
    assert_eq!(r["revoked"], 1);
    api.get("/api/auth/session", third["token"].as_str().expect("t")).await.expect_error(401, "UNAUTHORIZED");
    api.get("/api/auth/session", &u.token).await.expect(200);
    t.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn roles_follow_the_table_and_removal_takes_effect_live() {
    let t = stack().await;
    let r = room(&t.api()).await;
    let api = &r.api;
    let cat = api.sign_up("Cat").await.expect("cat");
    api.invite(&r.ws, &r.ann, &cat).await.expect("invite");
    api.join(&r.channel, &cat).await.expect("join");
    let member = |u: &User| format!("/api/workspaces/{}/members/{}", r.ws, u.id);

    api.patch(&member(&r.bob), &cat.token, json!({ "role": "admin" })).await.expect_error(403, "FORBIDDEN");
    let bob = api.patch(&member(&r.bob), &r.ann.token, json!({ "role": "admin" })).await.expect(200);
    assert_eq!(bob["role"], "admin");
    api.patch(&member(&r.ann), &r.bob.token, json!({ "role": "member" })).await.expect_error(403, "FORBIDDEN");
    api.patch(&member(&cat), &r.bob.token, json!({ "role": "owner" })).await.expect_error(403, "FORBIDDEN");
    api.patch(&member(&r.ann), &r.ann.token, json!({ "role": "member" })).await.expect_error(409, "CONFLICT");
    // Renaming: admins yes, members no.
    let ws_path = format!("/api/workspaces/{}", r.ws);
    api.patch(&ws_path, &cat.token, json!({ "name": "Mine now" })).await.expect_error(403, "FORBIDDEN");
    let renamed = api.patch(&ws_path, &r.bob.token, json!({ "name": "Acme Inc", "joinPolicy": "open" })).await.expect(200);
    assert_eq!((renamed["name"].as_str(), renamed["joinPolicy"].as_str()), (Some("Acme Inc"), Some("open")));
    api.patch(&ws_path, &r.bob.token, json!({ "joinPolicy": "anyone" })).await.expect_error(400, "VALIDATION_ERROR");
    api.delete(&member(&r.ann), &r.ann.token).await.expect_error(409, "CONFLICT");
    api.patch(&member(&cat), &r.ann.token, json!({ "role": "king" })).await.expect_error(400, "VALIDATION_ERROR");

    // An admin removes a member: Cat is told, and hears the channel no more.
    let mut cat_sock = Socket::connect(&t.base, &cat.token).await.expect("socket");
    api.delete(&member(&cat), &r.bob.token).await.expect(200);
    assert_eq!(cat_sock.event("workspace:removed", WAIT).await.expect("told")["workspaceId"], r.ws);
    api.get(&format!("/api/workspaces/{}", r.ws), &cat.token).await.expect_error(404, "NOT_FOUND");
    api.get(&format!("/api/channels/{}/messages", r.channel), &cat.token).await.expect_error(404, "NOT_FOUND");
    let mut gone = false;
    for _ in 0..50 {
        let ch = api.get(&format!("/api/channels/{}", r.channel), &r.ann.token).await.expect(200);
        if ch["memberCount"] == 2 {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(gone, "cat's channel membership was dropped");
    api.post(&format!("/api/channels/{}/messages", r.channel), &r.ann.token, json!({ "content": "after cat left" })).await.expect(201);
    cat_sock.expect_no_event("message:new", QUIET).await.expect("cat hears nothing more");

    // Leaving oneself; the members list shrinks.
    api.delete(&member(&r.bob), &r.bob.token).await.expect(200);
    let members = api.get(&format!("/api/workspaces/{}/members", r.ws), &r.ann.token).await.expect(200);
    assert_eq!(members["members"].as_array().map(Vec::len), Some(1));
    t.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn profiles_and_statuses_are_per_workspace_and_announced() {
    let t = stack().await;
    let r = room(&t.api()).await;
    let api = &r.api;
    let profile = format!("/api/workspaces/{}/profile", r.ws);
    let mine = api.get(&profile, &r.ann.token).await.expect(200);
    assert_eq!(mine["displayName"], "Ann");
    let mut bob = Socket::connect(&t.base, &r.bob.token).await.expect("socket");
    let updated =
        api.patch(&profile, &r.ann.token, json!({ "displayName": "Ann B.", "title": "CTO", "timezone": "Europe/Paris" })).await.expect(200);
    assert_eq!((updated["displayName"].as_str(), updated["title"].as_str()), (Some("Ann B."), Some("CTO")));
    assert_eq!(bob.event("profile:update", WAIT).await.expect("announced")["profile"]["title"], "CTO");
    api.patch(&profile, &r.ann.token, json!({ "timezone": "Mars/Olympus Mons" })).await.expect_error(400, "VALIDATION_ERROR");
    api.patch(&profile, &r.ann.token, json!({ "avatarUrl": "javascript:alert(1)" })).await.expect_error(400, "VALIDATION_ERROR");
    let cleared = api.patch(&profile, &r.ann.token, json!({ "title": "" })).await.expect(200);
    assert!(cleared["title"].is_null());
    assert_eq!(cleared["timezone"], "Europe/Paris", "omitted fields stay");

    let status = format!("/api/workspaces/{}/status", r.ws);
    let s = api
        .call(Method::PUT, &status, Some(&r.ann.token), Some(json!({ "emoji": "🌴", "text": "On holiday", "dnd": true })))
        .await
        .expect("put")
        .expect(200);
    assert_eq!(s["dnd"], true);
    let ev = bob.event("status:update", WAIT).await.expect("status announced");
    assert_eq!(ev["status"]["text"], "On holiday");
    let seen = api.get(&format!("/api/workspaces/{}/members/{}/profile", r.ws, r.ann.id), &r.bob.token).await.expect(200);
    assert_eq!(seen["status"]["emoji"], "🌴");
    api.call(Method::PUT, &status, Some(&r.ann.token), Some(json!({ "text": "x", "expiresAt": "2001-01-01T00:00:00Z" })))
        .await
        .expect("put")
        .expect_error(400, "VALIDATION_ERROR");
    let eve = api.sign_up("Eve").await.expect("eve");
    api.get(&format!("/api/workspaces/{}/members/{}/profile", r.ws, r.ann.id), &eve.token).await.expect_error(404, "NOT_FOUND");

    // Last visited.
    api.post("/api/workspace/last-visited", &r.bob.token, json!({ "workspaceId": r.ws })).await.expect(200);
    assert_eq!(api.get("/api/workspaces", &r.bob.token).await.expect(200)["lastVisitedWorkspaceId"], r.ws);
    api.post("/api/workspace/last-visited", &eve.token, json!({ "workspaceId": r.ws })).await.expect_error(404, "NOT_FOUND");
    t.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn owners_read_the_audit_log_with_the_seed_filters() {
    let t = stack().await;
    let r = room(&t.api()).await;
    let api = &r.api;
    api.call(Method::POST, "/api/auth/sign-in/email", None, Some(json!({ "email": r.bob.email, "password": "wrong password!!" })))
        .await
        .expect("call");
    api.patch(&format!("/api/workspaces/{}/members/{}", r.ws, r.bob.id), &r.ann.token, json!({ "role": "admin" })).await.expect(200);
    let base = format!("/api/admin/audit-logs?workspaceId={}", r.ws);
    let all = api.get(&base, &r.ann.token).await.expect(200);
    let actions: Vec<&str> = all["logs"].as_array().expect("logs").iter().filter_map(|l| l["action"].as_str()).collect();
    for expected in ["role_changed", "login_failure", "invite_accepted", "invite_created", "workspace_created"] {
        assert!(actions.contains(&expected), "{expected} missing from {actions:?}");
    }
    let only = api.get(&format!("{base}&action=login_failure"), &r.ann.token).await.expect(200);
    assert_eq!(only["logs"].as_array().map(Vec::len), Some(1));
    assert_eq!(only["logs"][0]["userId"], r.bob.id);
    let none = api.get(&format!("{base}&endDate=2001-01-01"), &r.ann.token).await.expect(200);
    assert_eq!(none["logs"].as_array().map(Vec::len), Some(0));
    let paged = api.get(&format!("{base}&limit=2&offset=1"), &r.ann.token).await.expect(200);
    assert_eq!(paged["logs"][0]["id"], all["logs"][1]["id"]);
    api.get(&base, &r.bob.token).await.expect_error(403, "FORBIDDEN");
    api.get("/api/admin/audit-logs", &r.ann.token).await.expect_error(400, "VALIDATION_ERROR");
    api.get(&format!("{base}&startDate=yesterday"), &r.ann.token).await.expect_error(400, "VALIDATION_ERROR");
    let eve = api.sign_up("Eve").await.expect("eve");
    api.get(&base, &eve.token).await.expect_error(404, "NOT_FOUND");
    t.stop().await.expect("stops");
}
