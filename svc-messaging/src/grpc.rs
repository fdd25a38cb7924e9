//! `ocomms.messaging.v1.MessagingService`: decode, check access, call the
//! store, encode, publish.

use chrono::Utc;
use diesel_async::AsyncConnection;
use ocomms_proto::messaging::v1 as pb;
use ocomms_runtime::db::Pool;
use ocomms_runtime::events::{Bus, Event};
use ocomms_runtime::identity::Principal;
use ocomms_runtime::ids::{self, ChannelId, ConversationId, MessageId, WorkspaceId};
use ocomms_runtime::time::{opt_rfc3339, rfc3339};
use ocomms_runtime::{ServiceError, ServiceResult};
use tonic::Request;
use tonic::metadata::MetadataMap;

use crate::access::{Access, Membership};
use crate::domain;
use crate::store::channels::{self, Channel};
use crate::store::messages::{self, Message};

pub struct MessagingApi {
    pub pool: Pool,
    pub bus: Bus,
    pub access: Access,
}

fn channel_pb(c: &Channel, is_member: bool, member_count: i64, unread: i64) -> pb::Channel {
    pb::Channel {
        id: c.id.to_string(),
        workspace_id: c.workspace_id.to_string(),
        name: c.name.clone(),
        description: c.description.clone(),
        is_private: c.is_private,
        is_archived: c.is_archived,
        category_id: c.category_id.map(|id| id.to_string()),
        created_by: c.created_by.to_string(),
        created_at: rfc3339(c.created_at),
        is_member,
        member_count,
        last_sequence: c.last_seq,
        unread_count: unread,
    }
}

pub fn message_pb(m: &Message) -> pb::Message {
    pb::Message {
        id: m.id.to_string(),
        channel_id: m.channel_id.map(|c| c.to_string()),
        conversation_id: m.conversation_id.map(|c| c.to_string()),
        author_id: m.author_id.to_string(),
        // Seed 5.8: a deleted message keeps its place; its text does not.
        content: if m.is_deleted { "[deleted]".into() } else { m.content.clone() },
        parent_id: m.parent_id.map(|p| p.to_string()),
        sequence: m.sequence,
        reply_count: i64::from(m.reply_count),
        reactions: Vec::new(),
        attachments: Vec::new(),
        is_deleted: m.is_deleted,
        created_at: rfc3339(m.created_at),
        updated_at: rfc3339(m.updated_at),
        edited_at: opt_rfc3339(m.edited_at),
        client_msg_id: m.client_msg_id.clone(),
    }
}

/// A channel as the caller may see it.
struct Visible {
    channel: Channel,
    is_member: bool,
    membership: Membership,
}

