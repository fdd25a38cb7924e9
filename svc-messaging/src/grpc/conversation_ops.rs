//! DMs and group DMs: one conversation per set of participants.

use ocomms_proto::auth::v1::GetMembershipRequest;
use ocomms_proto::messaging::v1 as pb;
use ocomms_runtime::ids::{self, UserId, WorkspaceId};
use ocomms_runtime::{ErrorCode, ServiceError, ServiceResult};
use tonic::Request;

use super::MessagingApi;
use crate::convert;
use crate::policy;
use crate::store::conversations;
use crate::store::messages as store;
use ocomms_runtime::identity::caller;

/// A group DM holds at most this many people, the caller included.
pub const MAX_PARTICIPANTS: usize = 9;

impl MessagingApi {
    pub(crate) async fn open_conversation(&self, req: Request<pb::OpenConversationRequest>) -> ServiceResult<pb::Conversation> {
        let p = caller(&req)?;
        let r = req.get_ref();
        let ws: WorkspaceId = ids::parse("workspaceId", &r.workspace_id)?;
        let mut users = r.user_ids.iter().map(|u| ids::parse::<UserId>("userIds", u)).collect::<ServiceResult<Vec<_>>>()?;
        users.push(p.user_id);
        users.sort();
        users.dedup();
        if users.len() > MAX_PARTICIPANTS {
            return Err(ServiceError::validation("userIds", format!("a conversation holds at most {MAX_PARTICIPANTS} people")));
        }
        let mine = self.access.membership(req.metadata(), &p, ws).await?;
        policy::check_not_guest(&mine, "start conversations")?;
        // Everyone must belong to the workspace (asked of svc-auth).
        for u in users.iter().filter(|u| **u != p.user_id) {
            let ask = self
                .access
                .identity
                .forward(req.metadata(), GetMembershipRequest { workspace_id: ws.to_string(), user_id: Some(u.to_string()) });
            self.access.identity.auth_client().get_membership(ask).await.map_err(|s| {
                let e = ServiceError::from_status(&s);
                if e.code == ErrorCode::NotFound {
                    ServiceError::validation("userIds", format!("{u} is not a member of this workspace"))
                } else {
                    e
                }
            })?;
        }
        let mut conn = self.conn().await?;
        let c = conversations::open(&mut conn, ws, &users).await?;
        let unread = store::conversation_unread(&mut conn, ws, p.user_id)
            .await?
            .into_iter()
            .find(|(id, _, _)| *id == c.id)
            .map(|(_, n, _)| n)
            .unwrap_or(0);
        Ok(convert::conversation_pb(&c, unread))
    }

    pub(crate) async fn list_conversations(
        &self,
        req: Request<pb::ListConversationsRequest>,
    ) -> ServiceResult<pb::ListConversationsResponse> {
        let p = caller(&req)?;
        let ws: WorkspaceId = ids::parse("workspaceId", &req.get_ref().workspace_id)?;
        self.access.membership(req.metadata(), &p, ws).await?;
        let mut conn = self.conn().await?;
        let list = conversations::for_user(&mut conn, ws, p.user_id).await?;
        let unread = store::conversation_unread(&mut conn, ws, p.user_id).await?;
        let mut out = Vec::with_capacity(list.len());
        for c in &list {
            let n = unread.iter().find(|(id, _, _)| *id == c.id).map(|(_, n, _)| *n).unwrap_or(0);
            out.push(convert::conversation_pb(c, n));
        }
        Ok(pb::ListConversationsResponse { conversations: out })
    }
}
