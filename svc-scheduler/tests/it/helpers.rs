use std::time::Duration;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use ocomms_proto::messaging::v1 as m;
use ocomms_proto::messaging::v1::messaging_service_client::MessagingServiceClient;
use ocomms_proto::scheduler::v1::scheduler_service_client::SchedulerServiceClient;
use ocomms_runtime::events::Bus;
pub use ocomms_runtime::testing::authed;
use ocomms_runtime::testing::{self, Running};
use tonic::transport::Channel;

pub struct App {
    // Fields drop in order: the services first (their job checks may still
    // call svc-auth), svc-auth last.
    pub scheduler: Running,
    pub messaging: Running,
    pub auth: Running,
    pub client: SchedulerServiceClient<Channel>,
    pub chat: MessagingServiceClient<Channel>,
}

pub async fn messaging(auth: &Running, bus: Bus) -> Running {
    let common = testing::test_config("messaging", svc_messaging::MIGRATIONS, &auth.url()).await.expect("config");
    let db = common.database_url.clone();
    testing::spawn(db, move |l, s| {
        svc_messaging::serve(
            svc_messaging::Config {
                common,
                membership_cache_secs: 0,
                presence_url: "http://127.0.0.1:9".into(),
                files_url: "http://127.0.0.1:9".into(),
            },
            bus,
            l,
            s,
        )
    })
    .await
    .expect("svc-messaging starts")
    // svc-notify and svc-files are not started here.
    .without_consumers_of(&[
        ocomms_proto::messaging::v1::jobs::MESSAGE_MENTIONED,
        ocomms_proto::messaging::v1::jobs::MESSAGE_LINKS,
        ocomms_proto::messaging::v1::jobs::MESSAGE_DELETED,
    ])
}

pub async fn app() -> App {
    let bus = Bus::local();
    let auth = svc_auth::testing::spawn(bus.clone()).await.expect("svc-auth starts");
    let messaging = messaging(&auth, bus.clone()).await;
    let messaging_url = messaging.url();
    let scheduler = testing::spawn_service("scheduler", svc_scheduler::MIGRATIONS, &auth.url(), move |common, l, s| {
        svc_scheduler::serve(
            svc_scheduler::Config { common, messaging_url, files_url: "http://127.0.0.1:9".into(), crash_at: None },
            bus,
            l,
            s,
        )
    })
    .await
    .expect("svc-scheduler starts")
    // svc-notify (reminders, failures) and svc-files (released attachments)
    // are not started here.
    .without_consumers_of(&[
        ocomms_proto::scheduler::v1::jobs::REMINDER_FIRED,
        ocomms_proto::scheduler::v1::jobs::SCHEDULED_FAILED,
        ocomms_proto::messaging::v1::jobs::MESSAGE_DELETED,
    ]);
    let client = SchedulerServiceClient::connect(scheduler.url()).await.expect("connects");
    let chat = MessagingServiceClient::connect(messaging.url()).await.expect("connects");
    App { auth, messaging, scheduler, client, chat }
}

/// A user: (id, token).
pub async fn user(app: &App, name: &str) -> (String, String) {
    svc_auth::testing::user(&app.auth, name).await.expect("user")
}

/// A workspace of `owner` with `members`, and a public channel all of them joined.
pub async fn team(app: &App, owner: &str, members: &[&str]) -> (String, String) {
    let ws = svc_auth::testing::workspace(&app.auth, owner).await.expect("workspace");
    let channel = app
        .chat
        .clone()
        .create_channel(authed(owner, m::CreateChannelRequest { workspace_id: ws.clone(), name: "general".into(), ..Default::default() }))
        .await
        .expect("channel")
        .into_inner()
        .id;
    for token in members {
        svc_auth::testing::invite(&app.auth, &ws, owner, token).await.expect("invite");
        app.chat.clone().join_channel(authed(token, m::JoinChannelRequest { channel_id: channel.clone() })).await.expect("join");
    }
    (ws, channel)
}

pub fn in_secs(secs: i64) -> String {
    ocomms_runtime::time::rfc3339(chrono::Utc::now() + chrono::Duration::seconds(secs))
}

pub fn code(s: &tonic::Status) -> String {
    ocomms_runtime::ServiceError::from_status(s).code.as_str().to_owned()
}

pub async fn db(url: &str) -> AsyncPgConnection {
    AsyncPgConnection::establish(url).await.expect("db")
}

pub async fn count(conn: &mut AsyncPgConnection, sql: &str) -> i64 {
    ocomms_runtime::db::count(conn, sql).await.expect("count")
}

/// Waits until `sql` counts `want` (at most `secs`), and answers the last count.
pub async fn wait_count(url: &str, sql: &str, want: i64, secs: u64) -> i64 {
    let mut conn = db(url).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let n = count(&mut conn, sql).await;
        if n == want || tokio::time::Instant::now() > deadline {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
