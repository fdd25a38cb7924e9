//! Sessions, member roles and removal, profiles, statuses, audit logs.

use chrono::{DateTime, NaiveDate, Utc};
use diesel_async::AsyncConnection;
use ocomms_proto::auth::v1 as pb;
use ocomms_runtime::events::{Event, MEMBER_REMOVED, SESSION_REVOKED};
use ocomms_runtime::ids::{self, SessionId, UserId, WorkspaceId};
use ocomms_runtime::time::{opt_rfc3339, rfc3339};
use ocomms_runtime::{ServiceError, ServiceResult};
use tonic::Request;

use super::AuthApi;
use crate::domain::{self, Role};
use crate::policy;
use crate::store::audit::{self, Entry};
use crate::store::profiles::{self, Status};
use crate::store::{sessions, users, workspaces};
use ocomms_runtime::identity::caller;

fn status_pb(s: &Status) -> pb::UserStatus {
    pb::UserStatus { emoji: s.emoji.clone(), text: s.text.clone(), expires_at: opt_rfc3339(s.expires_at), dnd: s.dnd }
}

fn parse_day(field: &str, v: &str, end: bool) -> ServiceResult<DateTime<Utc>> {
    if let Ok(d) = NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d") {
        let t = if end { d.and_hms_milli_opt(23, 59, 59, 999) } else { d.and_hms_opt(0, 0, 0) };
        return t.map(|t| t.and_utc()).ok_or_else(|| ServiceError::validation(field, "invalid date"));
    }
    ocomms_runtime::time::parse(field, v)
}

impl AuthApi {
    pub(crate) async fn list_sessions(&self, req: Request<pb::ListSessionsRequest>) -> ServiceResult<pb::ListSessionsResponse> {
        let caller = caller(&req)?;
        let mut conn = self.conn().await?;
        let list = sessions::for_user(&mut conn, caller.user_id).await?;
        Ok(pb::ListSessionsResponse {
            sessions: list.iter().map(|s| crate::convert::session_pb(s, Some(s.id) == caller.session_id)).collect(),
        })
    }

    pub(crate) async fn revoke_session(&self, req: Request<pb::RevokeSessionRequest>) -> ServiceResult<pb::RevokeSessionResponse> {
        let caller = caller(&req)?;
        let r = req.get_ref();
        let target: Option<SessionId> = ids::parse_opt("sessionId", r.session_id.as_deref())?;
        let mut conn = self.conn().await?;
        let revoked = match (target, r.all_others) {
            (Some(id), false) => {
                let gone = sessions::delete_for_user(&mut conn, caller.user_id, Some(id), None).await?;
                if gone.is_empty() {
                    return Err(ServiceError::not_found("session"));
                }
                gone
            }
            (None, true) => sessions::delete_for_user(&mut conn, caller.user_id, None, caller.session_id).await?,
            _ => return Err(ServiceError::validation("sessionId", "give a sessionId, or allOthers: true")),
        };
        self.bus
            .publish(Event::internal_of(
                SESSION_REVOKED,
                &pb::SessionsRevokedEvent { session_ids: revoked.iter().map(ToString::to_string).collect() },
            ))
            .await;
        audit::record(
            &mut conn,
            Entry {
                workspace_id: None,
                user_id: Some(caller.user_id),
                action: "session_revoked",
                ip_address: None,
                user_agent: None,
                details: serde_json::json!({ "sessionIds": revoked }),
            },
        )
        .await;
        Ok(pb::RevokeSessionResponse { revoked: u32::try_from(revoked.len()).unwrap_or(u32::MAX) })
    }