impl MessagingApi {
    async fn conn(&self) -> ServiceResult<ocomms_runtime::db::Conn<'_>> {
        Ok(self.pool.get().await?)
    }

    /// Loads a channel the caller may see: they belong to its workspace, and
    /// to the channel itself when it is private. Anything else is NOT_FOUND.
    async fn visible_channel(&self, meta: &MetadataMap, p: &Principal, id: ChannelId) -> ServiceResult<Visible> {
        let mut conn = self.conn().await?;
        let channel = channels::get(&mut conn, id).await?.ok_or_else(|| ServiceError::not_found("channel"))?;
        let is_member = channels::is_member(&mut conn, id, p.user_id).await?;
        drop(conn);
        if channel.is_private && !is_member {
            return Err(ServiceError::not_found("channel"));
        }
        let membership = self.access.membership(meta, p, channel.workspace_id).await.map_err(|e| match e.code {
            ocomms_runtime::ErrorCode::NotFound => ServiceError::not_found("channel"),
            _ => e,
        })?;
        // Seed 5.7: guests see only channels they were given (they are
        // members of exactly those).
        if membership.is_guest && !is_member {
            return Err(ServiceError::not_found("channel"));
        }
        Ok(Visible { channel, is_member, membership })
    }

    async fn channel_view(&self, p: &Principal, v: &Visible) -> ServiceResult<pb::Channel> {
        let mut conn = self.conn().await?;
        let count = channels::member_count(&mut conn, v.channel.id).await?;
        let unread = if v.is_member {
            messages::channel_unread(&mut conn, v.channel.workspace_id, p.user_id)
                .await?
                .into_iter()
                .find(|(c, _)| *c == v.channel.id)
                .map(|(_, n)| n)
                .unwrap_or(0)
        } else {
            0
        };
        Ok(channel_pb(&v.channel, v.is_member, count, unread))
    }

    pub(crate) async fn create_channel(&self, req: Request<pb::CreateChannelRequest>) -> ServiceResult<pb::Channel> {
        let p = self.access.principal(req.metadata()).await?;
        let r = req.get_ref();
        let ws: WorkspaceId = ids::parse("workspaceId", &r.workspace_id)?;
        let name = domain::channel_name(&r.name)?;
        let description = domain::description(r.description.as_deref())?;
        if r.category_id.as_deref().is_some_and(|c| !c.trim().is_empty()) {
            return Err(ServiceError::validation("categoryId", "no such category"));
        }
        let m = self.access.membership(req.metadata(), &p, ws).await?;
        if m.is_guest {
            return Err(ServiceError::forbidden("guests cannot create channels"));
        }
        let channel = Channel {
            id: ChannelId::new(),
            workspace_id: ws,
            name,
            description,
            is_private: r.is_private,
            is_archived: false,
            category_id: None,
            created_by: p.user_id,
            created_at: Utc::now(),
            last_seq: 0,
        };
        let mut conn = self.conn().await?;
        let c = channel.clone();
        let user = p.user_id;
        conn.transaction::<_, ServiceError, _>(async move |conn| {
            channels::insert(conn, &c).await.map_err(|e| match e {
                diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => {
                    ServiceError::conflict("a channel with this name already exists")
                        .with_details(serde_json::json!({ "field": "name" }))
                }
                other => other.into(),
            })?;
            channels::add_member(conn, &c, user).await?;
            Ok(())
        })
        .await?;
        Ok(channel_pb(&channel, true, 1, 0))
    }

    pub(crate) async fn list_channels(&self, req: Request<pb::ListChannelsRequest>) -> ServiceResult<pb::ListChannelsResponse> {
        let p = self.access.principal(req.metadata()).await?;
        let ws: WorkspaceId = ids::parse("workspaceId", &req.get_ref().workspace_id)?;
        let m = self.access.membership(req.metadata(), &p, ws).await?;
        let mut conn = self.conn().await?;
        let rows = channels::visible(&mut conn, ws, p.user_id).await?;
        let unread = messages::channel_unread(&mut conn, ws, p.user_id).await?;
        let channels = rows
            .iter()
            .filter(|(_, member, _)| !m.is_guest || *member)
            .map(|(c, member, n)| {
                let u = unread.iter().find(|(id, _)| *id == c.id).map(|(_, n)| *n).unwrap_or(0);
                channel_pb(c, *member, *n, u)
            })
            .collect();
        Ok(pb::ListChannelsResponse { channels })
    }

    pub(crate) async fn get_channel(&self, req: Request<pb::GetChannelRequest>) -> ServiceResult<pb::Channel> {
        let p = self.access.principal(req.metadata()).await?;
        let id: ChannelId = ids::parse("channelId", &req.get_ref().channel_id)?;
        let v = self.visible_channel(req.metadata(), &p, id).await?;
        self.channel_view(&p, &v).await
    }

    pub(crate) async fn join_channel(&self, req: Request<pb::JoinChannelRequest>) -> ServiceResult<pb::Channel> {
        let p = self.access.principal(req.metadata()).await?;
        let id: ChannelId = ids::parse("channelId", &req.get_ref().channel_id)?;
        let mut v = self.visible_channel(req.metadata(), &p, id).await?;
        if !v.is_member {
            if v.channel.is_archived {
                return Err(ServiceError::forbidden("this channel is archived"));
            }
            let mut conn = self.conn().await?;
            channels::add_member(&mut conn, &v.channel, p.user_id).await?;
            // Joining starts with everything before now read.
            messages::mark_channel_read(&mut conn, p.user_id, v.channel.id, v.channel.last_seq).await?;
            v.is_member = true;
        }
        self.channel_view(&p, &v).await
    }

    pub(crate) async fn leave_channel(&self, req: Request<pb::LeaveChannelRequest>) -> ServiceResult<pb::LeaveChannelResponse> {
        let p = self.access.principal(req.metadata()).await?;
        let id: ChannelId = ids::parse("channelId", &req.get_ref().channel_id)?;
        let v = self.visible_channel(req.metadata(), &p, id).await?;
        if !v.is_member {
            return Err(ServiceError::validation("channelId", "you are not a member of this channel"));
        }
        let mut conn = self.conn().await?;
        channels::remove_member(&mut conn, id, p.user_id).await?;
        Ok(pb::LeaveChannelResponse {})
    }

    pub(crate) async fn send_message(&self, req: Request<pb::SendMessageRequest>) -> ServiceResult<pb::Message> {
        let p = self.access.principal(req.metadata()).await?;
        let r = req.get_ref();
        let channel_id: Option<ChannelId> = ids::parse_opt("channelId", r.channel_id.as_deref())?;
        let conversation_id: Option<ConversationId> = ids::parse_opt("conversationId", r.conversation_id.as_deref())?;
        let channel_id = match (channel_id, conversation_id) {
            (Some(c), None) => c,
            (None, Some(_)) => return Err(ServiceError::not_found("conversation")),
            _ => return Err(ServiceError::validation("channelId", "give exactly one of channelId or conversationId")),
        };
        if !r.attachment_ids.is_empty() {
            return Err(ServiceError::validation("attachmentIds", "no such attachment"));
        }
        let content = domain::content(&r.content, false)?;
        let client_msg_id = domain::client_msg_id(r.client_msg_id.as_deref())?;
        let parent_id: Option<MessageId> = ids::parse_opt("parentId", r.parent_id.as_deref())?;

        let v = self.visible_channel(req.metadata(), &p, channel_id).await?;
        if !v.is_member {
            return Err(ServiceError::forbidden("join the channel to post in it"));
        }
        if v.channel.is_archived {
            return Err(ServiceError::forbidden("this channel is archived"));
        }
        v.membership.check_can_post()?;

        let mut conn = self.conn().await?;
        if let Some(cid) = &client_msg_id
            && let Some(existing) = messages::by_client_id(&mut conn, p.user_id, cid).await?
        {
            return Ok(message_pb(&existing));
        }
        let now = Utc::now();
        let mut message = Message {
            id: MessageId::new(),
            workspace_id: v.channel.workspace_id,
            channel_id: Some(channel_id),
            conversation_id: None,
            author_id: p.user_id,
            content,
            parent_id,
            sequence: 0,
            reply_count: 0,
            is_deleted: false,
            client_msg_id: client_msg_id.clone(),
            created_at: now,
            updated_at: now,
            edited_at: None,
        };
        let draft = message.clone();
        let inserted = conn
            .transaction::<_, ServiceError, _>(async move |conn| {
                let mut m = draft;
                if let Some(parent) = m.parent_id {
                    let parent = messages::get(conn, parent).await?;
                    match parent {
                        Some(pm) if pm.channel_id == m.channel_id && pm.parent_id.is_none() => {
                            messages::bump_reply_count(conn, pm.id).await?;
                        }
                        Some(pm) if pm.channel_id == m.channel_id => {
                            return Err(ServiceError::validation("parentId", "replies cannot have replies; reply to the thread's parent"));
                        }
                        _ => return Err(ServiceError::validation("parentId", "no such message in this channel")),
                    }
                }
                m.sequence = channels::next_sequence(conn, channel_id).await?;
                messages::insert(conn, &m).await?;
                // The author has read their own message.
                messages::mark_channel_read(conn, m.author_id, channel_id, m.sequence).await?;
                Ok(m)
            })
            .await;
        message = match inserted {
            Ok(m) => m,
            // The same send raced itself: answer with the message that won.
            Err(e) if e.code == ocomms_runtime::ErrorCode::Conflict && client_msg_id.is_some() => {
                let cid = client_msg_id.as_deref().unwrap_or_default();
                return messages::by_client_id(&mut conn, p.user_id, cid)
                    .await?
                    .map(|m| message_pb(&m))
                    .ok_or_else(|| ServiceError::conflict("message could not be stored, retry"));
            }
            Err(e) => return Err(e),
        };
        let recipients = channels::member_ids(&mut conn, channel_id).await?;
        drop(conn);
        let out = message_pb(&message);
        let channel = serde_json::json!({ "id": v.channel.id, "name": v.channel.name, "workspaceId": v.channel.workspace_id });
        self.bus.publish(Event::to_users(recipients, "message:new", serde_json::json!({ "message": out, "channel": channel }))).await;
        Ok(out)
    }

    pub(crate) async fn list_messages(&self, req: Request<pb::ListMessagesRequest>) -> ServiceResult<pb::ListMessagesResponse> {
        let p = self.access.principal(req.metadata()).await?;
        let r = req.get_ref();
        let channel_id: Option<ChannelId> = ids::parse_opt("channelId", r.channel_id.as_deref())?;
        let conversation_id: Option<ConversationId> = ids::parse_opt("conversationId", r.conversation_id.as_deref())?;
        let channel_id = match (channel_id, conversation_id) {
            (Some(c), None) => c,
            (None, Some(_)) => return Err(ServiceError::not_found("conversation")),
            _ => return Err(ServiceError::validation("channelId", "give exactly one of channelId or conversationId")),
        };
        let page = domain::page(r.before, r.after, r.limit)?;
        self.visible_channel(req.metadata(), &p, channel_id).await?;
        let mut conn = self.conn().await?;
        let (rows, has_more) = messages::channel_page(&mut conn, channel_id, page).await?;
        Ok(pb::ListMessagesResponse { messages: rows.iter().map(message_pb).collect(), has_more })
    }
}

ocomms_runtime::grpc_service!(pb::messaging_service_server::MessagingService, MessagingApi, {
    create_channel(pb::CreateChannelRequest) -> pb::Channel;
    list_channels(pb::ListChannelsRequest) -> pb::ListChannelsResponse;
    get_channel(pb::GetChannelRequest) -> pb::Channel;
    join_channel(pb::JoinChannelRequest) -> pb::Channel;
    leave_channel(pb::LeaveChannelRequest) -> pb::LeaveChannelResponse;
    send_message(pb::SendMessageRequest) -> pb::Message;
    list_messages(pb::ListMessagesRequest) -> pb::ListMessagesResponse;
});
