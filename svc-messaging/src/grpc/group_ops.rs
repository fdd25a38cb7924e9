//! User groups, mentioned as `@handle` (seed 5.2).

use chrono::Utc;
use diesel_async::AsyncConnection;
use ocomms_proto::auth::v1::ListMembersRequest;
use ocomms_proto::messaging::v1 as pb;
use ocomms_runtime::ids::{self, UserId, WorkspaceId};
use ocomms_runtime::time::rfc3339;
use ocomms_runtime::{ServiceError, ServiceResult};
use tonic::Request;

use super::MessagingApi;
use crate::policy;
use crate::store::groups::{self, Group};
use ocomms_runtime::identity::caller;

fn group_pb(g: &Group, members: &[UserId]) -> pb::Group {
    pb::Group {
        id: g.id.to_string(),
        workspace_id: g.workspace_id.to_string(),
        handle: g.handle.clone(),
        name: g.name.clone(),
        member_ids: members.iter().map(ToString::to_string).collect(),
        created_by: g.created_by.to_string(),
        created_at: rfc3339(g.created_at),
    }
}

/// Handles reserved for the special mentions.
const RESERVED: [&str; 3] = ["here", "channel", "everyone"];

impl MessagingApi {
    pub(crate) async fn create_group(&self, req: Request<pb::CreateGroupRequest>) -> ServiceResult<pb::Group> {
        let p = caller(&req)?;
        let r = req.get_ref();
        let ws: WorkspaceId = ids::parse("workspaceId", &r.workspace_id)?;
        let handle = r.handle.trim().trim_start_matches('@').to_lowercase();
        if handle.is_empty() || handle.len() > 64 || !handle.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-')) {
            return Err(ServiceError::validation("handle", "must be 1-64 letters, digits, '_', '.' or '-'"));
        }
        if RESERVED.contains(&handle.as_str()) {
            return Err(ServiceError::validation("handle", "is reserved"));
        }
        let name = r.name.trim();
        if name.is_empty() || name.chars().count() > 80 {
            return Err(ServiceError::validation("name", "must be 1-80 characters"));
        }
        let mut members = r.member_ids.iter().map(|u| ids::parse::<UserId>("memberIds", u)).collect::<ServiceResult<Vec<_>>>()?;
        members.sort();
        members.dedup();
        if members.len() > 1000 {
            return Err(ServiceError::validation("memberIds", "at most 1000 members"));
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
            groups::insert(conn, &group, &list).await.map_err(|e| match e {
                diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => {
                    ServiceError::conflict("a group with this handle already exists").with_details(serde_json::json!({ "field": "handle" }))
                }
                other => other.into(),
            })
        })
        .await?;
        Ok(group_pb(&g, &members))
    }

    pub(crate) async fn list_groups(&self, req: Request<pb::ListGroupsRequest>) -> ServiceResult<pb::ListGroupsResponse> {
        let p = caller(&req)?;
        let ws: WorkspaceId = ids::parse("workspaceId", &req.get_ref().workspace_id)?;
        self.access.membership(req.metadata(), &p, ws).await?;
        let mut conn = self.conn().await?;
        let list = groups::list(&mut conn, ws).await?;
        Ok(pb::ListGroupsResponse { groups: list.iter().map(|(g, m)| group_pb(g, m)).collect() })
    }
}
