//! svc-notify against real PostgreSQL and svc-auth.

use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use ocomms_proto::notify::v1 as pb;
use ocomms_proto::notify::v1::notify_service_client::NotifyServiceClient;
use ocomms_runtime::events::Bus;
use ocomms_runtime::testing::{self, authed};

#[tokio::test(flavor = "multi_thread")]
async fn notifications_are_listed_filtered_and_marked_read_by_their_owner_only() {
    let bus = Bus::local();
    let auth = svc_auth::testing::spawn(bus.clone()).await.expect("auth");
    let b = bus.clone();
    let notify = testing::spawn_service("notify", svc_notify::MIGRATIONS, &auth.url(), move |common, l, s| {
        svc_notify::serve(svc_notify::Config { messaging_url: "http://127.0.0.1:9".into(), ..svc_notify::Config::new(common) }, b, l, s)
    })
    .await
    .expect("notify");
    let mut c = NotifyServiceClient::connect(notify.url()).await.expect("connect");
    let (ann_id, ann) = svc_auth::testing::user(&auth, "ann").await.expect("ann");
    let (_, bob) = svc_auth::testing::user(&auth, "bob").await.expect("bob");
    let mut conn = AsyncPgConnection::establish(&notify.database_url).await.expect("db");
    for (i, title) in ["first", "second"].iter().enumerate() {
        diesel::sql_query(format!(
            "INSERT INTO notifications (id, user_id, type, title, data, created_at)
             VALUES (gen_random_uuid(), '{ann_id}', 'mention', '{title}', '{{\"channelId\":\"c\"}}', now() + interval '{i} second')"
        ))
        .execute(&mut conn)
        .await
        .expect("row");
    }
    let all = c
        .list_notifications(authed(&ann, pb::ListNotificationsRequest { unread_only: false, limit: None }))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(all.notifications.iter().map(|n| n.title.as_str()).collect::<Vec<_>>(), vec!["second", "first"]);
    let id = all.notifications[0].id.clone();

    let err = c
        .mark_notification_read(authed(&bob, pb::MarkNotificationReadRequest { notification_id: id.clone() }))
        .await
        .expect_err("not bob's");
    assert_eq!(err.code(), tonic::Code::NotFound);
    let mut events = bus.subscribe();
    let n = c
        .mark_notification_read(authed(&ann, pb::MarkNotificationReadRequest { notification_id: id.clone() }))
        .await
        .expect("read")
        .into_inner();
    assert!(n.is_read);
    let ev = tokio::time::timeout(Duration::from_secs(5), events.recv()).await.expect("in time").expect("event");
    assert_eq!(ev.name, "notification:read");
    assert_eq!(ev.data["notificationId"], id.as_str());
    let unread = c
        .list_notifications(authed(&ann, pb::ListNotificationsRequest { unread_only: true, limit: None }))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(unread.notifications.len(), 1);
    assert_eq!(unread.notifications[0].title, "first");
    let err =
        c.list_notifications(authed(&ann, pb::ListNotificationsRequest { unread_only: false, limit: Some(500) })).await.expect_err("limit");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    let none = c
        .list_notifications(authed(&bob, pb::ListNotificationsRequest { unread_only: false, limit: None }))
        .await
        .expect("list")
        .into_inner();
    assert!(none.notifications.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn only_services_send_email() {
    let bus = Bus::local();
    let auth = svc_auth::testing::spawn(bus.clone()).await.expect("auth");
    let notify = testing::spawn_service("notify", svc_notify::MIGRATIONS, &auth.url(), move |common, l, s| {
        svc_notify::serve(svc_notify::Config { messaging_url: "http://127.0.0.1:9".into(), ..svc_notify::Config::new(common) }, bus, l, s)
    })
    .await
    .expect("notify");
    let mut c = NotifyServiceClient::connect(notify.url()).await.expect("connect");
    let (ann_id, ann) = svc_auth::testing::user(&auth, "ann").await.expect("ann");
    let mail = || pb::SendEmailRequest { to: "ann@example.com".into(), subject: "Hello".into(), body: "Hi".into() };
    let err = c.send_email(authed(&ann, mail())).await.expect_err("a user cannot send email");
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
    let ann_id: ocomms_runtime::ids::UserId = ann_id.parse().expect("id");
    let req = ocomms_runtime::identity::service_request(testing::SERVICE_TOKEN, ann_id, mail());
    assert_eq!(c.send_email(req).await.expect("sent").into_inner().delivered_by, "log");
    let bad = ocomms_runtime::identity::service_request(
        testing::SERVICE_TOKEN,
        ann_id,
        pb::SendEmailRequest { to: "a@b.c\r\nBcc: x@y.z".into(), subject: "s".into(), body: "b".into() },
    );
    assert_eq!(c.send_email(bad).await.expect_err("header injection").code(), tonic::Code::InvalidArgument);
}

#[tokio::test(flavor = "multi_thread")]
async fn with_smtp_host_emails_are_sent_over_smtp_as_text_and_html() {
    let (port, got) = testing::smtp_sink().await;
    let bus = Bus::local();
    let auth = svc_auth::testing::spawn(bus.clone()).await.expect("auth");
    let (user_id, user_token) = svc_auth::testing::user(&auth, "ann").await.expect("ann");
    let smtp = svc_notify::config::SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        user: None,
        pass: None,
        from: "OComms <noreply@ocomms.test>".into(),
    };
    let notify = testing::spawn_service("notify", svc_notify::MIGRATIONS, &auth.url(), move |common, l, s| {
        let config = svc_notify::Config {
            smtp_host: Some(smtp.host.clone()),
            smtp: Some(smtp),
            messaging_url: "http://127.0.0.1:9".into(),
            ..svc_notify::Config::new(common)
        };
        svc_notify::serve(config, bus, l, s)
    })
    .await
    .expect("notify");
    let mut c = NotifyServiceClient::connect(notify.url()).await.expect("connect");
    let user: ocomms_runtime::ids::UserId = user_id.parse().expect("id");
    let req = pb::SendEmailRequest {
        to: "ann@example.com".into(),
        subject: "Reset your password".into(),
        body: "Open https://chat.example.com/reset?token=abc to choose a new one.".into(),
    };
    let sent = c
        .send_email(ocomms_runtime::identity::service_request(testing::SERVICE_TOKEN, user, req.clone()))
        .await
        .expect("sent")
        .into_inner();
    assert_eq!(sent.delivered_by, "smtp");
    let mail = got.lock().map(|g| g.clone()).unwrap_or_default();
    assert_eq!(mail.len(), 1);
    let m = &mail[0];
    assert!(m.contains("Subject: Reset your password"), "{m}");
    assert!(m.contains("To: ann@example.com") && m.contains("From: OComms <noreply@ocomms.test>"), "{m}");
    assert!(m.contains("text/plain") && m.contains("text/html"), "a text and an HTML part: {m}");
    assert!(m.contains("<a href="), "{m}");
    // Users cannot send email themselves.
    let e = c.send_email(authed(&user_token, req)).await.expect_err("internal");
    assert_eq!(e.code(), tonic::Code::PermissionDenied);
}
