//! `ocomms.auth.v1.AuthService`: decode, call domain and store, encode.

mod guests;
mod manage;
mod recovery;
mod two_factor;

use chrono::{Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use ocomms_proto::auth::v1 as pb;
use ocomms_runtime::db::Pool;
use ocomms_runtime::events::{Bus, Event, SESSION_REVOKED};
use ocomms_runtime::identity::{Callers, Found, Principal, ServesCallers, bearer_token, resolved, service_principal, token_hash};
use ocomms_runtime::ids::{self, SessionId, UserId, WorkspaceId};
use ocomms_runtime::time::rfc3339;
use ocomms_runtime::{ErrorCode, OrTaken, ServiceError, ServiceResult};
use tonic::Request;

use crate::Config;
use crate::domain::{self, Role};
use crate::policy::{self, JoinOutcome};
use crate::store::audit::{self, Entry};
use crate::store::sessions::{self, NewSession, Session};
use crate::store::users::{self, NewUser, User};
use crate::store::workspaces::{self, Invite, Member, Workspace};
use crate::{convert, lockout, password};
use ocomms_runtime::identity::caller;

pub struct AuthApi {
    relay: ocomms_runtime::jobs::Relay,
    pub(crate) pool: Pool,
    pub(crate) bus: Bus,
    pub(crate) service_token: String,
    cache_ttl_secs: u32,
    pub(crate) notify: ocomms_proto::notify::v1::notify_service_client::NotifyServiceClient<tonic::transport::Channel>,
    pub(crate) public_url: String,
    two_factor_key: Option<[u8; 32]>,
    pub(crate) messaging: ocomms_proto::messaging::v1::messaging_service_client::MessagingServiceClient<tonic::transport::Channel>,
    /// Every password hash and check goes through it (bounded threads and queue).
    pub(crate) hasher: password::Hasher,
}

fn invalid_credentials() -> ServiceError {
    ServiceError::new(ErrorCode::Unauthorized, "Invalid credentials")
}

fn trimmed(s: Option<&str>, max: usize) -> Option<String> {
    s.map(str::trim).filter(|s| !s.is_empty()).map(|s| match s.char_indices().nth(max) {
        Some((i, _)) => s[..i].to_owned(),
        None => s.to_owned(),
    })
}

/// Where a call comes from, as sessions and the audit log record it.
pub(crate) struct Origin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// The `user-agent` of the connection; tonic appends its own name to the one
/// it relays (gRPC-web through the gateway), which is dropped here.
fn connection_user_agent(meta: &tonic::metadata::MetadataMap) -> Option<&str> {
    let ua = meta.get("user-agent")?.to_str().ok()?.trim();
    match ua.rsplit_once(" tonic/") {
        Some((client, _)) if !client.trim().is_empty() => Some(client.trim()),
        _ => Some(ua),
    }
}

impl AuthApi {
    pub fn new(pool: Pool, bus: Bus, config: &Config, relay: ocomms_runtime::jobs::Relay) -> anyhow::Result<Self> {
        Ok(Self {
            relay,
            pool,
            bus,
            service_token: config.common.service_token.clone(),
            cache_ttl_secs: config.principal_cache_secs,
            notify: ocomms_runtime::sized!(ocomms_proto::notify::v1::notify_service_client::NotifyServiceClient::new(
                ocomms_runtime::grpc::channel(&config.notify_url,)?
            )),
            public_url: config.public_url.clone(),
            two_factor_key: config.two_factor_key,
            messaging: ocomms_runtime::sized!(ocomms_proto::messaging::v1::messaging_service_client::MessagingServiceClient::new(
                ocomms_runtime::grpc::channel(&config.messaging_url,)?
            )),
            hasher: password::Hasher::new(config.password_hash_threads, config.password_hash_queue)?,
        })
    }

    /// Where a call comes from, as recorded on sessions and in the audit log.
    /// The request's `ipAddress` and `userAgent` are believed only from a
    /// caller presenting the service credential: the gateway, which filled
    /// them from the HTTP connection (or its trusted proxy) for REST and
    /// for the gRPC-web calls it answers itself. Any other caller (gRPC, or
    /// gRPC-web forwarded as the client sent it) is recorded as its
    /// connection says: the peer's address and its `user-agent`.
    pub(crate) fn origin<T>(&self, req: &Request<T>, claimed_ip: Option<&str>, claimed_ua: Option<&str>) -> Origin {
        let meta = req.metadata();
        let peer = req.remote_addr().map(|a| a.ip().to_canonical().to_string());
        let (ip, ua) = if ocomms_runtime::identity::has_service_credential(meta, &self.service_token) {
            (claimed_ip.map(str::to_owned).or(peer), claimed_ua)
        } else {
            (peer, connection_user_agent(meta))
        };
        Origin { ip: trimmed(ip.as_deref(), 64), user_agent: trimmed(ua, 512) }
    }

    pub(crate) fn relay_wake(&self) {
        self.relay.wake();
    }

    /// The parts a background task needs (email delivery).
    pub(crate) fn clone_for_background(&self) -> Mailer {
        Mailer { notify: self.notify.clone(), service_token: self.service_token.clone(), public_url: self.public_url.clone() }
    }

    /// Emails a user through svc-notify (service credential, on the user's
    /// behalf). Delivery failures are logged: the caller's request stands.
    pub(crate) fn email(&self, user: UserId, to: String, subject: String, body: String) {
        self.clone_for_background().email(user, to, subject, body);
    }

    pub(crate) async fn conn(&self) -> ServiceResult<ocomms_runtime::db::Conn<'_>> {
        Ok(self.pool.get().await?)
    }

    /// The live session and user for a token, renewing it when it nears
    /// expiry (sliding sessions).
    async fn session_for(&self, token: &str) -> ServiceResult<(Session, User)> {
        let mut conn = self.conn().await?;
        let (mut session, user) = sessions::by_token_hash(&mut conn, &token_hash(token)).await?.ok_or_else(ServiceError::unauthorized)?;
        let now = Utc::now();
        if session.expires_at - now < Duration::days(domain::SESSION_RENEW_DAYS) {
            session.expires_at = now + Duration::days(domain::SESSION_DAYS);
            sessions::extend(&mut conn, session.id, session.expires_at).await?;
        }
        Ok((session, user))
    }

    /// An account was just locked (seed 5.3): its owner is told by email,
    /// and the audit log says when it ends.
    pub(crate) async fn account_locked(
        &self,
        conn: &mut AsyncPgConnection,
        user: &User,
        until: chrono::DateTime<Utc>,
        lockout_count: i32,
        ip: Option<&str>,
        ua: Option<&str>,
    ) {
        tracing::warn!(user_id = %user.id, until = %rfc3339(until), "account locked after repeated failed sign-ins");
        self.email(
            user.id,
            user.email.clone(),
            "Your OComms account was locked".into(),
            format!(
                "After {} failed sign-in attempts your account is locked until {}.\nIf this was not you, reset your password: {}/forgot-password",
                domain::MAX_FAILED_ATTEMPTS,
                rfc3339(until),
                self.public_url
            ),
        );
        audit::record(
            conn,
            Entry {
                workspace_id: None,
                user_id: Some(user.id),
                action: "account_locked",
                ip_address: ip,
                user_agent: ua,
                details: serde_json::json!({ "lockedUntil": rfc3339(until), "lockoutCount": lockout_count }),
            },
        )
        .await;
    }

    async fn create_session(
        &self,
        conn: &mut AsyncPgConnection,
        user: UserId,
        ip: Option<&str>,
        ua: Option<&str>,
    ) -> ServiceResult<(String, Session)> {
        let token = domain::new_token();
        let hash = token_hash(&token);
        let session = sessions::insert(
            conn,
            NewSession {
                id: SessionId::new(),
                user_id: user,
                token_hash: &hash,
                expires_at: Utc::now() + Duration::days(domain::SESSION_DAYS),
                ip_address: ip,
                user_agent: ua,
            },
        )
        .await?;
        Ok((token, session))
    }

    /// The caller's membership in a workspace, or NOT_FOUND (a workspace the
    /// caller is not in does not exist for them).
    pub(crate) async fn member_of(&self, conn: &mut AsyncPgConnection, ws: WorkspaceId, user: UserId) -> ServiceResult<Member> {
        workspaces::membership(conn, ws, user).await?.ok_or_else(|| ServiceError::not_found("workspace"))
    }
}

