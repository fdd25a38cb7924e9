//! Who is calling: the caller's token (gRPC metadata `authorization: Bearer
//! …`, forwarded by the gateway) resolved through svc-auth into a
//! [`Principal`].
//!
//! Answers are cached for the TTL svc-auth grants (a few seconds) and dropped
//! at once when svc-auth announces a revocation on the bus; an answer that
//! was in flight when a revocation (or a gap in the bus) came is not cached. A service acting
//! on a user's behalf (the scheduler sending a scheduled message) instead
//! presents the shared service credential (`x-ocomms-service-token`) and the
//! user id (`x-ocomms-user-id`). Nothing else is trusted: no request body
//! names its caller.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ocomms_proto::auth::v1::ResolveTokenRequest;
use ocomms_proto::auth::v1::auth_service_client::AuthServiceClient;
use sha2::Digest;
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;

use crate::events::{BUS_RESUBSCRIBED, Bus, SESSION_REVOKED};
use crate::ids::{SessionId, UserId};
use crate::{ErrorCode, ServiceError};

pub const SERVICE_TOKEN_HEADER: &str = "x-ocomms-service-token";
pub const ON_BEHALF_HEADER: &str = "x-ocomms-user-id";

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    pub user_id: UserId,
    /// None when a service acts on the user's behalf.
    pub session_id: Option<SessionId>,
    pub email: String,
    pub name: String,
}

/// The bearer token in the metadata, if any.
pub fn bearer_token(meta: &MetadataMap) -> Option<&str> {
    parse_bearer(meta.get("authorization")?.to_str().ok()?)
}

/// The token of an `Authorization` value of the `Bearer` scheme (its name
/// in any case, RFC 7235). The one parser of the gateway and the services,
/// so that both always agree on who a request's credential names.
pub fn parse_bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// A gRPC request carrying a user's session token (what the gateway sends,
/// and what tests send).
pub fn bearer_request<T>(token: &str, message: T) -> tonic::Request<T> {
    let mut req = tonic::Request::new(message);
    crate::telemetry::inject(req.metadata_mut());
    if let Ok(v) = format!("Bearer {token}").parse() {
        req.metadata_mut().insert("authorization", v);
    }
    req
}

/// A gRPC request carrying the shared service credential and naming no
/// user: a service vouching for what the request says of itself (the
/// gateway's client address on sign-ins).
pub fn service_call<T>(service_token: &str, message: T) -> tonic::Request<T> {
    let mut req = tonic::Request::new(message);
    crate::telemetry::inject(req.metadata_mut());
    if !service_token.is_empty()
        && let Ok(t) = service_token.parse()
    {
        req.metadata_mut().insert(SERVICE_TOKEN_HEADER, t);
    }
    req
}

/// A gRPC request a service makes on a user's behalf with the shared
/// service credential (no user token at hand: jobs, background work).
pub fn service_request<T>(service_token: &str, on_behalf: UserId, message: T) -> tonic::Request<T> {
    let mut req = service_call(service_token, message);
    if let Ok(u) = on_behalf.to_string().parse() {
        req.metadata_mut().insert(ON_BEHALF_HEADER, u);
    }
    req
}

/// Whether the metadata carries the service credential `expected` (compared
/// in constant time; an empty `expected` matches nothing).
pub fn has_service_credential(meta: &MetadataMap, expected: &str) -> bool {
    let Some(given) = meta.get(SERVICE_TOKEN_HEADER).and_then(|v| v.to_str().ok()) else { return false };
    !expected.is_empty() && constant_time_eq(given.as_bytes(), expected.as_bytes())
}

/// SHA-256 of a token, hex: how tokens are stored and cached.
pub fn token_hash(token: &str) -> String {
    format!("{:x}", sha2::Sha256::digest(token.as_bytes()))
}

