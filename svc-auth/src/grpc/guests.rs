//! Guests (seed 2.5, 5.7) and join requests.

use chrono::{Duration, Utc};
use ocomms_proto::auth::v1 as pb;
use ocomms_proto::messaging::v1::FilterChannelsRequest;
use ocomms_runtime::events::Event;
use ocomms_runtime::identity::{service_request, token_hash};
use ocomms_runtime::ids::{self, WorkspaceId};
use ocomms_runtime::{ServiceError, ServiceResult};
use tonic::Request;

use super::AuthApi;
use crate::domain::{self, Role};
use crate::policy;
use crate::store::audit::{self, Entry};
use crate::store::workspaces::{self, Invite};
use ocomms_runtime::identity::caller;

/// A guest invite names at most this many channels.
pub const MAX_GUEST_CHANNELS: usize = 50;

impl AuthApi {
    async fn require_admin(
        &self,
        conn: &mut diesel_async::AsyncPgConnection,
        ws: WorkspaceId,
        user: ocomms_runtime::ids::UserId,
    ) -> ServiceResult<Role> {
        let mine = self.member_of(conn, ws, user).await?;
        policy::check_admin(&mine, "do this")?;
        Ok(mine.role)
    }

    pub(crate) async fn create_guest_invite(&self, req: Request<pb::CreateGuestInviteRequest>) -> ServiceResult<pb::Invite> {
        let caller = caller(&req)?;
        let r = req.get_ref();
        let ws: WorkspaceId = ids::parse("workspaceId", &r.workspace_id)?;
        let mut channels =
            r.channel_ids.iter().map(|c| ids::parse::<ocomms_domain::ChannelId>("channelIds", c)).collect::<ServiceResult<Vec<_>>>()?;
        channels.sort();
        channels.dedup();
        if channels.is_empty() || channels.len() > MAX_GUEST_CHANNELS {
            return Err(ServiceError::validation("channelIds", format!("give 1 to {MAX_GUEST_CHANNELS} channels")));
        }
        let until = ocomms_runtime::time::parse("expiresAt", &r.expires_at)?;
        if until <= Utc::now() {
            return Err(ServiceError::validation("expiresAt", "must be in the future"));
        }
        let email = match r.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
            Some(e) => Some(domain::normalize_email(e)?),
            None => None,
        };
        let mut conn = self.conn().await?;
        self.require_admin(&mut conn, ws, caller.user_id).await?;
        drop(conn);
        // The channels must be the workspace's: svc-messaging knows.
        let ask = service_request(
            &self.service_token,
            caller.user_id,
            FilterChannelsRequest { workspace_id: ws.to_string(), channel_ids: channels.iter().map(ToString::to_string).collect() },
        );
        let known = self.messaging.clone().filter_channels(ask).await.map_err(ServiceError::from)?.into_inner().channel_ids;
        let unknown: Vec<String> = channels.iter().map(ToString::to_string).filter(|c| !known.contains(c)).collect();
        if !unknown.is_empty() {
            return Err(ServiceError::validation("channelIds", format!("not channels of this workspace: {}", unknown.join(", "))));
        }
        let token = domain::new_token();
        let invite = Invite {
            id: crate::domain::InviteId::new(),
            workspace_id: ws,
            token_hash: token_hash(&token),
            max_uses: email.is_some().then_some(1),
            email,
            role: Role::Member,
            is_guest: true,
            channel_ids: channels,
            guest_expires_at: Some(until),
            uses: 0,
            expires_at: Utc::now() + Duration::days(domain::INVITE_DAYS),
            created_by: caller.user_id,
            created_at: Utc::now(),
        };
        let mut conn = self.conn().await?;
        workspaces::insert_invite(&mut conn, &invite).await?;
        audit::record(
            &mut conn,
            Entry {
                workspace_id: Some(ws),
                user_id: Some(caller.user_id),
                action: "guest_invite_created",
                ip_address: None,
                user_agent: None,
                details: serde_json::json!({ "inviteId": invite.id, "channelIds": invite.channel_ids, "guestExpiresAt": until }),
            },
        )
        .await;
        Ok(crate::convert::invite_pb(&invite, token))
    }

    pub(crate) async fn update_workspace(&self, req: Request<pb::UpdateWorkspaceRequest>) -> ServiceResult<pb::Workspace> {
        let caller = caller(&req)?;
        let r = req.get_ref();
        let ws: WorkspaceId = ids::parse("workspaceId", &r.workspace_id)?;
        let name = r.name.as_deref().map(|n| domain::check_name("name", n, 80)).transpose()?;
        let policy = r.join_policy.as_deref().map(|p| domain::check_join_policy(Some(p))).transpose()?;
        let mut conn = self.conn().await?;
        let role = self.require_admin(&mut conn, ws, caller.user_id).await?;
        let current = workspaces::get(&mut conn, ws).await?.ok_or_else(|| ServiceError::not_found("workspace"))?;
        let updated =
            workspaces::update(&mut conn, ws, name.as_deref().unwrap_or(&current.name), policy.unwrap_or(current.join_policy)).await?;
        audit::record(
            &mut conn,
            Entry {
                workspace_id: Some(ws),
                user_id: Some(caller.user_id),
                action: "workspace_updated",
                ip_address: None,
                user_agent: None,
                details: serde_json::json!({ "name": updated.name, "joinPolicy": updated.join_policy }),
            },
        )
        .await;
        let out = crate::convert::workspace_pb(&updated, role);
        let to = workspaces::member_ids(&mut conn, ws).await?;
        drop(conn);
        self.bus
            .publish(Event::to_users(
                to,
                "workspace:updated",
                serde_json::json!({ "workspace": { "id": out.id, "name": out.name, "slug": out.slug, "joinPolicy": out.join_policy } }),
            ))
            .await;
        Ok(out)
    }

    pub(crate) async fn list_join_requests(
        &self,
        req: Request<pb::ListJoinRequestsRequest>,
    ) -> ServiceResult<pb::ListJoinRequestsResponse> {
        let caller = caller(&req)?;
        let ws: WorkspaceId = ids::parse("workspaceId", &req.get_ref().workspace_id)?;
        let mut conn = self.conn().await?;
        self.require_admin(&mut conn, ws, caller.user_id).await?;
        let rows = workspaces::pending_requests(&mut conn, ws).await?;
        Ok(pb::ListJoinRequestsResponse { requests: rows.iter().map(|(r, n, e)| crate::convert::join_request_pb(r, n, e)).collect() })
    }

    pub(crate) async fn decide_join_request(&self, req: Request<pb::DecideJoinRequestRequest>) -> ServiceResult<pb::JoinRequest> {
        let caller = caller(&req)?;
        let r = req.get_ref();
        let ws: WorkspaceId = ids::parse("workspaceId", &r.workspace_id)?;
        let id: crate::domain::JoinRequestId = ids::parse("requestId", &r.request_id)?;
        let approve = r.approve;
        let mut conn = self.conn().await?;
        self.require_admin(&mut conn, ws, caller.user_id).await?;
        let by = caller.user_id;
        let decided = diesel_async::AsyncConnection::transaction::<_, ServiceError, _>(&mut *conn, async move |conn| {
            let d = workspaces::decide_request(conn, ws, id, by, approve).await?.ok_or_else(|| ServiceError::not_found("join request"))?;
            if approve && workspaces::membership(conn, ws, d.user_id).await?.is_none() {
                workspaces::add_member(conn, ws, d.user_id, Role::Member).await?;
            }
            audit::record(
                conn,
                Entry {
                    workspace_id: Some(ws),
                    user_id: Some(by),
                    action: if approve { "join_request_approved" } else { "join_request_rejected" },
                    ip_address: None,
                    user_agent: None,
                    details: serde_json::json!({ "requestId": id, "target": d.user_id }),
                },
            )
            .await;
            Ok(d)
        })
        .await?;
        let user = crate::store::users::by_ids(&mut conn, &[decided.user_id]).await?.pop();
        let (name, email) = user.map(|u| (u.name, u.email)).unwrap_or_default();
        let out = crate::convert::join_request_pb(&decided, &name, &email);
        self.bus.publish(Event::to_users(vec![decided.user_id], "workspace:joinDecision", serde_json::json!({ "request": out }))).await;
        Ok(out)
    }
}
