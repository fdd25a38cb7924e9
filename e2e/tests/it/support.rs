use std::time::Duration;

pub use ocomms_e2e::{Api, Socket, StackOptions, TestStack, User};
pub use serde_json::json;

pub const WAIT: Duration = Duration::from_secs(5);
/// How long "nothing arrives" is watched for.
pub const QUIET: Duration = Duration::from_millis(400);

pub async fn stack() -> TestStack {
    TestStack::start(StackOptions::default()).await.expect("stack starts")
}

/// Two users sharing a workspace and a public channel both have joined.
pub struct Room {
    pub api: Api,
    pub ann: User,
    pub bob: User,
    pub ws: String,
    pub channel: String,
}

pub async fn room(api: &Api) -> Room {
    let ann = api.sign_up("Ann").await.expect("ann");
    let bob = api.sign_up("Bob").await.expect("bob");
    let ws = api.workspace(&ann).await.expect("workspace");
    api.invite(&ws, &ann, &bob).await.expect("invite");
    let channel = api.channel(&ws, &ann, "general").await.expect("channel");
    api.join(&channel, &bob).await.expect("join");
    Room { api: api.clone(), ann, bob, ws, channel }
}
