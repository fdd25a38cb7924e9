//! The gateway as an attacker meets it: the auth calls through gRPC-web
//! spend the same per-address allowances as their REST routes, invented
//! tokens buy no allowance of their own, a user's message allowance is one
//! over all their sessions, addresses come from the connection, a page of
//! another site cannot open a socket with the session cookie; and notes are
//! saved the seed's way (the place in the query string).

use ocomms_proto::auth::v1 as auth_pb;
use ocomms_proto::messaging::v1 as msg_pb;
use prost::Message as _;
use reqwest::Method;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::*;
use ocomms_e2e::Resp;

const PASSWORD: &str = "correct horse battery";

fn limited() -> StackOptions {
    StackOptions { env: vec![("RATE_LIMIT_ENABLED".into(), "true".into())], ..Default::default() }
}

/// A gRPC-web answer: its status and OComms code (from the headers of a
/// trailers-only answer, else from the trailer frame) and its data frames.
struct GrpcWeb {
    status: Option<String>,
    code: Option<String>,
    details: Option<String>,
    data: Vec<Vec<u8>>,
}

impl GrpcWeb {
    fn ok(&self) -> &[u8] {
        assert_eq!(self.status.as_deref(), Some("0"), "code {:?}", self.code);
        &self.data[0]
    }

    fn assert_rate_limited(&self) {
        assert_eq!(self.status.as_deref(), Some("8"), "RESOURCE_EXHAUSTED expected, code {:?}", self.code);
        assert_eq!(self.code.as_deref(), Some("RATE_LIMIT_EXCEEDED"));
        let details: serde_json::Value = serde_json::from_str(self.details.as_deref().expect("x-ocomms-details")).expect("json");
        assert!(details["retryAfter"].as_u64().is_some_and(|s| (1..=60).contains(&s)), "{details}");
    }
}

/// Calls `path` over gRPC-web with `message`, a token and extra headers.
async fn grpc_web(base: &str, path: &str, token: Option<&str>, message: Vec<u8>, headers: &[(&str, &str)]) -> GrpcWeb {
    let mut body = vec![0u8];
    body.extend((message.len() as u32).to_be_bytes());
    body.extend(message);
    let mut req = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("grpc-web call");
    assert_eq!(resp.status().as_u16(), 200, "gRPC-web answers in its own statuses");
    let head = resp.headers().clone();
    let mut rest: &[u8] = &resp.bytes().await.expect("body");
    let (mut data, mut trailers) = (Vec::new(), String::new());
    while rest.len() >= 5 {
        let len = u32::from_be_bytes([rest[1], rest[2], rest[3], rest[4]]) as usize;
        let payload = &rest[5..5 + len];
        if rest[0] & 0x80 != 0 {
            trailers.push_str(&String::from_utf8_lossy(payload));
        } else {
            data.push(payload.to_vec());
        }
        rest = &rest[5 + len..];
    }
    let field = |name: &str| {
        head.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned).or_else(|| {
            trailers
                .split("\r\n")
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_owned())
        })
    };
    GrpcWeb { status: field("grpc-status"), code: field("x-ocomms-code"), details: field("x-ocomms-details"), data }
}

fn sign_in_msg(email: &str) -> Vec<u8> {
    auth_pb::SignInRequest { email: email.into(), password: PASSWORD.into(), ..Default::default() }.encode_to_vec()
}