    pub(crate) async fn update_member(&self, req: Request<pb::UpdateMemberRequest>) -> ServiceResult<pb::Member> {
        let caller = caller(&req)?;
        let r = req.get_ref();
        let ws: WorkspaceId = ids::parse("workspaceId", &r.workspace_id)?;
        let target: UserId = ids::parse("userId", &r.user_id)?;
        let to = Role::parse(r.role.trim()).ok_or_else(|| ServiceError::validation("role", "must be owner, admin or member"))?;
        let mut conn = self.conn().await?;
        let mine = self.member_of(&mut conn, ws, caller.user_id).await?;
        let actor = mine.role;
        let actor_id = caller.user_id;
        let member = conn
            .transaction::<_, ServiceError, _>(async move |conn| {
                let owners = workspaces::owners_for_update(conn, ws).await?;
                let current = workspaces::membership(conn, ws, target).await?.ok_or_else(|| ServiceError::not_found("member"))?;
                if current.is_guest && to != Role::Member {
                    return Err(ServiceError::validation("role", "guests cannot be admins or owners"));
                }
                let current_role = current.role;
                policy::check_role_change(actor, current_role, to)?;
                policy::check_keeps_an_owner(current_role, Some(to), owners.len(), false)?;
                let m = workspaces::set_role(conn, ws, target, to).await?;
                audit::record(
                    conn,
                    Entry {
                        workspace_id: Some(ws),
                        user_id: Some(actor_id),
                        action: "role_changed",
                        ip_address: None,
                        user_agent: None,
                        details: serde_json::json!({ "target": target, "from": current_role.as_str(), "to": to.as_str() }),
                    },
                )
                .await;
                Ok(m)
            })
            .await?;
        let user = users::by_ids(&mut conn, &[target]).await?.pop().ok_or_else(|| ServiceError::not_found("member"))?;
        let out = crate::convert::member_pb(&member, &user.name, &user.email);
        self.bus.publish(Event::to_users(vec![target], "member:updated", serde_json::json!({ "member": out }))).await;
        Ok(out)
    }

    pub(crate) async fn remove_member(&self, req: Request<pb::RemoveMemberRequest>) -> ServiceResult<pb::RemoveMemberResponse> {
        let caller = caller(&req)?;
        let r = req.get_ref();
        let ws: WorkspaceId = ids::parse("workspaceId", &r.workspace_id)?;
        let target: UserId = ids::parse("userId", &r.user_id)?;
        let mut conn = self.conn().await?;
        let mine = self.member_of(&mut conn, ws, caller.user_id).await?;
        let actor = mine.role;
        let actor_id = caller.user_id;
        // The job drops what they had from before this time; the margin
        // covers a channel joined while this transaction commits (a return
        // to the workspace within it is not a real case).
        let removed_at = Utc::now() + chrono::Duration::seconds(5);
        conn.transaction::<_, ServiceError, _>(async move |conn| {
            let owners = workspaces::owners_for_update(conn, ws).await?;
            let current = workspaces::membership(conn, ws, target).await?.ok_or_else(|| ServiceError::not_found("member"))?;
            let current_role = current.role;
            policy::check_removal(actor, current_role, target == actor_id)?;
            policy::check_keeps_an_owner(current_role, None, owners.len(), true)?;
            workspaces::remove_member(conn, ws, target).await?;
            // A guest's grants end with their membership: re-invited, they
            // get only the new invite's channels.
            workspaces::revoke_guest_channels(conn, ws, target).await?;
            // Durable: svc-messaging drops their channel memberships even if
            // it is down right now.
            crate::jobs::member_removed(conn, ws, target, removed_at).await?;
            audit::record(
                conn,
                Entry {
                    workspace_id: Some(ws),
                    user_id: Some(actor_id),
                    action: if target == actor_id { "member_left" } else { "member_removed" },
                    ip_address: None,
                    user_agent: None,
                    details: serde_json::json!({ "target": target, "role": current_role.as_str() }),
                },
            )
            .await;
            Ok(())
        })
        .await?;
        self.relay_wake();
        // Their access ends before we answer: svc-messaging drops their
        // memberships now (the job above is the guarantee if it cannot).
        let ask = ocomms_runtime::identity::service_request(
            &self.service_token,
            target,
            ocomms_proto::messaging::v1::RemoveWorkspaceMemberRequest {
                workspace_id: ws.to_string(),
                user_id: target.to_string(),
                removed_at: ocomms_runtime::time::rfc3339(Utc::now()),
            },
        );
        if let Err(s) = self.messaging.clone().remove_workspace_member(ask).await {
            tracing::warn!(error = %s, "svc-messaging did not take the removal at once; the durable job will");
        }
        // Also on the bus, so every replica's membership cache forgets at once.
        self.bus
            .publish(Event::internal_of(
                MEMBER_REMOVED,
                &pb::MemberRemovedEvent { workspace_id: ws.to_string(), user_id: target.to_string() },
            ))
            .await;
        self.bus.publish(Event::to_users(vec![target], "workspace:removed", serde_json::json!({ "workspaceId": ws }))).await;
        Ok(pb::RemoveMemberResponse {})
    }