impl AuthApi {
    pub(crate) async fn sign_up(&self, req: Request<pb::SignUpRequest>) -> ServiceResult<pb::AuthResponse> {
        let origin = self.origin(&req, req.get_ref().ip_address.as_deref(), req.get_ref().user_agent.as_deref());
        let (ip, ua) = (origin.ip.as_deref(), origin.user_agent.as_deref());
        let r = req.into_inner();
        let email_norm = domain::normalize_email(&r.email)?;
        let name = domain::check_name("name", &r.name, 100)?;
        domain::check_password("password", &r.password, &email_norm)?;
        let hash = self.hasher.hash(r.password).await?;
        let mut conn = self.conn().await?;
        let result = conn
            .transaction::<_, ServiceError, _>(async move |conn| {
                let user = users::insert(
                    conn,
                    NewUser { id: UserId::new(), email: r.email.trim(), email_normalized: &email_norm, name: &name, password_hash: &hash },
                )
                .await
                .or_taken("email", "an account with this email already exists")?;
                users::add_password_history(conn, user.id, &hash).await?;
                let (token, session) = self.create_session(conn, user.id, ip, ua).await?;
                Ok((user, token, session))
            })
            .await;
        let (user, token, session) = result?;
        audit::record(
            &mut conn,
            Entry {
                workspace_id: None,
                user_id: Some(user.id),
                action: "sign_up",
                ip_address: ip,
                user_agent: ua,
                details: serde_json::json!({}),
            },
        )
        .await;
        Ok(pb::AuthResponse { user: Some(convert::user_pb(&user)), token, session: Some(convert::session_pb(&session, true)) })
    }

