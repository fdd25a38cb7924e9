//! Operations: health, the OpenAPI document, and every service reachable
//! directly over gRPC with health and reflection.

use ocomms_proto::messaging::v1::messaging_service_client::MessagingServiceClient;
use reqwest::Method;
use tokio_stream::StreamExt;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1::ServerReflectionRequest;

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
    let anonymous = client.list_channels(ocomms_proto::messaging::v1::ListChannelsRequest { workspace_id: r.ws.clone() }).await.expect_err("no token");
    assert_eq!(anonymous.code(), tonic::Code::Unauthenticated);
    // A user id in a body buys nothing: identity comes only from the token.
    let mut forged = tonic::Request::new(ocomms_proto::messaging::v1::ListChannelsRequest { workspace_id: r.ws });
    forged.metadata_mut().insert("x-ocomms-user-id", r.ann.id.parse().expect("ascii"));
    assert_eq!(client.list_channels(forged).await.expect_err("forged").code(), tonic::Code::Unauthenticated);
    t.stop().await.expect("stops");
}
