//! Mentions leave svc-messaging durably: committed with the message into
//! the outbox, relayed to RabbitMQ with confirms, kept in a queue until a
//! consumer takes them.

use std::time::Duration;

use ocomms_runtime::jobs::Broker;
use ocomms_runtime::testing;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_mention_is_published_to_rabbitmq_after_commit() {
    let app = app().await;
    let (_, ann) = user(&app, "ann").await;
    let (bob_id, bob) = user(&app, "bob").await;
    let (cat_id, cat) = user(&app, "cat").await;
    let ws = workspace(&app, &ann).await;
    invite(&app, &ws, &ann, &bob).await;
    invite(&app, &ws, &ann, &cat).await;
    let general = channel(&app, &ann, &ws, "general", false).await;

    // A consumer standing in for svc-notify, on the same exchange.
    let pool = ocomms_runtime::db::pool(&app._messaging.database_url, 1).await.expect("pool");
    let broker = Broker::connect(Some(&testing::amqp_url()), &app.amqp_prefix, true, &pool).await.expect("rabbitmq");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    broker.consume("test.mentions", &[svc_messaging::MESSAGE_MENTIONED], move |job| {
        let tx = tx.clone();
        async move {
            tx.send(job).map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok(())
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;

    let m =
        app.client.clone().send_message(authed(&ann, send_req(&general.id, "@bob and @cat, see this"))).await.expect("send").into_inner();
    let job = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await.expect("relayed in time").expect("job");
    assert!(job.id.starts_with("messaging:"), "{}", job.id);
    let payload: ocomms_proto::messaging::v1::MessageMentionedJob = job.decode().expect("the proto message");
    assert_eq!(payload.message_id, m.id);
    assert!(payload.recipients.iter().all(|r| r.kind == "mention"), "{:?}", payload.recipients);
    let mut to: Vec<String> = payload.recipients.iter().map(|r| r.user_id.clone()).collect();
    to.sort();
    let mut expected = vec![bob_id, cat_id];
    expected.sort();
    assert_eq!(to, expected);
    // Once: the outbox row is marked published.
    app.client.clone().send_message(authed(&ann, send_req(&general.id, "no mention here"))).await.expect("send");
    assert!(tokio::time::timeout(Duration::from_millis(800), rx.recv()).await.is_err(), "only messages with mentions make jobs, each once");
}
