//! For other crates' tests: svc-auth on port 0 with a fresh database, and
//! quick ways to make users and workspaces through its real gRPC API.

use ocomms_proto::auth::v1 as pb;
use ocomms_proto::auth::v1::auth_service_client::AuthServiceClient;
use ocomms_runtime::events::Bus;
use ocomms_runtime::testing::{self, Running, authed};
use tonic::transport::Channel;

use crate::Config;

/// Starts svc-auth; `bus` lets the caller observe its events. Its
/// `member.removed` jobs have no consumer here (svc-messaging's tests start
/// svc-messaging on another exchange).
pub async fn spawn(bus: Bus) -> anyhow::Result<Running> {
    testing::spawn_service("auth", crate::MIGRATIONS, "", move |common, listener, shutdown| {
        crate::serve(
            Config {
                common,
                principal_cache_secs: 5,
                notify_url: "http://127.0.0.1:9".into(),
                messaging_url: "http://127.0.0.1:9".into(),
                public_url: "http://localhost:3000".into(),
                two_factor_key: Some([42; 32]),
                password_hash_threads: 0,
                password_hash_queue: crate::password::DEFAULT_QUEUE,
            },
            bus,
            listener,
            shutdown,
        )
    })
    .await
    .map(|r| r.without_consumers_of(&[crate::jobs::MEMBER_REMOVED]))
}

pub async fn client(auth: &Running) -> anyhow::Result<AuthServiceClient<Channel>> {
    Ok(AuthServiceClient::connect(auth.url()).await?)
}

/// A signed-up user: (user id, session token).
pub async fn user(auth: &Running, name: &str) -> anyhow::Result<(String, String)> {
    let email = format!("{}-{}@example.com", name.to_lowercase(), uuid::Uuid::new_v4().simple());
    let r = client(auth)
        .await?
        .sign_up(pb::SignUpRequest { email, password: "correct horse battery".into(), name: name.into(), ..Default::default() })
        .await?
        .into_inner();
    Ok((r.user.map(|u| u.id).unwrap_or_default(), r.token))
}

/// A workspace owned by the token's user; returns its id.
pub async fn workspace(auth: &Running, owner_token: &str) -> anyhow::Result<String> {
    let slug = format!("ws-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let ws = client(auth)
        .await?
        .create_workspace(authed(owner_token, pb::CreateWorkspaceRequest { name: "Test".into(), slug, join_policy: None }))
        .await?
        .into_inner();
    Ok(ws.id)
}

/// Adds the second user to the workspace through an invite.
pub async fn invite(auth: &Running, ws: &str, admin_token: &str, joiner_token: &str) -> anyhow::Result<()> {
    let mut c = client(auth).await?;
    let inv = c
        .create_invite(authed(
            admin_token,
            pb::CreateInviteRequest { workspace_id: ws.into(), email: None, role: None, ..Default::default() },
        ))
        .await?
        .into_inner();
    c.accept_invite(authed(joiner_token, pb::AcceptInviteRequest { token: inv.token })).await?;
    Ok(())
}