    pub(crate) async fn get_profile(&self, req: Request<pb::GetProfileRequest>) -> ServiceResult<pb::Profile> {
        let caller = caller(&req)?;
        let r = req.get_ref();
        let ws: WorkspaceId = ids::parse("workspaceId", &r.workspace_id)?;
        let target: UserId = ids::parse_opt("userId", r.user_id.as_deref())?.unwrap_or(caller.user_id);
        let mut conn = self.conn().await?;
        self.member_of(&mut conn, ws, caller.user_id).await?;
        workspaces::membership(&mut conn, ws, target).await?.ok_or_else(|| ServiceError::not_found("member"))?;
        self.profile_pb(&mut conn, ws, target).await
    }

    /// GDPR export (seed 3.1): the member's account, profile and
    /// membership, for themselves or an owner of the workspace.
    pub(crate) async fn export_user(&self, req: Request<pb::ExportUserRequest>) -> ServiceResult<pb::UserExport> {
        let caller = caller(&req)?;
        let r = req.get_ref();
        let ws: WorkspaceId = ids::parse("workspaceId", &r.workspace_id)?;
        let target: UserId = ids::parse("userId", &r.user_id)?;
        let mut conn = self.conn().await?;
        let mine = self.member_of(&mut conn, ws, caller.user_id).await?;
        ocomms_domain::membership::check_may_export(mine.role, caller.user_id, target)?;
        let member = workspaces::membership(&mut conn, ws, target).await?.ok_or_else(|| ServiceError::not_found("member"))?;
        let user = users::by_ids(&mut conn, &[target]).await?.pop().ok_or_else(|| ServiceError::not_found("member"))?;
        let mut m = crate::convert::member_pb(&member, &user.name, &user.email);
        if member.is_guest {
            m.guest_channel_ids = workspaces::guest_channels(&mut conn, ws, target).await?.iter().map(ToString::to_string).collect();
        }
        let profile = self.profile_pb(&mut conn, ws, target).await?;
        Ok(pb::UserExport { user: Some(crate::convert::user_pb(&user)), profile: Some(profile), member: Some(m) })
    }

    async fn profile_pb(&self, conn: &mut diesel_async::AsyncPgConnection, ws: WorkspaceId, user: UserId) -> ServiceResult<pb::Profile> {
        let p = profiles::get(conn, ws, user).await?;
        let name = users::by_ids(conn, &[user]).await?.pop().map(|u| u.name).unwrap_or_default();
        let status = profiles::status(conn, ws, user).await?;
        Ok(pb::Profile {
            user_id: user.to_string(),
            workspace_id: ws.to_string(),
            display_name: p.display_name.unwrap_or(name),
            title: p.title,
            pronouns: p.pronouns,
            timezone: p.timezone,
            avatar_url: p.avatar_url,
            bio: p.bio,
            status: status.as_ref().map(status_pb),
        })
    }

    pub(crate) async fn update_profile(&self, req: Request<pb::UpdateProfileRequest>) -> ServiceResult<pb::Profile> {
        let caller = caller(&req)?;
        let r = req.get_ref();
        let ws: WorkspaceId = ids::parse("workspaceId", &r.workspace_id)?;
        let mut conn = self.conn().await?;
        self.member_of(&mut conn, ws, caller.user_id).await?;
        let mut p = profiles::get(&mut conn, ws, caller.user_id).await?;
        // Fields left out keep their value; an empty string clears one.
        if r.display_name.is_some() {
            p.display_name = domain::optional_text("displayName", r.display_name.as_deref(), 80)?;
        }
        if r.title.is_some() {
            p.title = domain::optional_text("title", r.title.as_deref(), 100)?;
        }
        if r.pronouns.is_some() {
            p.pronouns = domain::optional_text("pronouns", r.pronouns.as_deref(), 40)?;
        }
        if r.timezone.is_some() {
            p.timezone = domain::check_timezone(r.timezone.as_deref())?;
        }
        if r.avatar_url.is_some() {
            p.avatar_url = domain::check_avatar_url(r.avatar_url.as_deref())?;
        }
        if r.bio.is_some() {
            p.bio = domain::optional_text("bio", r.bio.as_deref(), 500)?;
        }
        profiles::put(&mut conn, ws, caller.user_id, &p).await?;
        let out = self.profile_pb(&mut conn, ws, caller.user_id).await?;
        let to = workspaces::member_ids(&mut conn, ws).await?;
        drop(conn);
        self.bus.publish(Event::to_users(to, "profile:update", serde_json::json!({ "profile": out }))).await;
        Ok(out)
    }

