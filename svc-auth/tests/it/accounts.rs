use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use ocomms_proto::auth::v1 as pb;

use crate::helpers::*;

const PW: &str = "correct horse battery";

#[tokio::test(flavor = "multi_thread")]
async fn sign_up_gives_a_token_that_resolves_to_the_user() {
    let mut app = app().await;
    let r = app.client.sign_up(sign_up_req("Ann@Example.com", PW)).await.expect("sign up").into_inner();
    let user = r.user.expect("user");
    assert_eq!(user.email, "Ann@Example.com");
    let p = app.client.resolve_token(pb::ResolveTokenRequest { token: r.token.clone() }).await.expect("resolves").into_inner();
    assert_eq!(p.user_id, user.id);
    let s = app.client.get_session(authed(&r.token, pb::GetSessionRequest {})).await.expect("session").into_inner();
    assert_eq!(s.session.expect("session").id, r.session.expect("session").id);
    let bad = app.client.resolve_token(pb::ResolveTokenRequest { token: "not-a-token".into() }).await.expect_err("unknown token");
    assert_eq!(code(&bad), "UNAUTHORIZED");
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicate_email_is_a_conflict_and_changes_nothing() {
    let mut app = app().await;
    app.client.sign_up(sign_up_req("bob@example.com", PW)).await.expect("first");
    let err = app.client.sign_up(sign_up_req("BOB@example.com ", "another password 123")).await.expect_err("duplicate");
    assert_eq!(code(&err), "CONFLICT");
    // The first password still works; the second never took.
    app.client.sign_in(sign_in_req("bob@example.com", PW)).await.expect("original password");
    let err = app.client.sign_in(sign_in_req("bob@example.com", "another password 123")).await.expect_err("second password");
    assert_eq!(code(&err), "UNAUTHORIZED");
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_sign_ups_are_refused_with_the_field_named() {
    let mut app = app().await;
    for (email, pw, field) in
        [("nope", PW, "email"), ("c@example.com", "short", "password"), ("c@example.com", "c@example.com", "password")]
    {
        let err = app.client.sign_up(sign_up_req(email, pw)).await.expect_err("invalid");
        assert_eq!(code(&err), "VALIDATION_ERROR");
        let e = ocomms_runtime::ServiceError::from_status(&err);
        assert_eq!(e.details.expect("details")["field"], field);
    }
    let err = app.client.sign_in(sign_in_req("c@example.com", "c@example.com")).await.expect_err("nothing was created");
    assert_eq!(code(&err), "UNAUTHORIZED");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_password_and_unknown_email_get_the_same_answer() {
    let mut app = app().await;
    app.client.sign_up(sign_up_req("dan@example.com", PW)).await.expect("sign up");
    let wrong = app.client.sign_in(sign_in_req("dan@example.com", "wrong password!!")).await.expect_err("wrong");
    let unknown = app.client.sign_in(sign_in_req("nobody@example.com", PW)).await.expect_err("unknown");
    assert_eq!((wrong.code(), wrong.message()), (unknown.code(), unknown.message()));
    assert_eq!(wrong.message(), "Invalid credentials");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_locked_account_is_refused_even_with_the_right_password() {
    let mut app = app().await;
    let r = app.client.sign_up(sign_up_req("eve@example.com", PW)).await.expect("sign up").into_inner();
    let user = r.user.expect("user").id;
    let mut conn = AsyncPgConnection::establish(&app.running.database_url).await.expect("db");
    diesel::sql_query(format!(
        "INSERT INTO lockouts (user_id, failed_attempts, lockout_count, locked_until) VALUES ('{user}', 0, 1, now() + interval '15 minutes')"
    ))
    .execute(&mut conn)
    .await
    .expect("lock");
    let err = app.client.sign_in(sign_in_req("eve@example.com", PW)).await.expect_err("locked");
    assert_eq!(code(&err), "ACCOUNT_LOCKED");
    // Once the lock has passed, the right password works and clears it.
    diesel::sql_query("UPDATE lockouts SET locked_until = now() - interval '1 second'").execute(&mut conn).await.expect("unlock");
    app.client.sign_in(sign_in_req("eve@example.com", PW)).await.expect("unlocked");
    let left: i64 = ocomms_runtime::db::count(&mut conn, "SELECT count(*) AS n FROM lockouts").await.expect("count");
    assert_eq!(left, 0, "success clears the lockout state");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_attempt_is_counted() {
    let mut app = app().await;
    app.client.sign_up(sign_up_req("fay@example.com", PW)).await.expect("sign up");
    app.client.sign_in(sign_in_req("fay@example.com", "wrong password!!")).await.expect_err("wrong");
    let mut conn = AsyncPgConnection::establish(&app.running.database_url).await.expect("db");
    let n = ocomms_runtime::db::count(&mut conn, "SELECT failed_attempts::bigint AS n FROM lockouts").await.expect("row");
    assert_eq!(n, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn sign_out_revokes_at_once_and_announces_it() {
    let mut app = app().await;
    let mut events = app.bus.subscribe();
    let r = app.client.sign_up(sign_up_req("gil@example.com", PW)).await.expect("sign up").into_inner();
    app.client.sign_out(authed(&r.token, pb::SignOutRequest {})).await.expect("sign out");
    let err = app.client.resolve_token(pb::ResolveTokenRequest { token: r.token.clone() }).await.expect_err("revoked");
    assert_eq!(code(&err), "UNAUTHORIZED");
    let ev = tokio::time::timeout(std::time::Duration::from_secs(5), events.recv()).await.expect("event in time").expect("event");
    assert_eq!(ev.name, ocomms_runtime::events::SESSION_REVOKED);
    assert_eq!(ev.data["sessionIds"][0], r.session.expect("session").id);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_fifth_failure_locks_for_fifteen_minutes() {
    let mut app = app().await;
    let r = app.client.sign_up(sign_up_req("liz@example.com", PW)).await.expect("sign up").into_inner();
    let user = r.user.expect("user").id;
    let mut conn = AsyncPgConnection::establish(&app.running.database_url).await.expect("db");
    // Four failures already (each costs the seed's growing delay; the fifth waits 10 s).
    diesel::sql_query(format!("INSERT INTO lockouts (user_id, failed_attempts, lockout_count) VALUES ('{user}', 4, 0)"))
        .execute(&mut conn)
        .await
        .expect("seed state");
    let started = std::time::Instant::now();
    let err = app.client.sign_in(sign_in_req("liz@example.com", "wrong password!!")).await.expect_err("fifth failure");
    assert!(started.elapsed() >= std::time::Duration::from_secs(10), "the seed's delay after four failures");
    assert_eq!(err.message(), "Invalid credentials", "the locking attempt itself answers like any failure");
    let minutes =
        ocomms_runtime::db::count(&mut conn, "SELECT round(extract(epoch FROM locked_until - now()) / 60)::bigint AS n FROM lockouts")
            .await
            .expect("locked");
    assert_eq!(minutes, 15);
    let count = ocomms_runtime::db::count(&mut conn, "SELECT lockout_count::bigint AS n FROM lockouts").await.expect("count");
    assert_eq!(count, 1);
    let err = app.client.sign_in(sign_in_req("liz@example.com", PW)).await.expect_err("locked even with the right password");
    let e = ocomms_runtime::ServiceError::from_status(&err);
    assert_eq!(e.code.as_str(), "ACCOUNT_LOCKED");
    assert!(e.details.expect("details")["lockedUntil"].is_string());
    let audited =
        ocomms_runtime::db::count(&mut conn, "SELECT count(*) AS n FROM audit_logs WHERE action = 'account_locked'").await.expect("audit");
    assert_eq!(audited, 1);
}
