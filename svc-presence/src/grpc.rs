//! `ocomms.presence.v1.PresenceService`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use ocomms_proto::auth::v1::ListMembersRequest;
use ocomms_proto::presence::v1 as pb;
use ocomms_runtime::db::Pool;
use ocomms_runtime::events::{Bus, Event};
use ocomms_runtime::identity::Identity;
use ocomms_runtime::ids::{self, UserId, WorkspaceId};
use ocomms_runtime::time::rfc3339;
use ocomms_runtime::{ServiceError, ServiceResult};
use tonic::Request;

use crate::live::Live;

pub struct PresenceApi {
    pub pool: Pool,
    pub bus: Bus,
    pub identity: Identity,
    pub live: Live,
}

#[derive(QueryableByName)]
struct LastSeen {
    #[diesel(sql_type = SqlUuid)]
    user_id: UserId,
    #[diesel(sql_type = Timestamptz)]
    updated_at: DateTime<Utc>,
}

impl PresenceApi {
    pub(crate) async fn set_presence(&self, req: Request<pb::SetPresenceRequest>) -> ServiceResult<pb::SetPresenceResponse> {
        let p = self.identity.principal(req.metadata()).await?;
        let r = req.get_ref();
        let ws: WorkspaceId = ids::parse("workspaceId", &r.workspace_id)?;
        let status = match r.status.trim() {
            s @ ("active" | "away" | "offline") => s.to_owned(),
            _ => return Err(ServiceError::validation("status", "must be active, away or offline")),
        };
        self.identity.membership(req.metadata(), ws).await?;
        let now = Utc::now();
        self.live.set(ws, p.user_id, &status, now).await?;
        let mut conn = self.pool.get().await?;
        diesel::sql_query(
            "INSERT INTO last_seen (workspace_id, user_id, status, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (workspace_id, user_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at",
        )
        .bind::<SqlUuid, _>(ws)
        .bind::<SqlUuid, _>(p.user_id)
        .bind::<Text, _>(&status)
        .bind::<Timestamptz, _>(now)
        .execute(&mut conn)
        .await?;
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
                serde_json::json!({ "userId": p.user_id, "status": status, "workspaceId": ws }),
            ))
            .await;
        Ok(pb::SetPresenceResponse {})
    }

    pub(crate) async fn get_presence(&self, req: Request<pb::GetPresenceRequest>) -> ServiceResult<pb::GetPresenceResponse> {
        let r = req.get_ref();
        let ws: WorkspaceId = ids::parse("workspaceId", &r.workspace_id)?;
        if r.user_ids.len() > 500 {
            return Err(ServiceError::validation("userIds", "at most 500 at once"));
        }
        let users = r.user_ids.iter().map(|u| ids::parse::<UserId>("userIds", u)).collect::<ServiceResult<Vec<_>>>()?;
        self.identity.principal(req.metadata()).await?;
        self.identity.membership(req.metadata(), ws).await?;
        let live = self.live.get(ws, &users).await?;
        let mut conn = self.pool.get().await?;
        let seen: Vec<LastSeen> =
            diesel::sql_query("SELECT user_id, updated_at FROM last_seen WHERE workspace_id = $1 AND user_id = ANY($2)")
                .bind::<SqlUuid, _>(ws)
                .bind::<diesel::sql_types::Array<SqlUuid>, _>(&users)
                .load(&mut conn)
                .await?;
        let presences = users
            .iter()
            .map(|u| match live.get(u) {
                Some((status, at)) => pb::Presence { user_id: u.to_string(), status: status.clone(), updated_at: Some(rfc3339(*at)) },
                None => pb::Presence {
                    user_id: u.to_string(),
                    status: "offline".into(),
                    updated_at: seen.iter().find(|s| s.user_id == *u).map(|s| rfc3339(s.updated_at)),
                },
            })
            .collect();
        Ok(pb::GetPresenceResponse { presences })
    }
}

ocomms_runtime::grpc_service!(pb::presence_service_server::PresenceService, PresenceApi, {
    set_presence(pb::SetPresenceRequest) -> pb::SetPresenceResponse;
    get_presence(pb::GetPresenceRequest) -> pb::GetPresenceResponse;
});
