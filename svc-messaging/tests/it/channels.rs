use ocomms_proto::messaging::v1 as pb;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread")]
async fn channels_are_created_listed_and_named_uniquely() {
    let app = app().await;
    let mut c = app.client.clone();
    let (_, ann) = user(&app, "ann").await;
    let ws = workspace(&app, &ann).await;
    let general = channel(&app, &ann, &ws, "General Chat", false).await;
    assert_eq!(general.name, "general-chat");
    assert!(general.is_member);
    let err = c
        .create_channel(authed(
            &ann,
            pb::CreateChannelRequest { workspace_id: ws.clone(), name: "general-chat".into(), ..Default::default() },
        ))
        .await
        .expect_err("duplicate");
    assert_eq!(code(&err), "CONFLICT");
    let err = c
        .create_channel(authed(&ann, pb::CreateChannelRequest { workspace_id: ws.clone(), name: "  ".into(), ..Default::default() }))
        .await
        .expect_err("blank");
    assert_eq!(code(&err), "VALIDATION_ERROR");
    let list = c.list_channels(authed(&ann, pb::ListChannelsRequest { workspace_id: ws })).await.expect("list").into_inner();
    assert_eq!(list.channels.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn private_channels_do_not_exist_for_non_members() {
    let app = app().await;
    let mut c = app.client.clone();
    let (_, ann) = user(&app, "ann").await;
    let (_, bob) = user(&app, "bob").await;
    let ws = workspace(&app, &ann).await;
    invite(&app, &ws, &ann, &bob).await;
    let secret = channel(&app, &ann, &ws, "secret", true).await;
    channel(&app, &ann, &ws, "open", false).await;

    let list = c.list_channels(authed(&bob, pb::ListChannelsRequest { workspace_id: ws.clone() })).await.expect("list").into_inner();
    assert_eq!(list.channels.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), vec!["open"]);
    for err in [
        c.get_channel(authed(&bob, pb::GetChannelRequest { channel_id: secret.id.clone() })).await.expect_err("get"),
        c.join_channel(authed(&bob, pb::JoinChannelRequest { channel_id: secret.id.clone() })).await.expect_err("join"),
        c.send_message(authed(&bob, send_req(&secret.id, "hi"))).await.expect_err("send"),
        c.list_messages(authed(&bob, history_req(&secret.id, None, None, None))).await.expect_err("history"),
    ] {
        assert_eq!(code(&err), "NOT_FOUND");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn public_channels_are_read_by_members_of_the_workspace_but_written_after_joining() {
    let app = app().await;
    let mut c = app.client.clone();
    let (_, ann) = user(&app, "ann").await;
    let (_, bob) = user(&app, "bob").await;
    let ws = workspace(&app, &ann).await;
    invite(&app, &ws, &ann, &bob).await;
    let general = channel(&app, &ann, &ws, "general", false).await;
    c.send_message(authed(&ann, send_req(&general.id, "welcome"))).await.expect("ann posts");

    let page = c.list_messages(authed(&bob, history_req(&general.id, None, None, None))).await.expect("bob reads").into_inner();
    assert_eq!(page.messages.len(), 1);
    let err = c.send_message(authed(&bob, send_req(&general.id, "hi"))).await.expect_err("not joined");
    assert_eq!(code(&err), "FORBIDDEN");
    let joined = c.join_channel(authed(&bob, pb::JoinChannelRequest { channel_id: general.id.clone() })).await.expect("join").into_inner();
    assert!(joined.is_member);
    assert_eq!(joined.member_count, 2);
    assert_eq!(joined.unread_count, 0, "what came before joining starts read");
    c.send_message(authed(&bob, send_req(&general.id, "hi"))).await.expect("bob posts");
    let seen = c.get_channel(authed(&ann, pb::GetChannelRequest { channel_id: general.id.clone() })).await.expect("get").into_inner();
    assert_eq!(seen.unread_count, 1, "bob's message is unread for ann, her own is not");
    c.leave_channel(authed(&bob, pb::LeaveChannelRequest { channel_id: general.id.clone() })).await.expect("leave");
    let err = c.send_message(authed(&bob, send_req(&general.id, "still here?"))).await.expect_err("left");
    assert_eq!(code(&err), "FORBIDDEN");
}

#[tokio::test(flavor = "multi_thread")]
async fn another_workspace_cannot_reach_a_channel() {
    let app = app().await;
    let mut c = app.client.clone();
    let (_, ann) = user(&app, "ann").await;
    let (_, eve) = user(&app, "eve").await;
    let ws = workspace(&app, &ann).await;
    workspace(&app, &eve).await;
    let general = channel(&app, &ann, &ws, "general", false).await;
    for err in [
        c.get_channel(authed(&eve, pb::GetChannelRequest { channel_id: general.id.clone() })).await.expect_err("get"),
        c.join_channel(authed(&eve, pb::JoinChannelRequest { channel_id: general.id.clone() })).await.expect_err("join"),
        c.list_messages(authed(&eve, history_req(&general.id, None, None, None))).await.expect_err("read"),
        c.list_channels(authed(&eve, pb::ListChannelsRequest { workspace_id: ws.clone() })).await.expect_err("list"),
        c.create_channel(authed(&eve, pb::CreateChannelRequest { workspace_id: ws.clone(), name: "x".into(), ..Default::default() }))
            .await
            .expect_err("create"),
    ] {
        assert_eq!(code(&err), "NOT_FOUND");
    }
}
