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
use ocomms_runtime::identity::{Principal, bearer_token, service_principal, token_hash};
use ocomms_runtime::ids::{self, SessionId, UserId, WorkspaceId};
use ocomms_runtime::time::{opt_rfc3339, rfc3339};
use ocomms_runtime::{ErrorCode, ServiceError, ServiceResult};
use tonic::Request;

use crate::Config;
use crate::domain::{self, FailureOutcome, Role};
use crate::password;
use crate::store::audit::{self, Entry};
use crate::store::sessions::{self, NewSession, Session};
use crate::store::users::{self, Lockout, NewUser, User};
use crate::store::workspaces::{self, Invite, Member, Workspace};

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

pub(super) fn user_pb(u: &User) -> pb::User {
    pb::User {
        id: u.id.to_string(),
        email: u.email.clone(),
        name: u.name.clone(),
        email_verified: u.email_verified,
        image: u.image.clone(),
        created_at: rfc3339(u.created_at),
    }
}

pub(crate) fn session_pb(s: &Session, current: bool) -> pb::Session {
    pb::Session {
        id: s.id.to_string(),
        user_id: s.user_id.to_string(),
        expires_at: rfc3339(s.expires_at),
        ip_address: s.ip_address.clone(),
        user_agent: s.user_agent.clone(),
        created_at: rfc3339(s.created_at),
        current,
    }
}

pub(crate) fn workspace_pb(w: &Workspace, role: &str) -> pb::Workspace {
    pb::Workspace {
        id: w.id.to_string(),
        name: w.name.clone(),
        slug: w.slug.clone(),
        logo: w.logo.clone(),
        join_policy: w.join_policy.clone(),
        created_at: rfc3339(w.created_at),
        role: role.to_owned(),
    }
}

pub(crate) fn member_pb(m: &Member, name: &str, email: &str) -> pb::Member {
    pb::Member {
        user_id: m.user_id.to_string(),
        workspace_id: m.workspace_id.to_string(),
        role: m.role.clone(),
        is_guest: m.is_guest,
        expires_at: opt_rfc3339(m.expires_at),
        created_at: rfc3339(m.created_at),
        name: name.to_owned(),
        email: email.to_owned(),
        guest_channel_ids: Vec::new(),
    }
}

pub(crate) fn join_request_pb(r: &workspaces::JoinRequest, name: &str, email: &str) -> pb::JoinRequest {
    pb::JoinRequest {
        id: r.id.to_string(),
        workspace_id: r.workspace_id.to_string(),
        user_id: r.user_id.to_string(),
        status: r.status.clone(),
        created_at: rfc3339(r.created_at),
        decided_at: opt_rfc3339(r.decided_at),
        name: name.to_owned(),
        email: email.to_owned(),
    }
}

pub(crate) fn invite_pb(i: &Invite, token: String) -> pb::Invite {
    pb::Invite {
        id: i.id.to_string(),
        workspace_id: i.workspace_id.to_string(),
        token,
        email: i.email.clone(),
        role: i.role.clone(),
        expires_at: rfc3339(i.expires_at),
        created_at: rfc3339(i.created_at),
        is_guest: i.is_guest,
        channel_ids: i.channel_ids.iter().map(ToString::to_string).collect(),
        guest_expires_at: opt_rfc3339(i.guest_expires_at),
        max_uses: i.max_uses,
        // The gateway adds the link, from its public URL.
        url: String::new(),
    }
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

/// A sign-in attempt counted before the password is checked: unless spent
/// (the check answered), it is given back when dropped, so that an error,
/// a second factor asked for, or a caller gone away holds no place.
struct Attempt {
    pool: Pool,
    user: UserId,
    spent: bool,
}

impl Attempt {
    fn spend(mut self) {
        self.spent = true;
    }

    /// Gives the attempt back before answering (a second factor asked for).
    async fn give_back(mut self) {
        self.spent = true;
        release(&self.pool, self.user).await;
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if self.spent {
            return;
        }
        let (pool, user) = (self.pool.clone(), self.user);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move { release(&pool, user).await });
        }
    }
}

async fn release(pool: &Pool, user: UserId) {
    let released = async {
        let mut conn = pool.get().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        users::release_attempt(&mut conn, user).await?;
        anyhow::Ok(())
    }
    .await;
    if let Err(e) = released {
        tracing::warn!(%user, error = format!("{e:#}"), "giving back a sign-in attempt failed");
    }
}

