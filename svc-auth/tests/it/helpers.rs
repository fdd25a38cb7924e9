use ocomms_proto::auth::v1 as pb;
use ocomms_proto::auth::v1::auth_service_client::AuthServiceClient;
use ocomms_runtime::events::Bus;
use ocomms_runtime::testing::Running;
pub use ocomms_runtime::testing::authed;
use tonic::transport::Channel;

pub struct App {
    pub running: Running,
    pub client: AuthServiceClient<Channel>,
    pub bus: Bus,
}

pub async fn app() -> App {
    let bus = Bus::local();
    let running = svc_auth::testing::spawn(bus.clone()).await.expect("svc-auth starts");
    let client = svc_auth::testing::client(&running).await.expect("connects");
    App { running, client, bus }
}

pub fn sign_up_req(email: &str, password: &str) -> pb::SignUpRequest {
    pb::SignUpRequest { email: email.into(), password: password.into(), name: "Ann".into(), ..Default::default() }
}

pub fn sign_in_req(email: &str, password: &str) -> pb::SignInRequest {
    pb::SignInRequest { email: email.into(), password: password.into(), ..Default::default() }
}

/// The OComms error code of a failed call.
pub fn code(s: &tonic::Status) -> String {
    ocomms_runtime::ServiceError::from_status(s).code.as_str().to_owned()
}
