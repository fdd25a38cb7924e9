//! User groups, mentioned as `@handle` (seed 5.2).

use chrono::Utc;
use diesel_async::AsyncConnection;
use ocomms_proto::auth::v1::ListMembersRequest;
use ocomms_proto::messaging::v1 as pb;
use ocomms_runtime::ids::{self, UserId, WorkspaceId};
use ocomms_runtime::{OrTaken, ServiceError, ServiceResult};
use tonic::Request;

use super::MessagingApi;
use crate::convert;
use crate::store::groups::{self, Group};
use crate::{domain, policy};
use ocomms_runtime::identity::caller;

impl MessagingApi {
    pub(crate) async fn create_group(&self, req: Request<pb::CreateGroupRequest>) -> ServiceResult<pb::Group> {
        let p = caller(&req)?;
        let r = req.get_ref();
        let ws: WorkspaceId = ids::parse("workspaceId", &r.workspace_id)?;
        let handle = domain::group_handle(&r.handle)?;
        let name = domain::group_name(&r.name)?;
        let mut members = r.member_ids.iter().map(|u| ids::parse::<UserId>("memberIds", u)).collect::<ServiceResult<Vec<_>>>()?;
        members.sort();
        members.dedup();
        if members.len() > domain::MAX_GROUP_MEMBERS {
            return Err(ServiceError::validation("memberIds", format!("at most {} members", domain::MAX_GROUP_MEMBERS)));
        }
        let m = self.access.membership(req.metadata(), &p, ws).await?;
        policy::check_not_guest(&m, "create groups")?;
        // Members must belong to the workspace.
        let all = self
            .access
            .identity
            .auth_client()
            .list_members(self.access.identity.forward(req.metadata(), ListMembersRequest { workspace_id: ws.to_string() }))
            .await
            .map_err(ServiceError::from)?
            .into_inner()
            .members;
        if let Some(stranger) = members.iter().find(|u| !all.iter().any(|m| m.user_id == u.to_string())) {
            return Err(ServiceError::validation("memberIds", format!("{stranger} is not a member of this workspace")));
        }
        let g = Group {
            id: crate::domain::GroupId::new(),
            workspace_id: ws,
            handle,
            name: name.to_owned(),
            created_by: p.user_id,
            created_at: Utc::now(),
        };
        let mut conn = self.conn().await?;
        let (group, list) = (g.clone(), members.clone());
        conn.transaction::<_, ServiceError, _>(async move |conn| {
            groups::insert(conn, &group, &list).await.or_taken("handle", "a group with this handle already exists")
        })
        .await?;
        Ok(convert::group_pb(&g, &members))
    }

    pub(crate) async fn list_groups(&self, req: Request<pb::ListGroupsRequest>) -> ServiceResult<pb::ListGroupsResponse> {
        let p = caller(&req)?;
        let ws: WorkspaceId = ids::parse("workspaceId", &req.get_ref().workspace_id)?;
        self.access.membership(req.metadata(), &p, ws).await?;
        let mut conn = self.conn().await?;
        let list = groups::list(&mut conn, ws).await?;
        Ok(pb::ListGroupsResponse { groups: list.iter().map(|(g, m)| convert::group_pb(g, m)).collect() })
    }
}
