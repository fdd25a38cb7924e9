use ocomms_proto::messaging::v1 as pb;
use ocomms_proto::messaging::v1::jobs;
use ocomms_proto::messaging::v1::messaging_service_client::MessagingServiceClient;
use ocomms_runtime::events::Bus;
pub use ocomms_runtime::testing::authed;
use ocomms_runtime::testing::{self, Running};
use tonic::transport::Channel;

pub struct App {
    /// The job exchange prefix of this test's svc-messaging.
    pub amqp_prefix: String,
    // Fields drop in order: the services first (their job checks may still
    // call svc-auth), svc-auth last.
    pub _messaging: Running,
    pub auth: Running,
    pub client: MessagingServiceClient<Channel>,
    pub bus: Bus,
}

pub async fn app() -> App {
    let bus = Bus::local();
    let auth = svc_auth::testing::spawn(bus.clone()).await.expect("svc-auth starts");
    let b = bus.clone();
    let common = testing::test_config("messaging", svc_messaging::MIGRATIONS, &auth.url()).await.expect("config");
    let amqp_prefix = common.amqp_prefix.clone();
    let db = common.database_url.clone();
    let messaging = testing::spawn(db, move |l, s| {
        svc_messaging::serve(
            svc_messaging::Config {
                common,
                membership_cache_secs: 5,
                presence_url: "http://127.0.0.1:9".into(),
                files_url: "http://127.0.0.1:9".into(),
            },
            b,
            l,
            s,
        )
    })
    .await
    .expect("svc-messaging starts")
    // svc-notify and svc-files are not started here (a test that wants
    // these jobs consumes them itself).
    .without_consumers_of(&[jobs::MESSAGE_MENTIONED, jobs::MESSAGE_LINKS, jobs::MESSAGE_DELETED]);
    let client = MessagingServiceClient::connect(messaging.url()).await.expect("connects");
    App { amqp_prefix, auth, _messaging: messaging, client, bus }
}

/// A user: (id, token).
pub async fn user(app: &App, name: &str) -> (String, String) {
    svc_auth::testing::user(&app.auth, name).await.expect("user")
}

pub async fn workspace(app: &App, owner: &str) -> String {
    svc_auth::testing::workspace(&app.auth, owner).await.expect("workspace")
}

pub async fn invite(app: &App, ws: &str, owner: &str, joiner: &str) {
    svc_auth::testing::invite(&app.auth, ws, owner, joiner).await.expect("invite")
}

pub async fn channel(app: &App, token: &str, ws: &str, name: &str, private: bool) -> pb::Channel {
    app.client
        .clone()
        .create_channel(authed(
            token,
            pb::CreateChannelRequest { workspace_id: ws.into(), name: name.into(), is_private: private, ..Default::default() },
        ))
        .await
        .expect("channel")
        .into_inner()
}

pub fn send_req(channel: &str, content: &str) -> pb::SendMessageRequest {
    pb::SendMessageRequest { channel_id: Some(channel.into()), content: content.into(), ..Default::default() }
}

pub fn history_req(channel: &str, before: Option<i64>, after: Option<i64>, limit: Option<u32>) -> pb::ListMessagesRequest {
    pb::ListMessagesRequest { channel_id: Some(channel.into()), conversation_id: None, before, after, limit }
}

pub fn code(s: &tonic::Status) -> String {
    ocomms_runtime::ServiceError::from_status(s).code.as_str().to_owned()
}
