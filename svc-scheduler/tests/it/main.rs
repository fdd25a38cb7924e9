//! svc-scheduler against real PostgreSQL and svc-auth.

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use ocomms_proto::scheduler::v1 as pb;
use ocomms_proto::scheduler::v1::scheduler_service_client::SchedulerServiceClient;
use ocomms_runtime::events::Bus;
use ocomms_runtime::testing::{self, authed};

#[tokio::test(flavor = "multi_thread")]
async fn each_user_lists_only_their_scheduled_messages_soonest_first() {
    let bus = Bus::local();
    let auth = svc_auth::testing::spawn(bus.clone()).await.expect("auth");
    let sched = testing::spawn_service("scheduler", svc_scheduler::MIGRATIONS, &auth.url(), move |common, l, s| {
        svc_scheduler::serve(svc_scheduler::Config { common }, bus, l, s)
    })
    .await
    .expect("scheduler");
    let mut c = SchedulerServiceClient::connect(sched.url()).await.expect("connect");
    let (ann_id, ann) = svc_auth::testing::user(&auth, "ann").await.expect("ann");
    let (_, bob) = svc_auth::testing::user(&auth, "bob").await.expect("bob");
    let mut conn = AsyncPgConnection::establish(&sched.database_url).await.expect("db");
    for (content, when) in [("later", "2030-01-02T09:00:00Z"), ("sooner", "2030-01-01T09:00:00Z")] {
        diesel::sql_query(format!(
            "INSERT INTO scheduled_messages (id, workspace_id, author_id, channel_id, content, scheduled_for, timezone)
             VALUES (gen_random_uuid(), gen_random_uuid(), '{ann_id}', gen_random_uuid(), '{content}', '{when}', 'Europe/Paris')"
        ))
        .execute(&mut conn)
        .await
        .expect("row");
    }
    let list = c.list_scheduled_messages(authed(&ann, pb::ListScheduledMessagesRequest {})).await.expect("list").into_inner();
    let contents: Vec<&str> = list.scheduled_messages.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(contents, vec!["sooner", "later"]);
    assert_eq!(list.scheduled_messages[0].status, "pending");
    assert_eq!(list.scheduled_messages[0].scheduled_for, "2030-01-01T09:00:00.000Z");
    let other = c.list_scheduled_messages(authed(&bob, pb::ListScheduledMessagesRequest {})).await.expect("list").into_inner();
    assert!(other.scheduled_messages.is_empty());
}