    pub(crate) async fn sign_in(&self, req: Request<pb::SignInRequest>) -> ServiceResult<pb::AuthResponse> {
        let origin = self.origin(&req, req.get_ref().ip_address.as_deref(), req.get_ref().user_agent.as_deref());
        let (ip, ua) = (origin.ip.as_deref(), origin.user_agent.as_deref());
        let r = req.into_inner();
        // A malformed email cannot match an account: same answer as a wrong one.
        let email_norm = domain::normalize_email(&r.email).unwrap_or_default();
        let mut conn = self.conn().await?;
        let user = if email_norm.is_empty() { None } else { users::by_email(&mut conn, &email_norm).await? };
        let Some(user) = user else {
            drop(conn);
            // Spend the same work as a real check, then answer the same.
            self.hasher.verify(r.password, None).await?;
            return Err(invalid_credentials());
        };
        // Seed 5.3, whatever the concurrency: the attempt takes its number
        // before the password is checked, so at most MAX_FAILED_ATTEMPTS
        // are ever checked before the lock; the others wait for a number
        // (or the lock) without touching argon2.
        drop(conn);
        let attempt = lockout::begin(&self.pool, user.id).await?;
        let mut valid = self.hasher.verify(r.password, Some(user.password_hash.clone())).await?;
        let mut wrong_code = false;
        if valid {
            match self.second_factor(user.id, r.totp_code.as_deref()).await? {
                two_factor::SecondFactor::Passed => {}
                two_factor::SecondFactor::Required => {
                    // Not a failure: the next attempt (with the code) takes its place.
                    attempt.give_back().await;
                    return Err(ServiceError::new(ErrorCode::Unauthorized, "two-factor code required")
                        .with_details(serde_json::json!({ "twoFactorRequired": true })));
                }
                two_factor::SecondFactor::Failed => {
                    valid = false;
                    wrong_code = true;
                }
            }
        }
        let mut conn = self.conn().await?;
        // Answered: a failure keeps its count, a success clears it.
        if !valid {
            // The attempt that reaches the limit sets the lock.
            if let Some((until, lockout_count)) = attempt.fail(&mut conn).await? {
                self.account_locked(&mut conn, &user, until, lockout_count, ip, ua).await;
            }
            audit::record(
                &mut conn,
                Entry {
                    workspace_id: None,
                    user_id: Some(user.id),
                    action: "login_failure",
                    ip_address: ip,
                    user_agent: ua,
                    details: serde_json::json!({ "reason": if wrong_code { "two_factor" } else { "password" } }),
                },
            )
            .await;
            if wrong_code {
                return Err(ServiceError::new(ErrorCode::Unauthorized, "Invalid two-factor code")
                    .with_details(serde_json::json!({ "twoFactorRequired": true })));
            }
            return Err(invalid_credentials());
        }
        attempt.succeed(&mut conn).await?;
        let new_device = match ua {
            Some(agent) => !audit::agent_seen(&mut conn, user.id, agent).await?,
            None => false,
        };
        let (token, session) = self.create_session(&mut conn, user.id, ip, ua).await?;
        if new_device {
            self.email(
                user.id,
                user.email.clone(),
                "New sign-in to your OComms account".into(),
                format!(
                    "Your account was just signed in to from a device it had not been used on:\n{}\nfrom {} at {}.\n\nIf this was you, there is nothing to do. If not, reset your password at {}/forgot-password and end that session under Settings, Sessions.",
                    ua.unwrap_or("an unknown browser"),
                    ip.unwrap_or("an unknown address"),
                    rfc3339(Utc::now()),
                    self.public_url
                ),
            );
        }
        audit::record(
            &mut conn,
            Entry {
                workspace_id: None,
                user_id: Some(user.id),
                action: "login_success",
                ip_address: ip,
                user_agent: ua,
                details: serde_json::json!({}),
            },
        )
        .await;
        Ok(pb::AuthResponse { user: Some(convert::user_pb(&user)), token, session: Some(convert::session_pb(&session, true)) })
    }

