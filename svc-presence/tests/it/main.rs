//! svc-presence against real PostgreSQL and svc-auth (and Redis for the
//! shared store).

use std::time::Duration;

use ocomms_proto::presence::v1 as pb;
use ocomms_proto::presence::v1::presence_service_client::PresenceServiceClient;
use ocomms_runtime::events::Bus;
use ocomms_runtime::testing::{self, Running, authed};

async fn app(redis: bool) -> (Running, Running, PresenceServiceClient<tonic::transport::Channel>, Bus) {
    let bus = Bus::local();
    let auth = svc_auth::testing::spawn(bus.clone()).await.expect("auth");
    let b = bus.clone();
    let presence = testing::spawn_service("presence", svc_presence::MIGRATIONS, &auth.url(), move |mut common, l, s| {
        if redis {
            common.redis_url = Some(testing::redis_url());
        }
        svc_presence::serve(svc_presence::Config { common, ttl_secs: 300 }, b, l, s)
    })
    .await
    .expect("presence");
    let client = PresenceServiceClient::connect(presence.url()).await.expect("connect");
    (auth, presence, client, bus)
}

fn code(s: &tonic::Status) -> String {
    ocomms_runtime::ServiceError::from_status(s).code.as_str().to_owned()
}

async fn presence_roundtrip(redis: bool) {
    let (auth, _p, mut c, bus) = app(redis).await;
    let (ann_id, ann) = svc_auth::testing::user(&auth, "ann").await.expect("ann");
    let (bob_id, bob) = svc_auth::testing::user(&auth, "bob").await.expect("bob");
    let (_, eve) = svc_auth::testing::user(&auth, "eve").await.expect("eve");
    let ws = svc_auth::testing::workspace(&auth, &ann).await.expect("ws");
    svc_auth::testing::invite(&auth, &ws, &ann, &bob).await.expect("invite");
    let mut events = bus.subscribe();

    c.set_presence(authed(&ann, pb::SetPresenceRequest { workspace_id: ws.clone(), status: "active".into() })).await.expect("set");
    let got = c
        .get_presence(authed(&bob, pb::GetPresenceRequest { workspace_id: ws.clone(), user_ids: vec![ann_id.clone(), bob_id.clone()] }))
        .await
        .expect("get")
        .into_inner();
    assert_eq!(got.presences[0].status, "active");
    assert_eq!(got.presences[1].status, "offline");
    let ev = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let ev = events.recv().await.expect("event");
            if ev.name == "presence:update" {
                return ev;
            }
        }
    })
    .await
    .expect("presence:update in time");
    assert_eq!(ev.data["userId"], ann_id.as_str());
    assert_eq!(ev.data["status"], "active");

    let err = c
        .set_presence(authed(&ann, pb::SetPresenceRequest { workspace_id: ws.clone(), status: "sleeping".into() }))
        .await
        .expect_err("bad");
    assert_eq!(code(&err), "VALIDATION_ERROR");
    let err = c
        .get_presence(authed(&eve, pb::GetPresenceRequest { workspace_id: ws.clone(), user_ids: vec![ann_id] }))
        .await
        .expect_err("outsider");
    assert_eq!(code(&err), "NOT_FOUND");
    let err = c.set_presence(authed(&eve, pb::SetPresenceRequest { workspace_id: ws, status: "away".into() })).await.expect_err("outsider");
    assert_eq!(code(&err), "NOT_FOUND");
}

#[tokio::test(flavor = "multi_thread")]
async fn presence_is_set_read_and_announced_in_memory() {
    presence_roundtrip(false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn presence_is_set_read_and_announced_through_redis() {
    presence_roundtrip(true).await;
}