/// Takes one of the account's sign-in attempts (seed 5.3), counted before
/// the password is checked. While the account's attempts are all in
/// flight, waits for one to finish (a burst of right passwords from one
/// user's devices goes through, a few at a time), asking again every
/// quarter second or so; a lock set meanwhile answers 423, and a wait past
/// twelve seconds (longer than the seed's longest delay; with that delay
/// and the hash, still inside a gRPC call's 30 s deadline) 429 with
/// `Retry-After`.
async fn reserve_attempt(pool: &Pool, user: UserId) -> ServiceResult<users::Lockout> {
    const WAIT: std::time::Duration = std::time::Duration::from_secs(12);
    let started = std::time::Instant::now();
    loop {
        let mut conn = pool.get().await?;
        if let Some(counted) = users::reserve_attempt(&mut conn, user, domain::MAX_FAILED_ATTEMPTS, domain::STALE_ATTEMPT_SECS).await? {
            return Ok(counted);
        }
        let lock = users::lockout(&mut conn, user).await?;
        drop(conn);
        if let Some(until) = lock.locked_until.filter(|u| *u > Utc::now()) {
            return Err(account_locked(until));
        }
        if started.elapsed() > WAIT {
            return Err(ServiceError::new(ErrorCode::RateLimited, "too many sign-in attempts at once; try again shortly")
                .with_details(serde_json::json!({ "retryAfter": 1 })));
        }
        tokio::time::sleep(std::time::Duration::from_millis(200 + u64::from(rand::random::<u8>() % 100))).await;
    }
}

