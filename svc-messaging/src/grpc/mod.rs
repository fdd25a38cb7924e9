//! `ocomms.messaging.v1.MessagingService`: decode, check access, call the
//! store, encode, publish. One file per area; this one holds what they
//! share: where a message lives ([`Place`]), encoding, and events.

mod channel_ops;
mod conversation_ops;
mod export_ops;
mod group_ops;
mod message_ops;
mod note_ops;
mod place_ops;
mod read_ops;
mod search_ops;

use std::collections::HashMap;

use ocomms_domain::Membership;
use ocomms_domain::{ChannelId, ConversationId, MessageId};
use ocomms_proto::messaging::v1 as pb;
use ocomms_runtime::db::{Conn, Pool};
use ocomms_runtime::events::{Bus, Event};
use ocomms_runtime::identity::Principal;
use ocomms_runtime::ids::{self, UserId, WorkspaceId};
use ocomms_runtime::{ErrorCode, ServiceError, ServiceResult};
use tonic::metadata::MetadataMap;

use crate::access::Access;
use crate::convert;
use crate::policy::{self, Sight};
use crate::store::channels::{self, Channel};
use crate::store::conversations::{self, Conversation};
use crate::store::messages::{self as store, Message, Target};

pub struct MessagingApi {
    pub pool: Pool,
    pub bus: Bus,
    pub access: Access,
    pub presence: ocomms_proto::presence::v1::presence_service_client::PresenceServiceClient<tonic::transport::Channel>,
    pub relay: ocomms_runtime::jobs::Relay,
    /// svc-files, which attachments are claimed from.
    pub files: ocomms_proto::files::v1::files_service_client::FilesServiceClient<tonic::transport::Channel>,
}

/// A channel or conversation as the caller may see it.
pub(crate) struct Place {
    pub target: Target,
    pub workspace_id: WorkspaceId,
    pub channel: Option<Channel>,
    pub conversation: Option<Conversation>,
    pub is_member: bool,
    pub membership: Membership,
}

impl Place {
    /// Members of a channel may post unless it is archived; guests past
    /// expiry are soft-locked (seed 5.7).
    pub fn check_can_post(&self) -> ServiceResult<()> {
        if !self.is_member {
            return Err(ServiceError::forbidden("join the channel to post in it"));
        }
        if self.channel.as_ref().is_some_and(|c| c.is_archived) {
            return Err(ServiceError::forbidden("this channel is archived"));
        }
        self.membership.check_can_post()
    }

    pub fn last_seq(&self) -> i64 {
        match (&self.channel, &self.conversation) {
            (Some(c), _) => c.last_seq,
            (_, Some(c)) => c.last_seq,
            _ => 0,
        }
    }

    /// What events say of where a message lives.
    pub fn describe(&self) -> (&'static str, serde_json::Value) {
        match (&self.channel, &self.conversation) {
            (Some(c), _) => ("channel", serde_json::json!({ "id": c.id, "name": c.name, "workspaceId": c.workspace_id })),
            (_, Some(c)) => ("conversation", serde_json::json!({ "id": c.id, "workspaceId": c.workspace_id })),
            _ => ("channel", serde_json::Value::Null),
        }
    }
}

/// The target named by a request's `channelId` / `conversationId` pair.
pub(crate) fn target_of(channel_id: Option<&str>, conversation_id: Option<&str>) -> ServiceResult<Target> {
    let channel: Option<ChannelId> = ids::parse_opt("channelId", channel_id)?;
    let conversation: Option<ConversationId> = ids::parse_opt("conversationId", conversation_id)?;
    match (channel, conversation) {
        (Some(c), None) => Ok(Target::Channel(c)),
        (None, Some(c)) => Ok(Target::Conversation(c)),
        _ => Err(ServiceError::validation("channelId", "give exactly one of channelId or conversationId")),
    }
}

