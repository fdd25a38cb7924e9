//! Messages: send, history, edit, delete, threads, reactions.

use chrono::Utc;
use diesel_async::AsyncConnection;
use ocomms_proto::messaging::v1 as pb;
use ocomms_runtime::ids::{self, MessageId};
use ocomms_runtime::{ErrorCode, ServiceError, ServiceResult};
use tonic::Request;

use super::{MessagingApi, messages_pb, one_message_pb, target_of};
use crate::domain;
use crate::store::channels;
use crate::store::conversations;
use crate::store::messages::{self as store, Message, Target};

impl MessagingApi {
    pub(crate) async fn send_message(&self, req: Request<pb::SendMessageRequest>) -> ServiceResult<pb::Message> {
        let p = self.access.principal(req.metadata()).await?;
        let r = req.get_ref();
        let target = target_of(r.channel_id.as_deref(), r.conversation_id.as_deref())?;
        if !r.attachment_ids.is_empty() {
            return Err(ServiceError::validation("attachmentIds", "no such attachment"));
        }
        let content = domain::content(&r.content, false)?;
        let client_msg_id = domain::client_msg_id(r.client_msg_id.as_deref())?;
        let parent_id: Option<MessageId> = ids::parse_opt("parentId", r.parent_id.as_deref())?;

        let place = self.place(req.metadata(), &p, target).await?;
        if let Err(e) = place.check_can_post() {
            if e.code == ErrorCode::GuestLocked {
                // Seed 5.8: the refusal is also announced on the guest's sockets.
                let (_, where_) = place.describe();
                self.publish(vec![p.user_id], "guest:locked", serde_json::json!({ "channelId": where_["id"], "workspaceId": place.workspace_id })).await;
            }
            return Err(e);
        }

        let mut conn = self.conn().await?;
        if let Some(cid) = &client_msg_id
            && let Some(existing) = store::by_client_id(&mut conn, p.user_id, cid).await?
        {
            return one_message_pb(&mut conn, &existing).await;
        }
        let now = Utc::now();
        let (channel_id, conversation_id) = match target {
            Target::Channel(c) => (Some(c), None),
            Target::Conversation(c) => (None, Some(c)),
        };
        let draft = Message {
            id: MessageId::new(),
            workspace_id: place.workspace_id,
            channel_id,
            conversation_id,
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
        let inserted = conn
            .transaction::<_, ServiceError, _>(async move |conn| {
                let mut m = draft;
                let mut parent_msg = None;
                if let Some(parent) = m.parent_id {
                    match store::get(conn, parent).await? {
                        Some(pm) if Target::of(&pm) == Some(target) && pm.parent_id.is_none() => {
                            store::bump_reply_count(conn, pm.id).await?;
                            parent_msg = Some(pm);
                        }
                        Some(pm) if Target::of(&pm) == Some(target) => {
                            return Err(ServiceError::validation("parentId", "replies cannot have replies; reply to the thread's parent"));
                        }
                        _ => return Err(ServiceError::validation("parentId", "no such message here")),
                    }
                }
                m.sequence = match target {
                    Target::Channel(c) => channels::next_sequence(conn, c).await?,
                    Target::Conversation(c) => conversations::next_sequence(conn, c).await?,
                };
                store::insert(conn, &m).await?;
                // The author has read their own message.
                store::mark_read(conn, m.author_id, target, m.sequence).await?;
                Ok((m, parent_msg))
            })
            .await;
        let (message, parent) = match inserted {
            Ok(v) => v,
            // The same send raced itself: answer with the message that won.
            Err(e) if e.code == ErrorCode::Conflict && client_msg_id.is_some() => {
                let cid = client_msg_id.as_deref().unwrap_or_default();
                let won = store::by_client_id(&mut conn, p.user_id, cid)
                    .await?
                    .ok_or_else(|| ServiceError::conflict("message could not be stored, retry"))?;
                return one_message_pb(&mut conn, &won).await;
            }
            Err(e) => return Err(e),
        };
        let thread = match &parent {
            Some(pm) => Some(store::thread_participants(&mut conn, pm).await?),
            None => None,
        };
        drop(conn);
        let out = super::message_pb(&message, Vec::new());
        let recipients = self.audience(target).await?;
        let (kind, where_) = place.describe();
        let mut data = serde_json::json!({ "message": out });
        data[kind] = where_;
        self.publish(recipients, "message:new", data).await;
        if let (Some(pm), Some(participants)) = (parent, thread) {
            self.publish(participants, "thread:newReply", serde_json::json!({ "parentId": pm.id, "reply": out })).await;
        }
        Ok(out)
    }

    pub(crate) async fn list_messages(&self, req: Request<pb::ListMessagesRequest>) -> ServiceResult<pb::ListMessagesResponse> {
        let p = self.access.principal(req.metadata()).await?;
        let r = req.get_ref();
        let target = target_of(r.channel_id.as_deref(), r.conversation_id.as_deref())?;
        let page = domain::page(r.before, r.after, r.limit)?;
        self.place(req.metadata(), &p, target).await?;
        let mut conn = self.conn().await?;
        let (rows, has_more) = store::page(&mut conn, target, page).await?;
        Ok(pb::ListMessagesResponse { messages: messages_pb(&mut conn, &rows).await?, has_more })
    }

    pub(crate) async fn edit_message(&self, req: Request<pb::EditMessageRequest>) -> ServiceResult<pb::Message> {
        let p = self.access.principal(req.metadata()).await?;
        let r = req.get_ref();
        let content = domain::content(&r.content, false)?;
        let (m, place) = self.visible_message(req.metadata(), &p, "messageId", &r.message_id).await?;
        if m.author_id != p.user_id {
            return Err(ServiceError::forbidden("only the author can edit a message"));
        }
        if m.is_deleted {
            return Err(ServiceError::not_found("message"));
        }
        place.check_can_post()?;
        let mut conn = self.conn().await?;
        let edited = store::edit(&mut conn, m.id, &content).await?;
        let out = one_message_pb(&mut conn, &edited).await?;
        drop(conn);
        let to = self.audience(place.target).await?;
        self.publish(to, "message:edited", serde_json::json!({ "message": out })).await;
        Ok(out)
    }

    pub(crate) async fn delete_message(&self, req: Request<pb::DeleteMessageRequest>) -> ServiceResult<pb::Message> {
        let p = self.access.principal(req.metadata()).await?;
        let (m, place) = self.visible_message(req.metadata(), &p, "messageId", &req.get_ref().message_id).await?;
        if m.author_id != p.user_id && !place.membership.is_admin() {
            return Err(ServiceError::forbidden("only the author or a workspace admin can delete a message"));
        }
        if place.channel.as_ref().is_some_and(|c| c.is_archived) {
            return Err(ServiceError::forbidden("this channel is archived"));
        }
        let mut conn = self.conn().await?;
        let deleted = if m.is_deleted { m } else { store::soft_delete(&mut conn, m.id).await? };
        let out = one_message_pb(&mut conn, &deleted).await?;
        drop(conn);
        let to = self.audience(place.target).await?;
        let mut data = serde_json::json!({ "messageId": deleted.id });
        match place.target {
            Target::Channel(c) => data["channelId"] = serde_json::json!(c),
            Target::Conversation(c) => data["conversationId"] = serde_json::json!(c),
        }
        self.publish(to, "message:deleted", data).await;
        Ok(out)
    }

    pub(crate) async fn list_replies(&self, req: Request<pb::ListRepliesRequest>) -> ServiceResult<pb::ListMessagesResponse> {
        let p = self.access.principal(req.metadata()).await?;
        let (m, _) = self.visible_message(req.metadata(), &p, "messageId", &req.get_ref().message_id).await?;
        let mut conn = self.conn().await?;
        let rows = store::replies(&mut conn, m.id).await?;
        Ok(pb::ListMessagesResponse { messages: messages_pb(&mut conn, &rows).await?, has_more: false })
    }

    pub(crate) async fn toggle_reaction(&self, req: Request<pb::ToggleReactionRequest>) -> ServiceResult<pb::Message> {
        let p = self.access.principal(req.metadata()).await?;
        let r = req.get_ref();
        let emoji = domain::emoji(&r.emoji)?;
        let (m, place) = self.visible_message(req.metadata(), &p, "messageId", &r.message_id).await?;
        if m.is_deleted {
            return Err(ServiceError::not_found("message"));
        }
        place.check_can_post()?;
        let mut conn = self.conn().await?;
        store::toggle_reaction(&mut conn, m.id, p.user_id, &emoji).await?;
        let out = one_message_pb(&mut conn, &m).await?;
        drop(conn);
        let to = self.audience(place.target).await?;
        self.publish(to, "reaction:update", serde_json::json!({ "messageId": m.id, "reactions": out.reactions })).await;
        Ok(out)
    }
}
