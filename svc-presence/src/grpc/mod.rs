//! `ocomms.presence.v1.PresenceService`: decode, resolve the caller, check
//! membership (svc-auth's), call the store, encode, publish.

use chrono::Utc;
use ocomms_proto::auth::v1::ListMembersRequest;
use ocomms_proto::presence::v1 as pb;
use ocomms_runtime::db::Pool;
use ocomms_runtime::events::{Bus, Event};
use ocomms_runtime::identity::Identity;
use ocomms_runtime::ids::{self, UserId, WorkspaceId};
use ocomms_runtime::{ServiceError, ServiceResult};
use tonic::Request;

use ocomms_runtime::identity::caller;

use crate::domain::{self, Status};
use crate::store::{last_seen, live::Live};

pub struct PresenceApi {
    pub pool: Pool,
    pub bus: Bus,
    pub identity: Identity,
    pub live: Live,
}

impl PresenceApi {
    pub(crate) async fn set_presence(&self, req: Request<pb::SetPresenceRequest>) -> ServiceResult<pb::SetPresenceResponse> {
        let p = caller(&req)?;
        let r = req.get_ref();
        let ws: WorkspaceId = ids::parse("workspaceId", &r.workspace_id)?;
        let status = Status::from_request(&r.status)?;
        ocomms_domain::membership::membership(&self.identity, req.metadata(), ws).await?;
        let now = Utc::now();
        self.live.set(ws, p.user_id, status, now).await?;
        let mut conn = self.pool.get().await?;
        last_seen::set(&mut conn, ws, p.user_id, status, now).await?;
        drop(conn);
        let members = self
            .identity
            .auth_client()
            .list_members(self.identity.forward(req.metadata(), ListMembersRequest { workspace_id: ws.to_string() }))
            .await
            .map_err(ServiceError::from)?
            .into_inner()
            .members;
        let to: Vec<UserId> = members.iter().filter_map(|m| m.user_id.parse().ok()).collect();
        self.bus
            .publish(Event::to_users(
                to,
                "presence:update",
                serde_json::json!({ "userId": p.user_id, "status": status.as_str(), "workspaceId": ws }),
            ))
            .await;
        Ok(pb::SetPresenceResponse {})
    }

    pub(crate) async fn get_presence(&self, req: Request<pb::GetPresenceRequest>) -> ServiceResult<pb::GetPresenceResponse> {
        let r = req.get_ref();
        let ws: WorkspaceId = ids::parse("workspaceId", &r.workspace_id)?;
        if r.user_ids.len() > domain::MAX_USERS_PER_ASK {
            return Err(ServiceError::validation("userIds", format!("at most {} at once", domain::MAX_USERS_PER_ASK)));
        }
        let users = r.user_ids.iter().map(|u| ids::parse::<UserId>("userIds", u)).collect::<ServiceResult<Vec<_>>>()?;
        caller(&req)?;
        ocomms_domain::membership::membership(&self.identity, req.metadata(), ws).await?;
        let live = self.live.get(ws, &users).await?;
        let mut conn = self.pool.get().await?;
        let seen = last_seen::of(&mut conn, ws, &users).await?;
        let presences = users
            .iter()
            .map(|u| {
                let last = seen.iter().find(|s| s.user_id == *u).map(|s| s.updated_at);
                let (status, at) = domain::presence_of(live.get(u).copied(), last);
                crate::convert::presence(*u, status, at)
            })
            .collect();
        Ok(pb::GetPresenceResponse { presences })
    }
}

impl ocomms_runtime::identity::ServesCallers for PresenceApi {
    fn callers(&self) -> &dyn ocomms_runtime::identity::Callers {
        &self.identity
    }
}

ocomms_runtime::grpc_service!(pb::presence_service_server::PresenceService, PresenceApi, {
    set_presence(pb::SetPresenceRequest) -> pb::SetPresenceResponse;
    get_presence(pb::GetPresenceRequest) -> pb::GetPresenceResponse;
});