    pub(crate) async fn sign_out(&self, req: Request<pb::SignOutRequest>) -> ServiceResult<pb::SignOutResponse> {
        let caller = caller(&req)?;
        let Some(session) = caller.session_id else { return Err(ServiceError::forbidden("no session to end").into()) };
        let mut conn = self.conn().await?;
        sessions::delete(&mut conn, session).await?;
        self.bus.publish(Event::internal_of(SESSION_REVOKED, &pb::SessionsRevokedEvent { session_ids: vec![session.to_string()] })).await;
        audit::record(
            &mut conn,
            Entry {
                workspace_id: None,
                user_id: Some(caller.user_id),
                action: "sign_out",
                ip_address: None,
                user_agent: None,
                details: serde_json::json!({ "sessionId": session }),
            },
        )
        .await;
        Ok(pb::SignOutResponse {})
    }

    pub(crate) async fn get_session(&self, req: Request<pb::GetSessionRequest>) -> ServiceResult<pb::SessionResponse> {
        // The wiring read the session when it resolved the caller; a
        // service credential names no session.
        caller(&req)?;
        let (session, user) = resolved::<(Session, User), _>(&req).ok_or_else(ServiceError::unauthorized)?;
        Ok(pb::SessionResponse { user: Some(convert::user_pb(&user)), session: Some(convert::session_pb(&session, true)) })
    }

    pub(crate) async fn resolve_token(&self, req: Request<pb::ResolveTokenRequest>) -> ServiceResult<pb::Principal> {
        let token = req.into_inner().token;
        if token.is_empty() {
            return Err(ServiceError::unauthorized());
        }
        let (session, user) = self.session_for(&token).await?;
        Ok(pb::Principal {
            user_id: user.id.to_string(),
            session_id: session.id.to_string(),
            email: user.email,
            name: user.name,
            cache_ttl_secs: self.cache_ttl_secs,
        })
    }

    pub(crate) async fn get_users(&self, req: Request<pb::GetUsersRequest>) -> ServiceResult<pb::GetUsersResponse> {
        let caller = caller(&req)?;
        let r = req.into_inner();
        if r.user_ids.len() > 200 {
            return Err(ServiceError::validation("userIds", "at most 200 at once"));
        }
        let ids = r.user_ids.iter().map(|s| ids::parse::<UserId>("userIds", s)).collect::<ServiceResult<Vec<_>>>()?;
        let mut conn = self.conn().await?;
        let mut visible = workspaces::share_workspace(&mut conn, caller.user_id, &ids).await?;
        if ids.contains(&caller.user_id) {
            visible.push(caller.user_id);
        }
        let found = users::by_ids(&mut conn, &visible).await?;
        Ok(pb::GetUsersResponse { users: found.iter().map(convert::user_pb).collect() })
    }