/// A principal from the service credential, when the metadata carries one
/// that matches `expected`. Compared in constant time.
pub fn service_principal(meta: &MetadataMap, expected: &str) -> Result<Option<Principal>, ServiceError> {
    if meta.get(SERVICE_TOKEN_HEADER).is_none() {
        return Ok(None);
    }
    if !has_service_credential(meta, expected) {
        return Err(ServiceError::unauthorized());
    }
    let user = meta
        .get(ON_BEHALF_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.parse::<UserId>().ok())
        .ok_or_else(|| ServiceError::new(ErrorCode::Unauthorized, "service calls must name a user"))?;
    Ok(Some(Principal { user_id: user, session_id: None, email: String::new(), name: String::new() }))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// How a service answers "who is calling?". Every service but svc-auth
/// asks svc-auth ([`Identity`]); svc-auth reads its own sessions. The
/// service wiring (`grpc_service!`, through the service's [`ServesCallers`]) asks once per call,
/// before the handler runs, and handlers read the answer with [`caller`].
#[tonic::async_trait]
pub trait Callers: Send + Sync {
    /// The caller named by the metadata (a bearer token, or the service
    /// credential naming a user), or why there is none.
    async fn resolve(&self, meta: &MetadataMap) -> Result<Principal, ServiceError>;

    /// [`resolve`](Callers::resolve), with what the resolution read besides
    /// the principal, for handlers that need it too (svc-auth: the session
    /// and user rows), so that no handler reads them a second time; see
    /// [`resolved`].
    async fn resolve_with(&self, meta: &MetadataMap) -> Result<(Principal, Option<Found>), ServiceError> {
        Ok((self.resolve(meta).await?, None))
    }
}

/// What a resolution read besides the principal (its type is the service's).
pub type Found = Arc<dyn std::any::Any + Send + Sync>;

#[tonic::async_trait]
impl Callers for Identity {
    async fn resolve(&self, meta: &MetadataMap) -> Result<Principal, ServiceError> {
        self.principal(meta).await
    }
}

/// What a service's wiring resolves its callers with (`grpc_service!`
/// requires it of every service).
pub trait ServesCallers {
    fn callers(&self) -> &dyn Callers;
}

/// The caller as the wiring resolved it, kept in the request's extensions.
#[derive(Clone)]
struct Resolved(Result<Principal, (crate::ErrorCode, String, Option<serde_json::Value>, Option<String>)>);

/// Resolves the caller of `req` once, when it carries credentials, for
/// [`caller`] to read. Called by `grpc_service!`; a resolution that fails
/// (a revoked token, svc-auth unreachable) fails only handlers that ask.
pub async fn resolve_caller<T>(callers: &dyn Callers, req: &mut tonic::Request<T>) {
    let meta = req.metadata();
    if meta.get("authorization").is_none() && meta.get(SERVICE_TOKEN_HEADER).is_none() {
        return;
    }
    let answer = callers.resolve_with(meta).await.map_err(|e| (e.code, e.message, e.details, e.cause.map(|c| format!("{c:#}"))));
    let answer = match answer {
        Ok((principal, found)) => {
            if let Some(found) = found {
                req.extensions_mut().insert(ResolvedWith(found));
            }
            Ok(principal)
        }
        Err(e) => Err(e),
    };
    req.extensions_mut().insert(Resolved(answer));
}

/// What the wiring's resolution read besides the principal.
#[derive(Clone)]
struct ResolvedWith(Found);

/// What the service's own resolution of this request's caller read
/// besides the principal ([`Callers::resolve_with`]), when it is an `F`.
pub fn resolved<F: std::any::Any + Send + Sync, T>(req: &tonic::Request<T>) -> Option<&F> {
    req.extensions().get::<ResolvedWith>().and_then(|r| r.0.downcast_ref::<F>())
}

/// The caller of a request, resolved once by the service wiring;
/// UNAUTHORIZED when the request carried no credentials, and the
/// resolution's own error (UNAUTHORIZED for a dead token, UNAVAILABLE when
/// svc-auth could not answer) when it failed.
pub fn caller<T>(req: &tonic::Request<T>) -> Result<Principal, ServiceError> {
    match req.extensions().get::<Resolved>() {
        None => Err(ServiceError::unauthorized()),
        Some(Resolved(Ok(p))) => Ok(p.clone()),
        Some(Resolved(Err((code, message, details, cause)))) => Err(ServiceError {
            code: *code,
            message: message.clone(),
            details: details.clone(),
            cause: cause.as_ref().map(|c| anyhow::anyhow!("{c}")),
        }),
    }
}

struct Cached {
    principal: Principal,
    until: Instant,
}

/// The cached answers, and how many times revocations changed what may be
/// cached (`epoch`). One lock covers both, so an answer fetched before a
/// revocation arrived (whose session may be the revoked one) is never
/// stored after it: a resolution notes the epoch before asking svc-auth
/// and stores its answer only if the epoch is still the same.
#[derive(Default)]
struct Answers {
    entries: HashMap<String, Cached>,
    epoch: u64,
}

impl Answers {
    /// The epoch a resolution starts in.
    fn ticket(&self) -> u64 {
        self.epoch
    }

    /// Stores an answer fetched under `ticket`, unless a revocation (or a
    /// missed one) came since.
    fn admit(&mut self, ticket: u64, key: String, cached: Cached) -> bool {
        if ticket != self.epoch {
            return false;
        }
        if self.entries.len() >= MAX_CACHE_ENTRIES {
            let now = Instant::now();
            self.entries.retain(|_, v| v.until > now);
            if self.entries.len() >= MAX_CACHE_ENTRIES {
                self.entries.clear();
            }
        }
        self.entries.insert(key, cached);
        true
    }

    /// These sessions are revoked: their answers go, and none in flight is stored.
    fn revoke(&mut self, sessions: &[String]) {
        self.epoch += 1;
        self.entries.retain(|_, v| !v.principal.session_id.is_some_and(|s| sessions.contains(&s.to_string())));
    }

    /// Revocations may have been missed: everything goes.
    fn forget_all(&mut self) {
        self.epoch += 1;
        self.entries.clear();
    }
}

/// Resolves callers through svc-auth, with a short cache.
#[derive(Clone)]
pub struct Identity {
    client: AuthServiceClient<Channel>,
    service_token: Arc<str>,
    cache: Arc<Mutex<Answers>>,
}

const MAX_CACHE_ENTRIES: usize = 100_000;

impl Identity {
    /// `bus` carries revocations: a revoked session leaves the cache at once.
    pub fn new(auth: Channel, service_token: &str, bus: &Bus) -> Self {
        let me = Self { client: crate::sized!(AuthServiceClient::new(auth)), service_token: service_token.into(), cache: Arc::default() };
        let cache = Arc::downgrade(&me.cache);
        let mut events = bus.subscribe();
        tokio::spawn(async move {
            loop {
                let ev = match events.recv().await {
                    Ok(ev) => ev,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        // Some revocation may have been missed: forget everything.
                        let Some(cache) = cache.upgrade() else { return };
                        cache.lock().map(|mut c| c.forget_all()).ok();
                        continue;
                    }
                    Err(_) => return,
                };
                if ev.name == BUS_RESUBSCRIBED {
                    // Revocations published while Redis was away were missed.
                    let Some(cache) = cache.upgrade() else { return };
                    cache.lock().map(|mut c| c.forget_all()).ok();
                    continue;
                }
                if ev.name != SESSION_REVOKED {
                    continue;
                }
                let Some(cache) = cache.upgrade() else { return };
                match ev.decode::<ocomms_proto::auth::v1::SessionsRevokedEvent>() {
                    Ok(revoked) => cache.lock().map(|mut c| c.revoke(&revoked.session_ids)).ok(),
                    // Which sessions is unknown: none of them stays.
                    Err(_) => cache.lock().map(|mut c| c.forget_all()).ok(),
                };
            }
        });
        me
    }

    /// The caller of a request, or UNAUTHORIZED.
    pub async fn principal(&self, meta: &MetadataMap) -> Result<Principal, ServiceError> {
        if let Some(p) = service_principal(meta, &self.service_token)? {
            return Ok(p);
        }
        let token = bearer_token(meta).ok_or_else(ServiceError::unauthorized)?;
        self.resolve(token).await
    }

    /// The principal for a token, from the cache or svc-auth.
    pub async fn resolve(&self, token: &str) -> Result<Principal, ServiceError> {
        let key = token_hash(token);
        let ticket = match self.cache.lock() {
            Ok(cache) => {
                if let Some(hit) = cache.entries.get(&key)
                    && hit.until > Instant::now()
                {
                    return Ok(hit.principal.clone());
                }
                Some(cache.ticket())
            }
            Err(_) => None,
        };
        let answer = self
            .client
            .clone()
            .resolve_token(ResolveTokenRequest { token: token.to_owned() })
            .await
            .map_err(|s| ServiceError::from_status(&s))?
            .into_inner();
        let principal = Principal {
            user_id: crate::ids::parse("userId", &answer.user_id)?,
            session_id: crate::ids::parse_opt("sessionId", Some(&answer.session_id))?,
            email: answer.email,
            name: answer.name,
        };
        if answer.cache_ttl_secs > 0
            && let Some(ticket) = ticket
            && let Ok(mut cache) = self.cache.lock()
        {
            let until = Instant::now() + Duration::from_secs(u64::from(answer.cache_ttl_secs));
            cache.admit(ticket, key, Cached { principal: principal.clone(), until });
        }
        Ok(principal)
    }

    /// The service credential this process checks.
    pub fn service_token(&self) -> &str {
        &self.service_token
    }

    /// The svc-auth client, for what services ask of it besides callers
    /// (memberships: `ocomms_domain::membership`).
    pub fn auth_client(&self) -> AuthServiceClient<Channel> {
        self.client.clone()
    }

    /// Metadata that makes a call to another service on the caller's
    /// behalf: their token when they have one, else the service credential.
    pub fn forward<T>(&self, meta: &MetadataMap, message: T) -> tonic::Request<T> {
        let mut req = tonic::Request::new(message);
        crate::telemetry::inject(req.metadata_mut());
        if let Some(v) = meta.get("authorization") {
            req.metadata_mut().insert("authorization", v.clone());
        } else if let (Some(tok), Some(user)) = (meta.get(SERVICE_TOKEN_HEADER), meta.get(ON_BEHALF_HEADER)) {
            req.metadata_mut().insert(SERVICE_TOKEN_HEADER, tok.clone());
            req.metadata_mut().insert(ON_BEHALF_HEADER, user.clone());
        }
        req
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bearer_tokens() {
        let mut m = MetadataMap::new();
        assert_eq!(bearer_token(&m), None);
        m.insert("authorization", "Bearer abc".parse().expect("ascii"));
        assert_eq!(bearer_token(&m), Some("abc"));
        m.insert("authorization", "Basic abc".parse().expect("ascii"));
        assert_eq!(bearer_token(&m), None);
        // One parser for the gateway's rate limits and the services: any
        // case of the scheme names the same token.
        for v in ["bearer abc", "BEARER abc", "  Bearer   abc  "] {
            assert_eq!(parse_bearer(v), Some("abc"), "{v}");
        }
        for v in ["Bearer", "Bearer ", "Bearerabc", "Token abc"] {
            assert_eq!(parse_bearer(v), None, "{v}");
        }
    }

    fn cached(session: SessionId) -> Cached {
        let principal = Principal { user_id: UserId::new(), session_id: Some(session), email: "a@b.c".into(), name: "A".into() };
        Cached { principal, until: Instant::now() + Duration::from_secs(5) }
    }

    #[test]
    fn an_answer_in_flight_when_a_revocation_arrives_is_not_cached() {
        let mut a = Answers::default();
        let (mine, other) = (SessionId::new(), SessionId::new());
        // Cached, then revoked: gone.
        let t = a.ticket();
        assert!(a.admit(t, "k1".into(), cached(mine)));
        a.revoke(&[mine.to_string()]);
        assert!(!a.entries.contains_key("k1"));
        // Asked before the revocation, answered after it: not stored
        // (svc-auth may have answered for the revoked session).
        let t = a.ticket();
        a.revoke(&[mine.to_string()]);
        assert!(!a.admit(t, "k1".into(), cached(mine)));
        assert!(a.entries.is_empty());
        // Other sessions' answers stay, and new resolutions are stored again.
        let t = a.ticket();
        assert!(a.admit(t, "k2".into(), cached(other)));
        a.revoke(&[mine.to_string()]);
        assert!(a.entries.contains_key("k2"));
        // A missed revocation (the bus lagged) forgets everything, in flight too.
        let t = a.ticket();
        a.forget_all();
        assert!(a.entries.is_empty());
        assert!(!a.admit(t, "k3".into(), cached(other)));
    }

    struct Fixed(Result<Principal, ErrorCode>);

    #[tonic::async_trait]
    impl Callers for Fixed {
        async fn resolve(&self, _: &MetadataMap) -> Result<Principal, ServiceError> {
            self.0.clone().map_err(|code| ServiceError::new(code, "no"))
        }
    }

    #[tokio::test]
    async fn the_caller_is_resolved_once_and_read_by_handlers() {
        let ann = Principal { user_id: UserId::new(), session_id: None, email: String::new(), name: "Ann".into() };
        // No credentials: not resolved at all, and handlers that need a caller answer UNAUTHORIZED.
        let mut anonymous = tonic::Request::new(());
        resolve_caller(&Fixed(Ok(ann.clone())), &mut anonymous).await;
        assert_eq!(caller(&anonymous).expect_err("anonymous").code, ErrorCode::Unauthorized);
        // A token: resolved, and read as many times as handlers ask.
        let mut signed = bearer_request("tok", ());
        resolve_caller(&Fixed(Ok(ann.clone())), &mut signed).await;
        assert_eq!(caller(&signed).expect("resolved").user_id, ann.user_id);
        assert_eq!(caller(&signed).expect("again").name, "Ann");
        assert!(resolved::<String, _>(&signed).is_none(), "Identity reads nothing besides the principal");
        // A failed resolution keeps its code (svc-auth away is not "signed out").
        let mut away = bearer_request("tok", ());
        resolve_caller(&Fixed(Err(ErrorCode::Unavailable)), &mut away).await;
        assert_eq!(caller(&away).expect_err("away").code, ErrorCode::Unavailable);
    }

    #[test]
    fn service_credential_must_match_and_name_a_user() {
        let user = UserId::new();
        let mut m = MetadataMap::new();
        assert!(service_principal(&m, "s3cret").expect("absent is fine").is_none());
        m.insert(SERVICE_TOKEN_HEADER, "wrong".parse().expect("ascii"));
        assert!(service_principal(&m, "s3cret").is_err());
        m.insert(SERVICE_TOKEN_HEADER, "s3cret".parse().expect("ascii"));
        assert!(service_principal(&m, "s3cret").is_err(), "no user named");
        m.insert(ON_BEHALF_HEADER, user.to_string().parse().expect("ascii"));
        assert_eq!(service_principal(&m, "s3cret").expect("ok").expect("some").user_id, user);
        assert!(service_principal(&m, "").is_err(), "no credential configured: refuse");
    }
}