fn sign_up_msg(name: &str) -> Vec<u8> {
    let email = format!("{name}-{}@example.com", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    auth_pb::SignUpRequest { email, password: PASSWORD.into(), name: name.into(), ..Default::default() }.encode_to_vec()
}

async fn rest_sign_in(api: &Api, email: &str) -> Resp {
    api.call(Method::POST, "/api/auth/sign-in/email", None, Some(json!({ "email": email, "password": PASSWORD }))).await.expect("call")
}

#[tokio::test(flavor = "multi_thread")]
async fn grpc_web_auth_calls_spend_the_rest_allowances_of_the_address() {
    let t = TestStack::start(limited()).await.expect("stack");
    let api = t.api();
    let ann = api.sign_up("Ann").await.expect("sign-up 1 of 3");

    // Sign-in: 5 a minute per address, REST and gRPC-web together.
    for _ in 0..3 {
        rest_sign_in(&api, &ann.email).await.expect(200);
    }
    for _ in 0..2 {
        let r = grpc_web(&t.base, "/ocomms.auth.v1.AuthService/SignIn", None, sign_in_msg(&ann.email), &[]).await;
        let auth = auth_pb::AuthResponse::decode(r.ok()).expect("decodes");
        assert_eq!(auth.user.expect("user").id, ann.id);
    }
    grpc_web(&t.base, "/ocomms.auth.v1.AuthService/SignIn", None, sign_in_msg(&ann.email), &[]).await.assert_rate_limited();
    rest_sign_in(&api, &ann.email).await.expect_error(429, "RATE_LIMIT_EXCEEDED");
    // Claiming another address changes nothing (TRUST_PROXY is off).
    grpc_web(&t.base, "/ocomms.auth.v1.AuthService/SignIn", None, sign_in_msg(&ann.email), &[("x-forwarded-for", "198.51.100.7")])
        .await
        .assert_rate_limited();

    // Sign-up: 3 a minute per address; one was spent over REST.
    for name in ["Bob", "Cat"] {
        grpc_web(&t.base, "/ocomms.auth.v1.AuthService/SignUp", None, sign_up_msg(name), &[]).await.ok();
    }
    let dan = json!({ "email": "dan@example.com", "password": PASSWORD, "name": "Dan" });
    api.call(Method::POST, "/api/auth/sign-up/email", None, Some(dan)).await.expect("call").expect_error(429, "RATE_LIMIT_EXCEEDED");
    grpc_web(&t.base, "/ocomms.auth.v1.AuthService/SignUp", None, sign_up_msg("Eve"), &[]).await.assert_rate_limited();

    // Password reset: 3 a minute per address, asking and resetting alike.
    let forget = auth_pb::ForgetPasswordRequest { email: ann.email.clone(), ..Default::default() }.encode_to_vec();
    grpc_web(&t.base, "/ocomms.auth.v1.AuthService/ForgetPassword", None, forget.clone(), &[]).await.ok();
    api.call(Method::POST, "/api/auth/forget-password", None, Some(json!({ "email": ann.email }))).await.expect("call").expect(200);
    grpc_web(&t.base, "/ocomms.auth.v1.AuthService/ForgetPassword", None, forget, &[]).await.ok();
    let reset =
        auth_pb::ResetPasswordRequest { token: "guessed".into(), new_password: "another horse battery".into(), ..Default::default() }
            .encode_to_vec();
    grpc_web(&t.base, "/ocomms.auth.v1.AuthService/ResetPassword", None, reset, &[]).await.assert_rate_limited();
    api.call(Method::POST, "/api/auth/reset-password", None, Some(json!({ "token": "guessed", "newPassword": "another horse battery" })))
        .await
        .expect("call")
        .expect_error(429, "RATE_LIMIT_EXCEEDED");
    t.stop().await.expect("stops");
}

/// Whether a request without a valid session was rate limited (else it
/// must have been refused as unauthenticated).
fn refused_or_unauthorized(r: Resp) -> bool {
    if r.status.as_u16() == 429 {
        r.expect_error(429, "RATE_LIMIT_EXCEEDED");
        true
    } else {
        r.expect_error(401, "UNAUTHORIZED");
        false
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn invented_tokens_spend_the_allowance_of_their_address() {
    let t = TestStack::start(limited()).await.expect("stack");
    let api = t.api();
    let ann = api.sign_up("Ann").await.expect("ann");
    // Everything else: 100 a minute (one more every 0.6 s). Requests with a
    // new invented token each (REST or gRPC-web) or none spend one
    // allowance, the address's: sent until each kind has been refused, at
    // most 100 plus what refilled meanwhile get through.
    let (mut accepted, mut refused) = (0, [0; 3]);
    let started = std::time::Instant::now();
    for i in 0..600 {
        if refused.iter().all(|n| *n > 0) {
            break;
        }
        let fake = format!("invented-{i}-{}", uuid::Uuid::new_v4().simple());
        let limited = match i % 3 {
            0 => refused_or_unauthorized(api.get("/api/workspaces", &fake).await),
            1 => {
                let r = grpc_web(
                    &t.base,
                    "/ocomms.auth.v1.AuthService/GetSession",
                    Some(&fake),
                    auth_pb::GetSessionRequest {}.encode_to_vec(),
                    &[],
                )
                .await;
                if r.status.as_deref() == Some("8") {
                    r.assert_rate_limited();
                    true
                } else {
                    assert_eq!(r.status.as_deref(), Some("16"), "UNAUTHENTICATED");
                    false
                }
            }
            _ => refused_or_unauthorized(api.call(Method::GET, "/api/workspaces", None, None).await.expect("call")),
        };
        if limited {
            refused[i % 3] += 1;
        } else {
            accepted += 1;
        }
    }
    let refilled = (started.elapsed().as_secs_f64() / 0.6).ceil() as usize;
    assert!(
        accepted <= 100 + refilled + 2,
        "{accepted} requests got through in {:?}: invented tokens bought allowances",
        started.elapsed()
    );
    assert!(refused.iter().all(|n| *n > 0), "every kind is refused: {refused:?}");
    // A real account, from the same address, spends its own allowance.
    api.get("/api/workspaces", &ann.token).await.expect(200);
    t.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_message_allowance_is_the_users_over_all_sessions() {
    let t = TestStack::start(limited()).await.expect("stack");
    let r = room(&t.api()).await;
    let api = &r.api;
    let second = rest_sign_in(api, &r.ann.email).await.expect(200)["token"].as_str().expect("token").to_owned();
    assert_ne!(second, r.ann.token);
    let path = format!("/api/channels/{}/messages", r.channel);
    // 10 a minute for Ann, whichever session sends.
    for i in 0..5 {
        api.post(&path, &r.ann.token, json!({ "content": format!("one {i}") })).await.expect(201);
        api.post(&path, &second, json!({ "content": format!("two {i}") })).await.expect(201);
    }
    api.post(&path, &second, json!({ "content": "one too many" })).await.expect_error(429, "RATE_LIMIT_EXCEEDED");
    api.post(&path, &r.ann.token, json!({ "content": "one too many" })).await.expect_error(429, "RATE_LIMIT_EXCEEDED");
    let mut s = Socket::connect(&t.base, &r.ann.token).await.expect("socket");
    let ack = s.request("message:send", json!({ "channelId": r.channel, "content": "over the socket" })).await.expect("ack");
    assert_eq!(ack["error"]["code"], "RATE_LIMIT_EXCEEDED", "{ack}");
    let send = msg_pb::SendMessageRequest { channel_id: Some(r.channel.clone()), content: "over gRPC-web".into(), ..Default::default() };
    grpc_web(&t.base, "/ocomms.messaging.v1.MessagingService/SendMessage", Some(&second), send.encode_to_vec(), &[])
        .await
        .assert_rate_limited();
    // Bob's allowance is his own.
    api.post(&path, &r.bob.token, json!({ "content": "hi" })).await.expect(201);
    let page = api.get(&path, &r.bob.token).await.expect(200);
    assert_eq!(page["messages"].as_array().map(Vec::len), Some(11), "refused sends stored nothing");
    s.close().await;
    t.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_record_the_connections_address_not_the_clients_claims() {
    let t = stack().await;
    let api = t.api();
    let ann = api.sign_up("Ann").await.expect("ann");
    let claims = [("x-forwarded-for", "203.0.113.9"), ("x-real-ip", "203.0.113.9"), ("x-ocomms-client-addr", "203.0.113.9")];

    // gRPC-web: the request's own fields and metadata claim another address.
    let forged = auth_pb::SignInRequest {
        email: ann.email.clone(),
        password: PASSWORD.into(),
        ip_address: Some("203.0.113.9".into()),
        user_agent: Some("forged-agent".into()),
        ..Default::default()
    };
    let mut headers = claims.to_vec();
    headers.push(("user-agent", "edge-test/1"));
    let r = grpc_web(&t.base, "/ocomms.auth.v1.AuthService/SignIn", None, forged.encode_to_vec(), &headers).await;
    let token = auth_pb::AuthResponse::decode(r.ok()).expect("decodes").token;
    let sessions = api.get("/api/sessions", &token).await.expect(200);
    let current = sessions["sessions"].as_array().expect("sessions").iter().find(|s| s["current"] == true).expect("current").clone();
    assert_eq!(current["ipAddress"], "127.0.0.1", "{current}");
    assert_eq!(current["userAgent"], "edge-test/1", "{current}");

    // REST: the same claims in the body and headers.
    let mut req = api
        .http
        .post(format!("{}/api/auth/sign-in/email", t.base))
        .header("user-agent", "edge-test/2")
        .json(&json!({ "email": ann.email, "password": PASSWORD, "ipAddress": "203.0.113.9", "userAgent": "forged-agent" }));
    for (k, v) in claims {
        req = req.header(k, v);
    }
    let body: serde_json::Value = req.send().await.expect("sign-in").json().await.expect("json");
    assert_eq!(body["session"]["ipAddress"], "127.0.0.1", "{body}");
    assert_eq!(body["session"]["userAgent"], "edge-test/2", "{body}");
    t.stop().await.expect("stops");
}

/// The status of a WebSocket upgrade to `/api/ws{query}` with `headers`.
async fn upgrade(base: &str, query: &str, headers: &[(&str, String)]) -> u16 {
    let url = format!("{}/api/ws{query}", base.replacen("http", "ws", 1));
    let mut req = url.into_client_request().expect("request");
    for (k, v) in headers {
        req.headers_mut().insert(tungstenite::http::HeaderName::from_bytes(k.as_bytes()).expect("name"), v.parse().expect("value"));
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((mut ws, resp)) => {
            let _ = ws.close(None).await;
            resp.status().as_u16()
        }
        Err(tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("upgrade failed: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cookie_socket_opens_only_from_an_allowed_origin() {
    let t = stack().await;
    let ann = t.api().sign_up("Ann").await.expect("ann");
    let cookie = ("cookie", format!("ocomms_session={}", ann.token));
    let foreign = ("origin", "https://evil.example".to_owned());
    let same = ("origin", t.base.clone());

    assert_eq!(upgrade(&t.base, "", &[cookie.clone(), foreign.clone()]).await, 403, "another site's page, the cookie alone");
    assert_eq!(upgrade(&t.base, "", &[cookie.clone(), ("origin", "null".to_owned())]).await, 403);
    assert_eq!(upgrade(&t.base, "", &[cookie.clone(), same]).await, 101, "the gateway's own page");
    assert_eq!(upgrade(&t.base, "", std::slice::from_ref(&cookie)).await, 101, "not a browser: no Origin");
    // A token the client presents itself is no ambient credential.
    assert_eq!(upgrade(&t.base, &format!("?token={}", ann.token), std::slice::from_ref(&foreign)).await, 101);
    assert_eq!(upgrade(&t.base, "", &[("authorization", format!("Bearer {}", ann.token)), foreign.clone()]).await, 101);
    assert_eq!(upgrade(&t.base, "", &[foreign]).await, 401, "nothing at all");
    t.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn allowed_origins_open_cookie_sockets_from_other_sites() {
    let opts = StackOptions { env: vec![("ALLOWED_ORIGINS".into(), "https://app.example.com".into())], ..Default::default() };
    let t = TestStack::start(opts).await.expect("stack");
    let ann = t.api().sign_up("Ann").await.expect("ann");
    let cookie = ("cookie", format!("ocomms_session={}", ann.token));
    assert_eq!(upgrade(&t.base, "", &[cookie.clone(), ("origin", "https://app.example.com".to_owned())]).await, 101);
    assert_eq!(upgrade(&t.base, "", &[cookie.clone(), ("origin", "https://evil.example".to_owned())]).await, 403);
    assert_eq!(upgrade(&t.base, "", &[cookie, ("origin", t.base.clone())]).await, 101, "the own origin stays allowed");
    t.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn notes_are_saved_with_their_place_in_the_query_string() {
    let t = stack().await;
    let r = room(&t.api()).await;
    let api = &r.api;
    let personal = format!("/api/notes/personal?workspaceId={}", r.ws);
    let mut ann_elsewhere = Socket::connect(&t.base, &r.ann.token).await.expect("socket");
    let mut bob_sock = Socket::connect(&t.base, &r.bob.token).await.expect("socket");
    let saved = api.post(&personal, &r.ann.token, json!({ "content": "# todo", "version": 0 })).await.expect(200);
    assert_eq!(saved["content"], "# todo");
    // Ann's other windows see her personal note at once; nobody else does.
    let ev = ann_elsewhere.event("note:updated", WAIT).await.expect("live");
    assert_eq!((ev["personal"].clone(), ev["content"].clone(), ev["version"].clone()), (json!(true), json!("# todo"), json!(1)));
    assert_eq!(ev["workspaceId"], r.ws.as_str());
    bob_sock.expect_no_event("note:updated", QUIET).await.expect("not bob's");
    let note = api.get(&personal, &r.ann.token).await.expect(200);
    assert_eq!((note["content"].as_str(), note["version"].as_i64()), (Some("# todo"), Some(1)));
    // The body form keeps working.
    api.post("/api/notes/personal", &r.ann.token, json!({ "workspaceId": r.ws, "content": "# done", "version": 1 })).await.expect(200);
    assert_eq!(api.get(&personal, &r.ann.token).await.expect(200)["content"], "# done");

    let channel = format!("/api/notes/channel?channelId={}", r.channel);
    api.post(&channel, &r.ann.token, json!({ "content": "agenda", "version": 0 })).await.expect(200);
    api.post(&channel, &r.bob.token, json!({ "channelId": r.channel, "content": "agenda v2", "version": 1 })).await.expect(200);
    let note = api.get(&channel, &r.bob.token).await.expect(200);
    assert_eq!((note["content"].as_str(), note["version"].as_i64()), (Some("agenda v2"), Some(2)));
    // Query and body naming different places: refused, nothing saved.
    let other = uuid::Uuid::now_v7().to_string();
    api.post(&channel, &r.ann.token, json!({ "channelId": other, "content": "which?", "version": 2 }))
        .await
        .expect_error(400, "VALIDATION_ERROR");
    assert_eq!(api.get(&channel, &r.ann.token).await.expect(200)["content"], "agenda v2");

    // And the document says so.
    let doc = api.call(Method::GET, "/api/openapi.json", None, None).await.expect("doc").expect(200);
    for (path, param) in [("/api/notes/personal", "workspaceId"), ("/api/notes/channel", "channelId")] {
        let params = doc["paths"][path]["post"]["parameters"].as_array().expect("parameters");
        assert!(params.iter().any(|p| p["name"] == param && p["in"] == "query"), "POST {path} documents ?{param}=");
    }
    t.stop().await.expect("stops");
}
