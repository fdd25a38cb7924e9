//! One trace from the REST call to the notification: the gateway continues
//! the caller's `traceparent`, every gRPC hop and the outbox and broker
//! carry it, and the spans reach a real OTLP receiver run by the test.

use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};

use crate::support::*;

/// An OTLP/gRPC trace receiver that keeps (trace id hex, span name).
#[derive(Clone, Default)]
struct Receiver {
    spans: Arc<Mutex<Vec<(String, String)>>>,
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        req: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut kept = self.spans.lock().map_err(|_| tonic::Status::internal("poisoned"))?;
        for rs in &req.get_ref().resource_spans {
            for ss in &rs.scope_spans {
                for s in &ss.spans {
                    let id: String = s.trace_id.iter().map(|b| format!("{b:02x}")).collect();
                    kept.push((id, s.name.clone()));
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mention_is_one_trace_from_the_rest_call_to_the_notification() {
    let receiver = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = TraceServiceServer::new(receiver.clone());
    tokio::spawn(async move {
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
        let _ = tonic::transport::Server::builder().add_service(server).serve_with_incoming(incoming).await;
    });
    // The process's one tracing set-up (this test binary's other tests'
    // spans go there too; this test looks for its own trace only).
    ocomms_runtime::telemetry::init_with(
        Some(ocomms_runtime::telemetry::Otlp {
            endpoint: format!("http://127.0.0.1:{port}"),
            protocol: "grpc".into(),
            service_name: "ocomms-e2e".into(),
        }),
        std::env::var_os("TEST_LOG").is_some(),
    );

    let t = stack().await;
    let api = t.api();
    let r = room(&api).await;
    let trace = format!("{:032x}", uuid::Uuid::new_v4().as_u128());
    let resp = api
        .http
        .post(format!("{}/api/channels/{}/messages", api.base, r.channel))
        .bearer_auth(&r.ann.token)
        .header("traceparent", format!("00-{trace}-00f067aa0ba902b7-01"))
        .json(&json!({ "content": "@bob the trace goes all the way" }))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 201);
    ocomms_runtime::testing::eventually(15, || async {
        let l = api.get("/api/notifications", &r.bob.token).await.expect(200);
        (l["unreadCount"] == 1).then_some(())
    })
    .await
    .expect("bob is notified");

    let want = ["http", "MessagingApi/send_message", "job message.mentioned"];
    let names = ocomms_runtime::testing::eventually(20, || {
        let (receiver, trace) = (receiver.clone(), trace.clone());
        async move {
            let _ = tokio::task::spawn_blocking(ocomms_runtime::telemetry::flush).await;
            let names: Vec<String> =
                receiver.spans.lock().map(|s| s.iter().filter(|(t, _)| *t == trace).map(|(_, n)| n.clone()).collect()).unwrap_or_default();
            want.iter().all(|w| names.iter().any(|n| n == w)).then_some(names)
        }
    })
    .await;
    let seen: Vec<String> =
        receiver.spans.lock().map(|s| s.iter().filter(|(t, _)| *t == trace).map(|(_, n)| n.clone()).collect()).unwrap_or_default();
    assert!(names.is_some(), "spans of the trace: {seen:?}");
    // The other hops of the send continue it too (svc-auth resolving the token).
    assert!(seen.iter().any(|n| n.starts_with("AuthApi/")), "{seen:?}");
    t.stop().await.expect("stop");
}
