//! Read marks and unread counts (seed 5.4).

use ocomms_proto::messaging::v1 as pb;
use ocomms_runtime::ids::{self, WorkspaceId};
use ocomms_runtime::{ServiceError, ServiceResult};
use tonic::Request;

use super::{MessagingApi, target_of};
use crate::store::messages::{self as store, Target};
use ocomms_runtime::identity::caller;

impl MessagingApi {
    pub(crate) async fn mark_read(&self, req: Request<pb::MarkReadRequest>) -> ServiceResult<pb::UnreadCount> {
        let p = caller(&req)?;
        let r = req.get_ref();
        let target = target_of(r.channel_id.as_deref(), r.conversation_id.as_deref())?;
        let place = self.place(req.metadata(), &p, target).await?;
        if !place.is_member {
            return Err(ServiceError::validation("channelId", "join the channel to track what you read"));
        }
        if r.sequence < 0 || r.sequence > place.last_seq() {
            return Err(ServiceError::validation("sequence", format!("must be between 0 and {}", place.last_seq())));
        }
        let mut conn = self.conn().await?;
        store::mark_read(&mut conn, p.user_id, target, r.sequence).await?;
        let unread = self.unread_of(&mut conn, place.workspace_id, p.user_id).await?;
        drop(conn);
        let found = unread.channels.iter().chain(unread.conversations.iter()).find(|u| match target {
            Target::Channel(c) => u.channel_id.as_deref() == Some(c.to_string().as_str()),
            Target::Conversation(c) => u.conversation_id.as_deref() == Some(c.to_string().as_str()),
        });
        let (count, mention_count) = found.map(|u| (u.count, u.mention_count)).unwrap_or((0, 0));
        let answer = match target {
            Target::Channel(c) => pb::UnreadCount { channel_id: Some(c.to_string()), conversation_id: None, count, mention_count },
            Target::Conversation(c) => pb::UnreadCount { channel_id: None, conversation_id: Some(c.to_string()), count, mention_count },
        };
        // The reader's other devices follow.
        self.publish(vec![p.user_id], "unread:update", serde_json::json!(answer)).await;
        self.publish(
            vec![p.user_id],
            "workspace:unreadUpdate",
            serde_json::json!({ "workspaceId": place.workspace_id, "total": unread.total }),
        )
        .await;
        Ok(answer)
    }

    pub(crate) async fn get_unread(&self, req: Request<pb::GetUnreadRequest>) -> ServiceResult<pb::WorkspaceUnread> {
        let p = caller(&req)?;
        let ws: WorkspaceId = ids::parse("workspaceId", &req.get_ref().workspace_id)?;
        self.access.membership(req.metadata(), &p, ws).await?;
        let mut conn = self.conn().await?;
        self.unread_of(&mut conn, ws, p.user_id).await
    }

    async fn unread_of(
        &self,
        conn: &mut ocomms_runtime::db::Conn<'_>,
        ws: WorkspaceId,
        user: ocomms_runtime::ids::UserId,
    ) -> ServiceResult<pb::WorkspaceUnread> {
        let channels: Vec<pb::UnreadCount> = store::channel_unread(conn, ws, user)
            .await?
            .into_iter()
            .map(|(c, n, m)| pb::UnreadCount { channel_id: Some(c.to_string()), conversation_id: None, count: n, mention_count: m })
            .collect();
        let conversations: Vec<pb::UnreadCount> = store::conversation_unread(conn, ws, user)
            .await?
            .into_iter()
            .map(|(c, n, m)| pb::UnreadCount { channel_id: None, conversation_id: Some(c.to_string()), count: n, mention_count: m })
            .collect();
        let total = channels.iter().chain(conversations.iter()).map(|u| u.count).sum();
        Ok(pb::WorkspaceUnread { channels, conversations, total })
    }
}