fn account_locked(until: chrono::DateTime<Utc>) -> ServiceError {
    ServiceError::new(ErrorCode::AccountLocked, "Account temporarily locked")
        .with_details(serde_json::json!({ "lockedUntil": rfc3339(until) }))
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

    /// The caller: a session token, or the service credential naming a user.
    pub(crate) async fn caller<T>(&self, req: &Request<T>) -> ServiceResult<Principal> {
        if let Some(p) = service_principal(req.metadata(), &self.service_token)? {
            return Ok(p);
        }
        let token = bearer_token(req.metadata()).ok_or_else(ServiceError::unauthorized)?;
        let (session, user) = self.session_for(token).await?;
        Ok(Principal { user_id: user.id, session_id: Some(session.id), email: user.email, name: user.name })
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
                .map_err(|e| match e {
                    diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => {
                        ServiceError::conflict("an account with this email already exists")
                            .with_details(serde_json::json!({ "field": "email" }))
                    }
                    other => other.into(),
                })?;
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
        Ok(pb::AuthResponse { user: Some(user_pb(&user)), token, session: Some(session_pb(&session, true)) })
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
        let counted = reserve_attempt(&self.pool, user.id).await?;
        let attempt = Attempt { pool: self.pool.clone(), user: user.id, spent: false };
        let failed_before = counted.failed_attempts - 1;
        tokio::time::sleep(domain::attempt_delay(failed_before)).await;
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
        attempt.spend();
        if !valid {
            // The attempt that reaches the limit sets the lock.
            match domain::on_failure(failed_before, counted.lockout_count, Utc::now()) {
                FailureOutcome::Count { .. } => {}
                FailureOutcome::Lock { until, lockout_count } => {
                    users::set_lockout(&mut conn, user.id, &Lockout { failed_attempts: 0, lockout_count, locked_until: Some(until) })
                        .await?;
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
                        &mut conn,
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
        users::clear_unless_locked(&mut conn, user.id).await?;
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
        Ok(pb::AuthResponse { user: Some(user_pb(&user)), token, session: Some(session_pb(&session, true)) })
    }

    pub(crate) async fn sign_out(&self, req: Request<pb::SignOutRequest>) -> ServiceResult<pb::SignOutResponse> {
        let caller = self.caller(&req).await?;
        let Some(session) = caller.session_id else { return Err(ServiceError::forbidden("no session to end").into()) };
        let mut conn = self.conn().await?;
        sessions::delete(&mut conn, session).await?;
        self.bus.publish(Event::internal(SESSION_REVOKED, serde_json::json!({ "sessionIds": [session] }))).await;
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
        let token = bearer_token(req.metadata()).ok_or_else(ServiceError::unauthorized)?;
        let (session, user) = self.session_for(token).await?;
        Ok(pb::SessionResponse { user: Some(user_pb(&user)), session: Some(session_pb(&session, true)) })
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
        let caller = self.caller(&req).await?;
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
        Ok(pb::GetUsersResponse { users: found.iter().map(user_pb).collect() })
    }

    pub(crate) async fn create_workspace(&self, req: Request<pb::CreateWorkspaceRequest>) -> ServiceResult<pb::Workspace> {
        let caller = self.caller(&req).await?;
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
                    workspaces::insert(conn, &ws).await.map_err(|e| match e {
                        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => {
                            ServiceError::conflict("this slug is taken").with_details(serde_json::json!({ "field": "slug" }))
                        }
                        other => other.into(),
                    })?;
                    workspaces::add_member(conn, ws.id, caller.user_id, Role::Owner.as_str()).await?;
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
        Ok(workspace_pb(&ws, Role::Owner.as_str()))
    }

    pub(crate) async fn list_workspaces(&self, req: Request<pb::ListWorkspacesRequest>) -> ServiceResult<pb::ListWorkspacesResponse> {
        let caller = self.caller(&req).await?;
        let mut conn = self.conn().await?;
        let rows = workspaces::for_user(&mut conn, caller.user_id).await?;
        let last = crate::store::profiles::last_visited(&mut conn, caller.user_id).await?.filter(|w| rows.iter().any(|(x, _)| x.id == *w));
        Ok(pb::ListWorkspacesResponse {
            workspaces: rows.iter().map(|(w, m)| workspace_pb(w, &m.role)).collect(),
            last_visited_workspace_id: last.map(|w| w.to_string()),
        })
    }

    pub(crate) async fn get_workspace(&self, req: Request<pb::GetWorkspaceRequest>) -> ServiceResult<pb::Workspace> {
        let caller = self.caller(&req).await?;
        let ws: WorkspaceId = ids::parse("workspaceId", &req.get_ref().workspace_id)?;
        let mut conn = self.conn().await?;
        let member = self.member_of(&mut conn, ws, caller.user_id).await?;
        let w = workspaces::get(&mut conn, ws).await?.ok_or_else(|| ServiceError::not_found("workspace"))?;
        Ok(workspace_pb(&w, &member.role))
    }

    pub(crate) async fn list_members(&self, req: Request<pb::ListMembersRequest>) -> ServiceResult<pb::ListMembersResponse> {
        let caller = self.caller(&req).await?;
        let ws: WorkspaceId = ids::parse("workspaceId", &req.get_ref().workspace_id)?;
        let mut conn = self.conn().await?;
        self.member_of(&mut conn, ws, caller.user_id).await?;
        let rows = workspaces::members_of(&mut conn, ws).await?;
        Ok(pb::ListMembersResponse { members: rows.iter().map(|(m, n, e)| member_pb(m, n, e)).collect() })
    }

    pub(crate) async fn get_membership(&self, req: Request<pb::GetMembershipRequest>) -> ServiceResult<pb::Member> {
        let caller = self.caller(&req).await?;
        let r = req.into_inner();
        let ws: WorkspaceId = ids::parse("workspaceId", &r.workspace_id)?;
        let target: Option<UserId> = ids::parse_opt("userId", r.user_id.as_deref())?;
        let mut conn = self.conn().await?;
        let mine = self.member_of(&mut conn, ws, caller.user_id).await?;
        let mine_is_admin = Role::parse(&mine.role).is_some_and(Role::is_admin) && !mine.is_guest;
        let member = match target {
            Some(t) if t != caller.user_id => {
                workspaces::membership(&mut conn, ws, t).await?.ok_or_else(|| ServiceError::not_found("member"))?
            }
            _ => mine,
        };
        let user = users::by_ids(&mut conn, &[member.user_id]).await?.pop().ok_or_else(|| ServiceError::not_found("member"))?;
        let mut out = member_pb(&member, &user.name, &user.email);
        // A guest's channels are told to the guest, admins and services only.
        let may_see_grants = member.user_id == caller.user_id || caller.session_id.is_none() || mine_is_admin;
        if member.is_guest && may_see_grants {
            out.guest_channel_ids =
                workspaces::guest_channels(&mut conn, ws, member.user_id).await?.iter().map(ToString::to_string).collect();
        }
        Ok(out)
    }

    pub(crate) async fn create_invite(&self, req: Request<pb::CreateInviteRequest>) -> ServiceResult<pb::Invite> {
        let caller = self.caller(&req).await?;
        let r = req.into_inner();
        let ws: WorkspaceId = ids::parse("workspaceId", &r.workspace_id)?;
        let email = match r.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
            Some(e) => Some(domain::normalize_email(e)?),
            None => None,
        };
        let role = match r.role.as_deref().map(str::trim).filter(|s| !s.is_empty()).unwrap_or("member") {
            "member" => Role::Member,
            "admin" => Role::Admin,
            _ => return Err(ServiceError::validation("role", "must be member or admin").into()),
        };
        let (max_uses, hours) = domain::invite_limits(r.max_uses, r.expires_in_hours, email.is_some())?;
        let mut conn = self.conn().await?;
        let mine = self.member_of(&mut conn, ws, caller.user_id).await?;
        let my_role = Role::parse(&mine.role).unwrap_or(Role::Member);
        if !my_role.is_admin() || mine.is_guest {
            return Err(ServiceError::forbidden("only admins and owners can invite"));
        }
        if role == Role::Admin && my_role != Role::Owner {
            return Err(ServiceError::forbidden("only owners can invite admins"));
        }
        let token = domain::new_token();
        let invite = Invite {
            id: crate::domain::InviteId::new(),
            workspace_id: ws,
            token_hash: token_hash(&token),
            max_uses,
            email,
            role: role.as_str().to_owned(),
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
        Ok(invite_pb(&invite, token))
    }

    pub(crate) async fn accept_invite(&self, req: Request<pb::AcceptInviteRequest>) -> ServiceResult<pb::AcceptInviteResponse> {
        let caller = self.caller(&req).await?;
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
                    let m = workspaces::add_member_as(conn, ws.id, caller.user_id, "member", Some(until)).await?;
                    workspaces::grant_guest_channels(conn, ws.id, caller.user_id, &invite.channel_ids).await?;
                    crate::jobs::schedule_guest_expiry(conn, ws.id, caller.user_id, until).await?;
                    m
                } else {
                    workspaces::add_member(conn, ws.id, caller.user_id, &invite.role).await?
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
            workspace: Some(workspace_pb(&ws, &member.role)),
            member: Some(member_pb(&member, &caller.name, &caller.email)),
        })
    }

    pub(crate) async fn join_workspace(&self, req: Request<pb::JoinWorkspaceRequest>) -> ServiceResult<pb::JoinWorkspaceResponse> {
        let caller = self.caller(&req).await?;
        let ws: WorkspaceId = ids::parse("workspaceId", &req.get_ref().workspace_id)?;
        let mut conn = self.conn().await?;
        if let Some(existing) = workspaces::membership(&mut conn, ws, caller.user_id).await? {
            return Ok(pb::JoinWorkspaceResponse { member: Some(member_pb(&existing, &caller.name, &caller.email)), request: None });
        }
        // An invite-only workspace is not discoverable: same answer as none.
        let w = workspaces::get(&mut conn, ws)
            .await?
            .filter(|w| w.join_policy != "invite")
            .ok_or_else(|| ServiceError::not_found("workspace"))?;
        if w.join_policy == "request" {
            let r = workspaces::request_to_join(&mut conn, ws, caller.user_id).await?;
            let admins: Vec<UserId> = workspaces::members_of(&mut conn, ws)
                .await?
                .into_iter()
                .filter(|(m, _, _)| Role::parse(&m.role).is_some_and(Role::is_admin))
                .map(|(m, _, _)| m.user_id)
                .collect();
            let out = join_request_pb(&r, &caller.name, &caller.email);
            self.bus.publish(Event::to_users(admins, "workspace:joinRequest", serde_json::json!({ "request": out }))).await;
            return Ok(pb::JoinWorkspaceResponse { member: None, request: Some(out) });
        }
        let member = match workspaces::add_member(&mut conn, w.id, caller.user_id, Role::Member.as_str()).await {
            Ok(m) => m,
            // Joined concurrently: answer with the membership that exists.
            Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
                workspaces::membership(&mut conn, ws, caller.user_id).await?.ok_or_else(|| ServiceError::not_found("workspace"))?
            }
            Err(e) => return Err(e.into()),
        };
        Ok(pb::JoinWorkspaceResponse { member: Some(member_pb(&member, &caller.name, &caller.email)), request: None })
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
