//! The rest of svc-messaging's features through its gRPC API: DMs,
//! reactions, pins, notes, search, read marks.

use ocomms_proto::messaging::v1 as pb;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread")]
async fn conversations_reactions_pins_notes_search_and_read_marks() {
    let app = app().await;
    let mut c = app.client.clone();
    let (ann_id, ann) = user(&app, "ann").await;
    let (bob_id, bob) = user(&app, "bob").await;
    let (_, cat) = user(&app, "cat").await;
    let ws = workspace(&app, &ann).await;
    invite(&app, &ws, &ann, &bob).await;
    invite(&app, &ws, &ann, &cat).await;

    // One conversation per set of people.
    let open = |tok: &str, who: &str| authed(tok, pb::OpenConversationRequest { workspace_id: ws.clone(), user_ids: vec![who.to_owned()] });
    let dm = c.open_conversation(open(&ann, &bob_id)).await.expect("dm").into_inner();
    assert_eq!(c.open_conversation(open(&bob, &ann_id)).await.expect("same").into_inner().id, dm.id);
    let m = c
        .send_message(authed(
            &ann,
            pb::SendMessageRequest { conversation_id: Some(dm.id.clone()), content: "psst".into(), ..Default::default() },
        ))
        .await
        .expect("send")
        .into_inner();
    assert_eq!(m.sequence, 1);
    let hidden = pb::ListMessagesRequest { channel_id: None, conversation_id: Some(dm.id.clone()), before: None, after: None, limit: None };
    assert_eq!(code(&c.list_messages(authed(&cat, hidden.clone())).await.expect_err("not cat's")), "NOT_FOUND");

    // Reactions toggle, grouped by emoji.
    let react = |tok: &str, e: &str| authed(tok, pb::ToggleReactionRequest { message_id: m.id.clone(), emoji: e.into() });
    c.toggle_reaction(react(&ann, "🎉")).await.expect("ann");
    let both = c.toggle_reaction(react(&bob, "🎉")).await.expect("bob").into_inner();
    assert_eq!((both.reactions[0].count, both.reactions[0].user_ids.len()), (2, 2));
    let one = c.toggle_reaction(react(&ann, "🎉")).await.expect("off").into_inner();
    assert_eq!(one.reactions[0].user_ids, vec![bob_id.clone()]);
    assert_eq!(code(&c.toggle_reaction(react(&cat, "🎉")).await.expect_err("cat")), "NOT_FOUND");

    // Pins, in a channel.
    let general = channel(&app, &ann, &ws, "general", false).await;
    let pinned = c.send_message(authed(&ann, send_req(&general.id, "read the deploy checklist"))).await.expect("send").into_inner();
    c.set_pin(authed(&ann, pb::SetPinRequest { channel_id: general.id.clone(), message_id: pinned.id.clone(), pinned: true }))
        .await
        .expect("pin");
    let pins = c
        .list_pins(authed(&ann, pb::ListPinsRequest { channel_id: general.id.clone(), ..Default::default() }))
        .await
        .expect("pins")
        .into_inner();
    assert_eq!(pins.messages.len(), 1);
    let err = c
        .set_pin(authed(&ann, pb::SetPinRequest { channel_id: general.id.clone(), message_id: m.id.clone(), pinned: true }))
        .await
        .expect_err("a DM message");
    assert_eq!(code(&err), "VALIDATION_ERROR");

    // Channel notes: optimistic versions.
    let save =
        |v: i32, text: &str| authed(&ann, pb::SaveChannelNoteRequest { channel_id: general.id.clone(), content: text.into(), version: v });
    assert_eq!(c.save_channel_note(save(0, "v1")).await.expect("first").into_inner().version, 1);
    assert_eq!(code(&c.save_channel_note(save(0, "stale")).await.expect_err("stale")), "CONFLICT");
    assert_eq!(c.save_channel_note(save(1, "v2")).await.expect("second").into_inner().content, "v2");

    // Search sees the channel and the DM, not others' DMs.
    let search = |tok: &str, q: &str| authed(tok, pb::SearchRequest { workspace_id: ws.clone(), q: q.into(), limit: None });
    assert_eq!(c.search(search(&bob, "psst")).await.expect("search").into_inner().results.len(), 1);
    assert_eq!(c.search(search(&cat, "psst")).await.expect("search").into_inner().results.len(), 0);
    let hit = c.search(search(&cat, "checklist")).await.expect("search").into_inner();
    assert_eq!(hit.results[0].channel_name.as_deref(), Some("general"));
    assert!(hit.results[0].highlight.contains("<mark>checklist</mark>"));

    // Read marks and unread counts.
    let unread = c.get_unread(authed(&bob, pb::GetUnreadRequest { workspace_id: ws.clone() })).await.expect("unread").into_inner();
    assert_eq!(unread.total, 1, "the DM; bob is not in #general");
    let mark = pb::MarkReadRequest { channel_id: None, conversation_id: Some(dm.id.clone()), sequence: 1 };
    assert_eq!(c.mark_read(authed(&bob, mark)).await.expect("read").into_inner().count, 0);
    assert_eq!(c.get_unread(authed(&bob, pb::GetUnreadRequest { workspace_id: ws })).await.expect("unread").into_inner().total, 0);
}