    pub(crate) async fn create_workspace(&self, req: Request<pb::CreateWorkspaceRequest>) -> ServiceResult<pb::Workspace> {
        let caller = caller(&req)?;
        let r = req.into_inner();
        let name = domain::check_name("name", &r.name, 80)?;
        let slug = domain::check_slug(&r.slug)?;
        let join_policy = domain::check_join_policy(r.join_policy.as_deref())?;
        let ws = Workspace { id: WorkspaceId::new(), name, slug, logo: None, join_policy, created_at: Utc::now() };
        let mut conn = self.conn().await?;
        let ws_tx = ws.clone();
        let created = conn
            .transaction::<_, ServiceError, _>(async move |conn| {
                let ws = ws_tx;
                {
                    workspaces::insert(conn, &ws).await.or_taken("slug", "this slug is taken")?;
                    workspaces::add_member(conn, ws.id, caller.user_id, Role::Owner).await?;
                    Ok(())
                }
            })
            .await;
        created?;
        audit::record(
            &mut conn,
            Entry {
                workspace_id: Some(ws.id),
                user_id: Some(caller.user_id),
                action: "workspace_created",
                ip_address: None,
                user_agent: None,
                details: serde_json::json!({ "slug": ws.slug }),
            },
        )
        .await;
        Ok(convert::workspace_pb(&ws, Role::Owner))
    }

    pub(crate) async fn list_workspaces(&self, req: Request<pb::ListWorkspacesRequest>) -> ServiceResult<pb::ListWorkspacesResponse> {
        let caller = caller(&req)?;
        let mut conn = self.conn().await?;
        let rows = workspaces::for_user(&mut conn, caller.user_id).await?;
        let last = crate::store::profiles::last_visited(&mut conn, caller.user_id).await?.filter(|w| rows.iter().any(|(x, _)| x.id == *w));
        Ok(pb::ListWorkspacesResponse {
            workspaces: rows.iter().map(|(w, m)| convert::workspace_pb(w, m.role)).collect(),
            last_visited_workspace_id: last.map(|w| w.to_string()),
        })
    }

    pub(crate) async fn get_workspace(&self, req: Request<pb::GetWorkspaceRequest>) -> ServiceResult<pb::Workspace> {
        let caller = caller(&req)?;
        let ws: WorkspaceId = ids::parse("workspaceId", &req.get_ref().workspace_id)?;
        let mut conn = self.conn().await?;
        let member = self.member_of(&mut conn, ws, caller.user_id).await?;
        let w = workspaces::get(&mut conn, ws).await?.ok_or_else(|| ServiceError::not_found("workspace"))?;
        Ok(convert::workspace_pb(&w, member.role))
    }

    pub(crate) async fn list_members(&self, req: Request<pb::ListMembersRequest>) -> ServiceResult<pb::ListMembersResponse> {
        let caller = caller(&req)?;
        let ws: WorkspaceId = ids::parse("workspaceId", &req.get_ref().workspace_id)?;
        let mut conn = self.conn().await?;
        self.member_of(&mut conn, ws, caller.user_id).await?;
        let rows = workspaces::members_of(&mut conn, ws).await?;
        Ok(pb::ListMembersResponse { members: rows.iter().map(|(m, n, e)| convert::member_pb(m, n, e)).collect() })
    }

    pub(crate) async fn get_membership(&self, req: Request<pb::GetMembershipRequest>) -> ServiceResult<pb::Member> {
        let caller = caller(&req)?;
        let r = req.into_inner();
        let ws: WorkspaceId = ids::parse("workspaceId", &r.workspace_id)?;
        let target: Option<UserId> = ids::parse_opt("userId", r.user_id.as_deref())?;
        let mut conn = self.conn().await?;
        let mine = self.member_of(&mut conn, ws, caller.user_id).await?;
        let mine_is_admin = policy::check_admin(&mine, "see other members' guest channels").is_ok();
        let member = match target {
            Some(t) if t != caller.user_id => {
                workspaces::membership(&mut conn, ws, t).await?.ok_or_else(|| ServiceError::not_found("member"))?
            }
            _ => mine,
        };
        let user = users::by_ids(&mut conn, &[member.user_id]).await?.pop().ok_or_else(|| ServiceError::not_found("member"))?;
        let mut out = convert::member_pb(&member, &user.name, &user.email);
        // A guest's channels are told to the guest, admins and services only.
        let may_see_grants = member.user_id == caller.user_id || caller.session_id.is_none() || mine_is_admin;
        if member.is_guest && may_see_grants {
            out.guest_channel_ids =
                workspaces::guest_channels(&mut conn, ws, member.user_id).await?.iter().map(ToString::to_string).collect();
        }
        Ok(out)
    }