/// Messages with their reactions, loaded in one query.
pub(crate) async fn messages_pb(conn: &mut Conn<'_>, rows: &[Message]) -> ServiceResult<Vec<pb::Message>> {
    let ids: Vec<MessageId> = rows.iter().map(|m| m.id).collect();
    let mut by_message: HashMap<MessageId, Vec<pb::Reaction>> = HashMap::new();
    for (mid, emoji, user) in store::reactions_of(conn, &ids).await? {
        let list = by_message.entry(mid).or_default();
        match list.iter_mut().find(|r| r.emoji == emoji) {
            Some(r) => {
                r.count += 1;
                r.user_ids.push(user.to_string());
            }
            None => list.push(pb::Reaction { emoji, count: 1, user_ids: vec![user.to_string()] }),
        }
    }
    Ok(rows.iter().map(|m| convert::message_pb(m, by_message.remove(&m.id).unwrap_or_default())).collect())
}

pub(crate) async fn one_message_pb(conn: &mut Conn<'_>, m: &Message) -> ServiceResult<pb::Message> {
    Ok(messages_pb(conn, std::slice::from_ref(m)).await?.pop().unwrap_or_else(|| convert::message_pb(m, Vec::new())))
}

impl MessagingApi {
    pub(crate) async fn conn(&self) -> ServiceResult<Conn<'_>> {
        Ok(self.pool.get().await?)
    }

    /// Loads a channel or conversation the caller may see: they belong to
    /// its workspace, and to it when it is private (a private channel, a
    /// conversation). Anything else is NOT_FOUND.
    pub(crate) async fn place(&self, meta: &MetadataMap, p: &Principal, target: Target) -> ServiceResult<Place> {
        let mut conn = self.conn().await?;
        let (workspace_id, channel, conversation, is_member, private) = match target {
            Target::Channel(id) => {
                let (c, member) = channels::get_for(&mut conn, id, p.user_id).await?.ok_or_else(|| ServiceError::not_found("channel"))?;
                let private = c.is_private;
                (c.workspace_id, Some(c), None, member, private)
            }
            Target::Conversation(id) => {
                let c = conversations::get(&mut conn, id).await?.ok_or_else(|| ServiceError::not_found("conversation"))?;
                let member = conversations::participants(&mut conn, id).await?.contains(&p.user_id);
                (c.workspace_id, None, Some(c), member, true)
            }
        };
        drop(conn);
        let what = if channel.is_some() { "channel" } else { "conversation" };
        let membership = self.access.membership(meta, p, workspace_id).await.map_err(|e| match e.code {
            ErrorCode::NotFound => ServiceError::not_found(what),
            _ => e,
        })?;
        let mut is_member = is_member;
        match policy::sight(&membership, channel.as_ref().map(|c| c.id), private, is_member) {
            Sight::Visible => {}
            Sight::Hidden => return Err(ServiceError::not_found(what)),
            Sight::RedeemGrant => {
                let c = channel.as_ref().ok_or_else(|| ServiceError::not_found(what))?;
                let mut conn = self.conn().await?;
                // Used before (the guest was removed since): they stay out.
                if !channels::redeem_guest_grant(&mut conn, c, p.user_id).await? {
                    return Err(ServiceError::not_found(what));
                }
                is_member = true;
            }
        }
        Ok(Place { target, workspace_id, channel, conversation, is_member, membership })
    }

    /// A message the caller may see, and where it lives.
    pub(crate) async fn visible_message(
        &self,
        meta: &MetadataMap,
        p: &Principal,
        field: &str,
        id: &str,
    ) -> ServiceResult<(Message, Place)> {
        let id: MessageId = ids::parse(field, id)?;
        let mut conn = self.conn().await?;
        let m = store::get(&mut conn, id).await?.ok_or_else(|| ServiceError::not_found("message"))?;
        drop(conn);
        let target = Target::of(&m).ok_or_else(|| ServiceError::not_found("message"))?;
        let place = self.place(meta, p, target).await.map_err(|e| match e.code {
            ErrorCode::NotFound => ServiceError::not_found("message"),
            _ => e,
        })?;
        Ok((m, place))
    }

    /// Everyone who receives a place's events: its members.
    pub(crate) async fn audience(&self, target: Target) -> ServiceResult<Vec<UserId>> {
        let mut conn = self.conn().await?;
        Ok(match target {
            Target::Channel(c) => channels::member_ids(&mut conn, c).await?,
            Target::Conversation(c) => conversations::participants(&mut conn, c).await?,
        })
    }

    pub(crate) async fn publish(&self, to: Vec<UserId>, name: &str, data: serde_json::Value) {
        self.bus.publish(Event::to_users(to, name, data)).await;
    }
}

