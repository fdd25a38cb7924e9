use ocomms_proto::auth::v1 as pb;

use crate::helpers::*;

async fn token(app: &App, name: &str) -> (String, String) {
    svc_auth::testing::user(&app.running, name).await.expect("user")
}

fn create(slug: &str) -> pb::CreateWorkspaceRequest {
    pb::CreateWorkspaceRequest { name: "Acme".into(), slug: slug.into(), join_policy: None }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_creator_owns_the_workspace_and_slugs_are_unique() {
    let mut app = app().await;
    let (_, ann) = token(&app, "ann").await;
    let (_, bob) = token(&app, "bob").await;
    let ws = app.client.create_workspace(authed(&ann, create("acme"))).await.expect("create").into_inner();
    assert_eq!(ws.role, "owner");
    let err = app.client.create_workspace(authed(&bob, create("acme"))).await.expect_err("taken");
    assert_eq!(code(&err), "CONFLICT");
    let list = app.client.list_workspaces(authed(&bob, pb::ListWorkspacesRequest {})).await.expect("list").into_inner();
    assert!(list.workspaces.is_empty(), "the failed create left nothing behind");
    let err = app.client.create_workspace(authed(&ann, create("No Spaces"))).await.expect_err("bad slug");
    assert_eq!(code(&err), "VALIDATION_ERROR");
}

#[tokio::test(flavor = "multi_thread")]
async fn another_tenant_sees_nothing() {
    let mut app = app().await;
    let (_, ann) = token(&app, "ann").await;
    let (_, eve) = token(&app, "eve").await;
    let ws = svc_auth::testing::workspace(&app.running, &ann).await.expect("ws");
    let get = app.client.get_workspace(authed(&eve, pb::GetWorkspaceRequest { workspace_id: ws.clone() })).await.expect_err("hidden");
    assert_eq!(code(&get), "NOT_FOUND");
    let members = app.client.list_members(authed(&eve, pb::ListMembersRequest { workspace_id: ws.clone() })).await.expect_err("hidden");
    assert_eq!(code(&members), "NOT_FOUND");
    let inv = app
        .client
        .create_invite(authed(&eve, pb::CreateInviteRequest { workspace_id: ws.clone(), email: None, role: None, ..Default::default() }))
        .await
        .expect_err("hidden");
    assert_eq!(code(&inv), "NOT_FOUND");
    let join = app.client.join_workspace(authed(&eve, pb::JoinWorkspaceRequest { workspace_id: ws })).await.expect_err("invite-only");
    assert_eq!(code(&join), "NOT_FOUND");
}

#[tokio::test(flavor = "multi_thread")]
async fn invites_make_members_and_respect_their_limits() {
    let mut app = app().await;
    let (_, ann) = token(&app, "ann").await;
    let (bob_id, bob) = token(&app, "bob").await;
    let (_, cat) = token(&app, "cat").await;
    let ws = svc_auth::testing::workspace(&app.running, &ann).await.expect("ws");

    // A link invite works for anyone, more than once.
    let link = app
        .client
        .create_invite(authed(&ann, pb::CreateInviteRequest { workspace_id: ws.clone(), email: None, role: None, ..Default::default() }))
        .await
        .expect("invite")
        .into_inner();
    let joined = app
        .client
        .accept_invite(authed(&bob, pb::AcceptInviteRequest { token: link.token.clone() }))
        .await
        .expect("bob joins")
        .into_inner();
    assert_eq!(joined.member.expect("member").role, "member");
    app.client.accept_invite(authed(&cat, pb::AcceptInviteRequest { token: link.token.clone() })).await.expect("cat joins");
    let m = app
        .client
        .get_membership(authed(&ann, pb::GetMembershipRequest { workspace_id: ws.clone(), user_id: Some(bob_id) }))
        .await
        .expect("bob is a member")
        .into_inner();
    assert_eq!(m.role, "member");

    // Members cannot invite.
    let err = app
        .client
        .create_invite(authed(&bob, pb::CreateInviteRequest { workspace_id: ws.clone(), email: None, role: None, ..Default::default() }))
        .await
        .expect_err("not admin");
    assert_eq!(code(&err), "FORBIDDEN");

    // An email invite is for that address only, and single-use.
    let (_, dan) = token(&app, "dan").await;
    let dan_email = app.client.get_session(authed(&dan, pb::GetSessionRequest {})).await.expect("s").into_inner().user.expect("u").email;
    let (_, eve) = token(&app, "eve").await;
    let personal = app
        .client
        .create_invite(authed(
            &ann,
            pb::CreateInviteRequest { workspace_id: ws.clone(), email: Some(dan_email), role: Some("admin".into()), ..Default::default() },
        ))
        .await
        .expect("invite")
        .into_inner();
    let err =
        app.client.accept_invite(authed(&eve, pb::AcceptInviteRequest { token: personal.token.clone() })).await.expect_err("not eve's");
    assert_eq!(code(&err), "FORBIDDEN");
    let r =
        app.client.accept_invite(authed(&dan, pb::AcceptInviteRequest { token: personal.token.clone() })).await.expect("dan").into_inner();
    assert_eq!(r.member.expect("member").role, "admin");
    let err = app.client.accept_invite(authed(&eve, pb::AcceptInviteRequest { token: personal.token })).await.expect_err("used up");
    assert_eq!(code(&err), "NOT_FOUND");

    let members = app.client.list_members(authed(&bob, pb::ListMembersRequest { workspace_id: ws })).await.expect("list").into_inner();
    assert_eq!(members.members.len(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn open_workspaces_can_be_joined() {
    let mut app = app().await;
    let (_, ann) = token(&app, "ann").await;
    let (_, bob) = token(&app, "bob").await;
    let ws = app
        .client
        .create_workspace(authed(
            &ann,
            pb::CreateWorkspaceRequest { name: "Open".into(), slug: "open-ws".into(), join_policy: Some("open".into()) },
        ))
        .await
        .expect("create")
        .into_inner();
    let m = app
        .client
        .join_workspace(authed(&bob, pb::JoinWorkspaceRequest { workspace_id: ws.id.clone() }))
        .await
        .expect("join")
        .into_inner()
        .member
        .expect("a member");
    assert_eq!(m.role, "member");
    // Joining again answers the same membership.
    app.client.join_workspace(authed(&bob, pb::JoinWorkspaceRequest { workspace_id: ws.id })).await.expect("idempotent");
}