    pub(crate) async fn create_invite(&self, req: Request<pb::CreateInviteRequest>) -> ServiceResult<pb::Invite> {
        let caller = caller(&req)?;
        let r = req.into_inner();
        let ws: WorkspaceId = ids::parse("workspaceId", &r.workspace_id)?;
        let email = match r.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
            Some(e) => Some(domain::normalize_email(e)?),
            None => None,
        };
        let role = domain::invitable_role(r.role.as_deref())?;
        let (max_uses, hours) = domain::invite_limits(r.max_uses, r.expires_in_hours, email.is_some())?;
        let mut conn = self.conn().await?;
        let mine = self.member_of(&mut conn, ws, caller.user_id).await?;
        policy::check_may_invite(&mine, role)?;
        let token = domain::new_token();
        let invite = Invite {
            id: crate::domain::InviteId::new(),
            workspace_id: ws,
            token_hash: token_hash(&token),
            max_uses,
            email,
            role,
            is_guest: false,
            channel_ids: Vec::new(),
            guest_expires_at: None,
            uses: 0,
            expires_at: Utc::now() + Duration::hours(i64::from(hours)),
            created_by: caller.user_id,
            created_at: Utc::now(),
        };
        workspaces::insert_invite(&mut conn, &invite).await?;
        audit::record(
            &mut conn,
            Entry {
                workspace_id: Some(ws),
                user_id: Some(caller.user_id),
                action: "invite_created",
                ip_address: None,
                user_agent: None,
                details: serde_json::json!({ "inviteId": invite.id, "role": invite.role, "email": invite.email }),
            },
        )
        .await;
        if let Some(to) = invite.email.clone() {
            // An email invite reaches its address (the link works once).
            let name = workspaces::get(&mut conn, ws).await?.map(|w| w.name).unwrap_or_else(|| "a workspace".to_owned());
            self.email(
                caller.user_id,
                to,
                format!("You are invited to {name} on OComms"),
                format!(
                    "{} invited you to join {name} on OComms.\n\nAccept the invitation: {}/invite/{}\n\nThe link works once, for this address, until {}.",
                    caller.name,
                    self.public_url,
                    token,
                    rfc3339(invite.expires_at)
                ),
            );
        }
        Ok(convert::invite_pb(&invite, token))
    }

    pub(crate) async fn accept_invite(&self, req: Request<pb::AcceptInviteRequest>) -> ServiceResult<pb::AcceptInviteResponse> {
        let caller = caller(&req)?;
        let token = req.into_inner().token;
        if token.trim().is_empty() {
            return Err(ServiceError::validation("token", "is required"));
        }
        let hash = token_hash(token.trim());
        let mut conn = self.conn().await?;
        let caller_email = caller.email.to_lowercase();
        let (ws, member) = conn
            .transaction::<_, ServiceError, _>(async move |conn| {
                let gone = || ServiceError::not_found("invite");
                let invite = workspaces::invite_for_update(conn, &hash).await?.ok_or_else(gone)?;
                if invite.expires_at <= Utc::now() || invite.max_uses.is_some_and(|m| invite.uses >= m) {
                    return Err(gone());
                }
                if invite.email.as_deref().is_some_and(|e| e != caller_email) {
                    return Err(ServiceError::forbidden("this invite is for another email address"));
                }
                let ws = workspaces::get(conn, invite.workspace_id).await?.ok_or_else(gone)?;
                if let Some(existing) = workspaces::membership(conn, ws.id, caller.user_id).await? {
                    return Ok((ws, existing));
                }
                let member = if invite.is_guest {
                    let until = invite.guest_expires_at.ok_or_else(gone)?;
                    let m = workspaces::add_member_as(conn, ws.id, caller.user_id, Role::Member, Some(until)).await?;
                    workspaces::grant_guest_channels(conn, ws.id, caller.user_id, &invite.channel_ids).await?;
                    crate::jobs::schedule_guest_expiry(conn, ws.id, caller.user_id, until).await?;
                    m
                } else {
                    workspaces::add_member(conn, ws.id, caller.user_id, invite.role).await?
                };
                workspaces::use_invite(conn, invite.id).await?;
                audit::record(
                    conn,
                    Entry {
                        workspace_id: Some(ws.id),
                        user_id: Some(caller.user_id),
                        action: "invite_accepted",
                        ip_address: None,
                        user_agent: None,
                        details: serde_json::json!({ "inviteId": invite.id, "role": invite.role }),
                    },
                )
                .await;
                Ok((ws, member))
            })
            .await?;
        // A guest's expiry job is due later; a prompt relay costs nothing.
        self.relay.wake();
        Ok(pb::AcceptInviteResponse {
            workspace: Some(convert::workspace_pb(&ws, member.role)),
            member: Some(convert::member_pb(&member, &caller.name, &caller.email)),
        })
    }

    pub(crate) async fn join_workspace(&self, req: Request<pb::JoinWorkspaceRequest>) -> ServiceResult<pb::JoinWorkspaceResponse> {
        let caller = caller(&req)?;
        let ws: WorkspaceId = ids::parse("workspaceId", &req.get_ref().workspace_id)?;
        let mut conn = self.conn().await?;
        if let Some(existing) = workspaces::membership(&mut conn, ws, caller.user_id).await? {
            return Ok(pb::JoinWorkspaceResponse {
                member: Some(convert::member_pb(&existing, &caller.name, &caller.email)),
                request: None,
            });
        }
        let w = workspaces::get(&mut conn, ws).await?.ok_or_else(|| ServiceError::not_found("workspace"))?;
        let outcome = policy::join_outcome(w.join_policy);
        // An invite-only workspace is not discoverable: same answer as none.
        if outcome == JoinOutcome::Hidden {
            return Err(ServiceError::not_found("workspace"));
        }
        if outcome == JoinOutcome::Request {
            let r = workspaces::request_to_join(&mut conn, ws, caller.user_id).await?;
            let admins: Vec<UserId> = workspaces::members_of(&mut conn, ws)
                .await?
                .into_iter()
                .filter(|(m, _, _)| m.role.is_admin())
                .map(|(m, _, _)| m.user_id)
                .collect();
            let out = convert::join_request_pb(&r, &caller.name, &caller.email);
            self.bus.publish(Event::to_users(admins, "workspace:joinRequest", serde_json::json!({ "request": out }))).await;
            return Ok(pb::JoinWorkspaceResponse { member: None, request: Some(out) });
        }
        let member = match workspaces::add_member(&mut conn, w.id, caller.user_id, Role::Member).await {
            Ok(m) => m,
            // Joined concurrently: answer with the membership that exists.
            Err(e) if ocomms_runtime::error::is_taken(&e) => {
                workspaces::membership(&mut conn, ws, caller.user_id).await?.ok_or_else(|| ServiceError::not_found("workspace"))?
            }
            Err(e) => return Err(e.into()),
        };
        Ok(pb::JoinWorkspaceResponse { member: Some(convert::member_pb(&member, &caller.name, &caller.email)), request: None })
    }
}