    pub(crate) async fn set_status(&self, req: Request<pb::SetStatusRequest>) -> ServiceResult<pb::UserStatus> {
        let caller = caller(&req)?;
        let r = req.get_ref();
        let ws: WorkspaceId = ids::parse("workspaceId", &r.workspace_id)?;
        let expires_at = match r.expires_at.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(t) => {
                let t = ocomms_runtime::time::parse("expiresAt", t)?;
                if t <= Utc::now() {
                    return Err(ServiceError::validation("expiresAt", "must be in the future"));
                }
                Some(t)
            }
            None => None,
        };
        let status = Status {
            emoji: domain::optional_text("emoji", r.emoji.as_deref(), 64)?,
            text: domain::optional_text("text", r.text.as_deref(), 100)?,
            expires_at,
            dnd: r.dnd,
        };
        let mut conn = self.conn().await?;
        self.member_of(&mut conn, ws, caller.user_id).await?;
        let user = caller.user_id;
        let st = status.clone();
        conn.transaction::<_, ServiceError, _>(async move |conn| {
            profiles::set_status(conn, ws, user, &st).await?;
            if let Some(at) = st.expires_at {
                crate::jobs::schedule_status_expiry(conn, ws, user, at).await?;
            }
            Ok(())
        })
        .await?;
        if status.expires_at.is_some() {
            self.relay_wake();
        }
        let to = workspaces::member_ids(&mut conn, ws).await?;
        drop(conn);
        let out = status_pb(&status);
        self.bus
            .publish(Event::to_users(
                to,
                "status:update",
                serde_json::json!({ "userId": caller.user_id, "workspaceId": ws, "status": out }),
            ))
            .await;
        Ok(out)
    }

    pub(crate) async fn list_audit_logs(&self, req: Request<pb::ListAuditLogsRequest>) -> ServiceResult<pb::ListAuditLogsResponse> {
        let caller = caller(&req)?;
        let r = req.get_ref();
        let ws: WorkspaceId = ids::parse("workspaceId", &r.workspace_id)?;
        let start = r.start_date.as_deref().filter(|s| !s.trim().is_empty()).map(|s| parse_day("startDate", s, false)).transpose()?;
        let end = r.end_date.as_deref().filter(|s| !s.trim().is_empty()).map(|s| parse_day("endDate", s, true)).transpose()?;
        let limit = i64::from(crate::domain::AUDIT_PAGE.of(r.limit)?);
        let mut conn = self.conn().await?;
        let mine = self.member_of(&mut conn, ws, caller.user_id).await?;
        policy::check_owner(&mine, "read the audit log")?;
        let rows = audit::list(
            &mut conn,
            audit::Filter {
                workspace_id: ws,
                start,
                end,
                action: r.action.as_deref().filter(|a| !a.trim().is_empty()),
                limit,
                offset: i64::from(r.offset.unwrap_or(0)),
            },
        )
        .await?;
        Ok(pb::ListAuditLogsResponse {
            logs: rows
                .into_iter()
                .map(|a| pb::AuditLog {
                    id: a.id.to_string(),
                    workspace_id: a.workspace_id.map(|w| w.to_string()),
                    user_id: a.user_id.map(|u| u.to_string()),
                    action: a.action,
                    ip_address: a.ip_address,
                    user_agent: a.user_agent,
                    details: a.details.to_string(),
                    created_at: rfc3339(a.created_at),
                })
                .collect(),
        })
    }

    pub(crate) async fn set_last_visited(&self, req: Request<pb::SetLastVisitedRequest>) -> ServiceResult<pb::SetLastVisitedResponse> {
        let caller = caller(&req)?;
        let ws: WorkspaceId = ids::parse("workspaceId", &req.get_ref().workspace_id)?;
        let mut conn = self.conn().await?;
        self.member_of(&mut conn, ws, caller.user_id).await?;
        profiles::set_last_visited(&mut conn, caller.user_id, ws).await?;
        Ok(pb::SetLastVisitedResponse {})
    }
}
