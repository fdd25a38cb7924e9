//! Operations: health, the OpenAPI document, and every service reachable
//! directly over gRPC with health and reflection.

use ocomms_proto::messaging::v1::messaging_service_client::MessagingServiceClient;
use reqwest::Method;
use tokio_stream::StreamExt;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn health_reports_every_service() {
    let t = stack().await;
    let h = t.api().call(Method::GET, "/api/health", None, None).await.expect("health").expect(200);
    assert_eq!(h["status"], "ok");
    for s in ["auth", "messaging", "presence", "files", "scheduler", "notify"] {
        assert_eq!(h["services"][s], "ok", "{h}");
    }
    t.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_metrics_count_requests_by_route_and_sockets() {
    let t = stack().await;
    let r = room(&t.api()).await;
    let _socket = Socket::connect(&t.base, &r.ann.token).await.expect("socket");
    r.api.get(&format!("/api/channels/{}/messages", r.channel), &r.ann.token).await.expect(200);
    let text = t.api().http.get(format!("{}/metrics", t.base)).send().await.expect("metrics").text().await.expect("text");
    assert!(
        text.contains(r#"ocomms_http_requests_total{method="GET",route="/api/channels/{channelId}/messages",status="2xx"} 1"#),
        "{text}"
    );
    assert!(!text.contains(&r.channel), "label values are route patterns, never ids");
    assert!(text.contains("ocomms_ws_sockets 1"), "{text}");
    t.stop().await.expect("stops");
}

/// Every part's own metrics: gRPC calls by method and code with latency
/// histograms, jobs by outcome, outbox backlog and pool use; in the
/// gateway's `/metrics` under `ocomms up`, at `<SERVICE>_METRICS_ADDR` for
/// a service run on its own.
#[tokio::test(flavor = "multi_thread")]
async fn every_service_reports_its_grpc_calls_jobs_outbox_and_pool() {
    let t = stack().await;
    let r = room(&t.api()).await;
    r.api.post(&format!("/api/channels/{}/messages", r.channel), &r.ann.token, json!({ "content": "@bob metrics" })).await.expect(201);
    let text = ocomms_runtime::testing::eventually(20, || {
        let (http, base) = (t.api().http, t.base.clone());
        async move {
            let text = http.get(format!("{base}/metrics")).send().await.ok()?.text().await.ok()?;
            let want = [
                r#"ocomms_grpc_requests_total{service="MessagingApi",method="send_message",code="Ok"}"#,
                r#"ocomms_grpc_request_duration_seconds_bucket{service="MessagingApi",method="send_message",le="0.1"}"#,
                r#"ocomms_grpc_requests_total{service="AuthApi",method="resolve_token",code="Ok"}"#,
                r#"ocomms_jobs_total{key="message.mentioned",outcome="ok"}"#,
                r#"ocomms_outbox_backlog{source="messaging"}"#,
                r#"ocomms_outbox_oldest_seconds{source="notify"}"#,
                r#"ocomms_db_pool_connections{source="messaging",state="open"}"#,
            ];
            want.iter().all(|w| text.contains(w)).then_some(text)
        }
    })
    .await;
    assert!(text.is_some(), "every part's metrics in the gateway's /metrics");
    // Refused calls are counted by their code.
    let nowhere = uuid::Uuid::now_v7();
    r.api.get(&format!("/api/channels/{nowhere}/messages"), &r.ann.token).await.expect_error(404, "NOT_FOUND");
    let text = t.api().http.get(format!("{}/metrics", t.base)).send().await.expect("metrics").text().await.expect("text");
    assert!(text.contains(r#"ocomms_grpc_requests_total{service="MessagingApi",method="list_messages",code="NotFound"}"#), "{text}");
    assert!(!text.contains(&r.channel) && !text.contains(&nowhere.to_string()), "label values never carry ids");
    // A service on its own serves them at its METRICS_ADDR.
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
    ocomms_runtime::metrics::serve(([127, 0, 0, 1], port).into()).await.expect("serve");
    let own = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await.expect("get").text().await.expect("text");
    assert!(own.contains("ocomms_grpc_requests_total{"), "{own}");
    t.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn openapi_describes_every_route_that_exists() {
    let t = stack().await;
    let api = t.api();
    let doc = api.call(Method::GET, "/api/openapi.json", None, None).await.expect("doc").expect(200);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 20);
    let fake = uuid::Uuid::now_v7().to_string();
    for (path, ops) in paths {
        let concrete = path.split('/').map(|seg| if seg.starts_with('{') { fake.as_str() } else { seg }).collect::<Vec<_>>().join("/");
        for method in ops.as_object().expect("ops").keys() {
            if path == "/api/ws" {
                continue;
            }
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let r = api.call(m, &concrete, None, Some(json!({}))).await.expect("call");
            let unrouted = r.status.as_u16() == 405 || r.body["error"]["message"].as_str().is_some_and(|s| s.starts_with("no route"));
            assert!(!unrouted, "{method} {path} is documented but not served: {} {}", r.status, r.body);
        }
    }
    // And a route that is not documented is not served.
    let r = api.call(Method::GET, "/api/undocumented", None, None).await.expect("call");
    assert_eq!(r.status.as_u16(), 404);
    t.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_service_answers_grpc_health_and_reflection() {
    let t = stack().await;
    for (name, addr) in &t.stack.services {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}")).expect("url").connect().await.expect("connects");
        let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
        let h = health.check(tonic_health::pb::HealthCheckRequest { service: String::new() }).await.expect("health").into_inner();
        assert_eq!(h.status, tonic_health::pb::health_check_response::ServingStatus::Serving as i32, "{name}");

        let mut refl = ServerReflectionClient::new(channel);
        let req = ServerReflectionRequest { host: String::new(), message_request: Some(MessageRequest::ListServices(String::new())) };
        let mut stream = refl.server_reflection_info(tokio_stream::once(req)).await.expect("reflection").into_inner();
        let resp = stream.next().await.expect("answer").expect("ok");
        let Some(MessageResponse::ListServicesResponse(list)) = resp.message_response else { panic!("unexpected reflection answer") };
        let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
        let expected = format!("ocomms.{name}.v1.");
        assert!(names.iter().any(|n| n.starts_with(&expected)), "{name}: {names:?}");
        assert!(names.iter().all(|n| !n.starts_with("ocomms.") || n.starts_with(&expected)), "{name} advertises others: {names:?}");
    }
    t.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn services_answer_grpc_directly_with_the_callers_token() {
    let t = stack().await;
    let r = room(&t.api()).await;
    let mut client = MessagingServiceClient::connect(format!("http://{}", t.service("messaging"))).await.expect("connects");
    let mut req = tonic::Request::new(ocomms_proto::messaging::v1::ListChannelsRequest { workspace_id: r.ws.clone() });
    req.metadata_mut().insert("authorization", format!("Bearer {}", r.ann.token).parse().expect("ascii"));
    let list = client.list_channels(req).await.expect("list").into_inner();
    assert_eq!(list.channels.len(), 1);
    let anonymous =
        client.list_channels(ocomms_proto::messaging::v1::ListChannelsRequest { workspace_id: r.ws.clone() }).await.expect_err("no token");
    assert_eq!(anonymous.code(), tonic::Code::Unauthenticated);
    // A user id in a body buys nothing: identity comes only from the token.
    let mut forged = tonic::Request::new(ocomms_proto::messaging::v1::ListChannelsRequest { workspace_id: r.ws });
    forged.metadata_mut().insert("x-ocomms-user-id", r.ann.id.parse().expect("ascii"));
    assert_eq!(client.list_channels(forged).await.expect_err("forged").code(), tonic::Code::Unauthenticated);
    t.stop().await.expect("stops");
}

/// A grpc-web frame: flag byte, big-endian length, payload.
fn frame(flag: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![flag];
    out.extend((payload.len() as u32).to_be_bytes());
    out.extend(payload);
    out
}

/// Splits a grpc-web response body into (data frames, trailer text).
fn unframe(mut body: &[u8]) -> (Vec<Vec<u8>>, String) {
    let (mut data, mut trailers) = (Vec::new(), String::new());
    while body.len() >= 5 {
        let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
        let payload = body[5..5 + len].to_vec();
        if body[0] & 0x80 != 0 {
            trailers.push_str(&String::from_utf8_lossy(&payload));
        } else {
            data.push(payload);
        }
        body = &body[5 + len..];
    }
    (data, trailers)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gateway_speaks_grpc_web_for_every_service() {
    use prost::Message;
    let t = stack().await;
    let r = room(&t.api()).await;
    let http = reqwest::Client::new();
    let call = |path: &str, token: Option<&str>, msg: Vec<u8>| {
        let mut req = http
            .post(format!("{}{path}", t.base))
            .header("content-type", "application/grpc-web+proto")
            .header("x-grpc-web", "1")
            .body(frame(0, &msg));
        if let Some(tok) = token {
            req = req.bearer_auth(tok);
        }
        req.send()
    };
    let resp =
        call("/ocomms.auth.v1.AuthService/GetSession", Some(&r.ann.token), ocomms_proto::auth::v1::GetSessionRequest {}.encode_to_vec())
            .await
            .expect("call");
    assert_eq!(resp.status().as_u16(), 200);
    assert!(resp.headers()["content-type"].to_str().expect("ct").starts_with("application/grpc-web"));
    let headers = format!("{:?}", resp.headers());
    let (data, trailers) = unframe(&resp.bytes().await.expect("body"));
    assert!(trailers.contains("grpc-status:0"), "trailers {trailers:?}, headers {headers}, frames {}", data.len());
    let session = ocomms_proto::auth::v1::SessionResponse::decode(data[0].as_slice()).expect("decodes");
    assert_eq!(session.user.expect("user").id, r.ann.id);

    let list = ocomms_proto::messaging::v1::ListChannelsRequest { workspace_id: r.ws.clone() }.encode_to_vec();
    let resp = call("/ocomms.messaging.v1.MessagingService/ListChannels", Some(&r.bob.token), list.clone()).await.expect("call");
    let (data, _) = unframe(&resp.bytes().await.expect("body"));
    let channels = ocomms_proto::messaging::v1::ListChannelsResponse::decode(data[0].as_slice()).expect("decodes");
    assert_eq!(channels.channels.len(), 1);

    // Without a token: UNAUTHENTICATED (16), as over plain gRPC.
    let resp = call("/ocomms.messaging.v1.MessagingService/ListChannels", None, list).await.expect("call");
    // A trailers-only answer carries the status in the headers.
    let in_headers = resp.headers().get("grpc-status").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (_, trailers) = unframe(&resp.bytes().await.expect("body"));
    assert!(in_headers.as_deref() == Some("16") || trailers.contains("grpc-status:16"), "{in_headers:?} {trailers}");
    // Not an OComms service, or not grpc-web: the JSON 404.
    let other = http
        .post(format!("{}/grpc.health.v1.Health/Check", t.base))
        .header("content-type", "application/grpc-web+proto")
        .body(frame(0, &[]))
        .send()
        .await
        .expect("call");
    assert_eq!(other.status().as_u16(), 404);
    let plain = http.post(format!("{}/api/nothing", t.base)).json(&json!({})).send().await.expect("call");
    assert_eq!(plain.status().as_u16(), 404);
    t.stop().await.expect("stops");
}