/// svc-auth's callers: a session token, read from its own tables, or the
/// service credential naming a user.
#[tonic::async_trait]
impl Callers for AuthApi {
    async fn resolve(&self, meta: &tonic::metadata::MetadataMap) -> ServiceResult<Principal> {
        Ok(self.resolve_with(meta).await?.0)
    }

    /// With the session and user rows read, which `GetSession` answers
    /// with (read once per call, not again by the handler).
    async fn resolve_with(&self, meta: &tonic::metadata::MetadataMap) -> ServiceResult<(Principal, Option<Found>)> {
        if let Some(p) = service_principal(meta, &self.service_token)? {
            return Ok((p, None));
        }
        let token = bearer_token(meta).ok_or_else(ServiceError::unauthorized)?;
        let (session, user) = self.session_for(token).await?;
        let principal = Principal { user_id: user.id, session_id: Some(session.id), email: user.email.clone(), name: user.name.clone() };
        Ok((principal, Some(std::sync::Arc::new((session, user)))))
    }
}

impl ServesCallers for AuthApi {
    fn callers(&self) -> &dyn Callers {
        self
    }
}

ocomms_runtime::grpc_service!(pb::auth_service_server::AuthService, AuthApi, {
    export_user(pb::ExportUserRequest) -> pb::UserExport;
    sign_up(pb::SignUpRequest) -> pb::AuthResponse;
    sign_in(pb::SignInRequest) -> pb::AuthResponse;
    sign_out(pb::SignOutRequest) -> pb::SignOutResponse;
    forget_password(pb::ForgetPasswordRequest) -> pb::ForgetPasswordResponse;
    reset_password(pb::ResetPasswordRequest) -> pb::ResetPasswordResponse;
    enable_two_factor(pb::EnableTwoFactorRequest) -> pb::EnableTwoFactorResponse;
    verify_two_factor(pb::VerifyTwoFactorRequest) -> pb::VerifyTwoFactorResponse;
    disable_two_factor(pb::DisableTwoFactorRequest) -> pb::DisableTwoFactorResponse;
    get_session(pb::GetSessionRequest) -> pb::SessionResponse;
    resolve_token(pb::ResolveTokenRequest) -> pb::Principal;
    get_users(pb::GetUsersRequest) -> pb::GetUsersResponse;
    create_workspace(pb::CreateWorkspaceRequest) -> pb::Workspace;
    list_workspaces(pb::ListWorkspacesRequest) -> pb::ListWorkspacesResponse;
    get_workspace(pb::GetWorkspaceRequest) -> pb::Workspace;
    update_workspace(pb::UpdateWorkspaceRequest) -> pb::Workspace;
    list_members(pb::ListMembersRequest) -> pb::ListMembersResponse;
    get_membership(pb::GetMembershipRequest) -> pb::Member;
    create_invite(pb::CreateInviteRequest) -> pb::Invite;
    accept_invite(pb::AcceptInviteRequest) -> pb::AcceptInviteResponse;
    join_workspace(pb::JoinWorkspaceRequest) -> pb::JoinWorkspaceResponse;
    create_guest_invite(pb::CreateGuestInviteRequest) -> pb::Invite;
    list_join_requests(pb::ListJoinRequestsRequest) -> pb::ListJoinRequestsResponse;
    decide_join_request(pb::DecideJoinRequestRequest) -> pb::JoinRequest;
    list_sessions(pb::ListSessionsRequest) -> pb::ListSessionsResponse;
    revoke_session(pb::RevokeSessionRequest) -> pb::RevokeSessionResponse;
    update_member(pb::UpdateMemberRequest) -> pb::Member;
    remove_member(pb::RemoveMemberRequest) -> pb::RemoveMemberResponse;
    get_profile(pb::GetProfileRequest) -> pb::Profile;
    update_profile(pb::UpdateProfileRequest) -> pb::Profile;
    set_status(pb::SetStatusRequest) -> pb::UserStatus;
    list_audit_logs(pb::ListAuditLogsRequest) -> pb::ListAuditLogsResponse;
    set_last_visited(pb::SetLastVisitedRequest) -> pb::SetLastVisitedResponse;
});