impl ocomms_runtime::identity::ServesCallers for MessagingApi {
    fn callers(&self) -> &dyn ocomms_runtime::identity::Callers {
        &self.access.identity
    }
}

ocomms_runtime::grpc_service!(pb::messaging_service_server::MessagingService, MessagingApi, {
    export_messages(pb::ExportMessagesRequest) -> pb::MessageExportPage;
    list_changes(pb::ListChangesRequest) -> pb::ChangesPage;
    create_channel(pb::CreateChannelRequest) -> pb::Channel;
    list_channels(pb::ListChannelsRequest) -> pb::ListChannelsResponse;
    get_channel(pb::GetChannelRequest) -> pb::Channel;
    join_channel(pb::JoinChannelRequest) -> pb::Channel;
    leave_channel(pb::LeaveChannelRequest) -> pb::LeaveChannelResponse;
    update_channel(pb::UpdateChannelRequest) -> pb::Channel;
    add_channel_member(pb::ChannelMemberRequest) -> pb::Channel;
    remove_channel_member(pb::RemoveChannelMemberRequest) -> pb::Channel;
    send_message(pb::SendMessageRequest) -> pb::Message;
    list_messages(pb::ListMessagesRequest) -> pb::ListMessagesResponse;
    edit_message(pb::EditMessageRequest) -> pb::Message;
    delete_message(pb::DeleteMessageRequest) -> pb::Message;
    list_replies(pb::ListRepliesRequest) -> pb::ListMessagesResponse;
    toggle_reaction(pb::ToggleReactionRequest) -> pb::Message;
    mark_read(pb::MarkReadRequest) -> pb::UnreadCount;
    get_unread(pb::GetUnreadRequest) -> pb::WorkspaceUnread;
    set_pin(pb::SetPinRequest) -> pb::SetPinResponse;
    list_pins(pb::ListPinsRequest) -> pb::ListMessagesResponse;
    open_conversation(pb::OpenConversationRequest) -> pb::Conversation;
    filter_channels(pb::FilterChannelsRequest) -> pb::FilterChannelsResponse;
    create_group(pb::CreateGroupRequest) -> pb::Group;
    create_category(pb::CreateCategoryRequest) -> pb::Category;
    list_categories(pb::ListCategoriesRequest) -> pb::ListCategoriesResponse;
    search(pb::SearchRequest) -> pb::SearchResponse;
    typing(pb::TypingRequest) -> pb::TypingResponse;
    get_personal_note(pb::GetPersonalNoteRequest) -> pb::Note;
    save_personal_note(pb::SavePersonalNoteRequest) -> pb::Note;
    get_channel_note(pb::GetChannelNoteRequest) -> pb::Note;
    save_channel_note(pb::SaveChannelNoteRequest) -> pb::Note;
    create_bookmark(pb::CreateBookmarkRequest) -> pb::Bookmark;
    list_bookmarks(pb::ListBookmarksRequest) -> pb::ListBookmarksResponse;
    delete_bookmark(pb::DeleteBookmarkRequest) -> pb::DeleteBookmarkResponse;
    list_groups(pb::ListGroupsRequest) -> pb::ListGroupsResponse;
    list_conversations(pb::ListConversationsRequest) -> pb::ListConversationsResponse;
    remove_workspace_member(pb::RemoveWorkspaceMemberRequest) -> pb::RemoveWorkspaceMemberResponse;
    check_place(pb::CheckPlaceRequest) -> pb::CheckPlaceResponse;
    set_link_previews(pb::SetLinkPreviewsRequest) -> pb::SetLinkPreviewsResponse;
});