/// Sends email through svc-notify from background tasks.
pub(crate) struct Mailer {
    notify: ocomms_proto::notify::v1::notify_service_client::NotifyServiceClient<tonic::transport::Channel>,
    service_token: String,
    pub public_url: String,
}

impl Mailer {
    /// Emails a user through svc-notify (service credential, on the user's
    /// behalf). Delivery failures are logged: the caller's request stands.
    pub(crate) fn email(&self, user: UserId, to: String, subject: String, body: String) {
        let mut client = self.notify.clone();
        let token = self.service_token.clone();
        tokio::spawn(async move {
            let req =
                ocomms_runtime::identity::service_request(&token, user, ocomms_proto::notify::v1::SendEmailRequest { to, subject, body });
            if let Err(e) = client.send_email(req).await {
                tracing::error!(%user, code = ?e.code(), "email delivery failed");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connections_user_agent_without_what_tonic_appends() {
        let ua = |v: &str| {
            let mut m = tonic::metadata::MetadataMap::new();
            m.insert("user-agent", v.parse().expect("ascii"));
            connection_user_agent(&m).map(str::to_owned)
        };
        assert_eq!(ua("Mozilla/5.0 (X11) tonic/0.14.9").as_deref(), Some("Mozilla/5.0 (X11)"));
        assert_eq!(ua("tonic/0.14.9").as_deref(), Some("tonic/0.14.9"));
        assert_eq!(ua("grpc-go/1.60").as_deref(), Some("grpc-go/1.60"));
        assert_eq!(connection_user_agent(&tonic::metadata::MetadataMap::new()), None);
        assert_eq!(trimmed(Some("  "), 64), None);
        assert_eq!(trimmed(Some(" héllo "), 3).as_deref(), Some("hél"));
    }
}
