//! Web Push (RFC 8030): subscriptions, and the `notify.push` jobs that
//! deliver one notification to one browser.
//!
//! Every notification committed for a user enqueues, in the same
//! transaction, one job per subscription of theirs (`store::notifications::insert`). The
//! consumer skips notifications already read and users who are active in
//! the notification's workspace (their open client shows it), encrypts the
//! payload for the browser (RFC 8291, aes128gcm) and signs the request with
//! our VAPID key (RFC 8292), both by `web-push-native`. The push service's
//! answer decides: 2xx delivered; 404 or 410 the subscription is gone and
//! deleted; 429 and 5xx are retried by the broker's policy (backoff, then
//! set aside as a dead job, `ocomms jobs`); other refusals are logged and dropped. A
//! redelivered job whose push went out is skipped (`processed_events`);
//! the request's `Topic` (the notification id) makes a push service replace
//! rather than repeat one sent twice by a crash between send and record.
//!
//! Endpoints are contacted only over https on public addresses (checked at
//! subscribe time and again, after resolving, at each send), unless the
//! host is in `PUSH_ALLOWED_HOSTS` (tests).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Nullable, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use ocomms_proto::notify::v1 as pb;
use ocomms_proto::notify::v1::jobs::PUSH;
use ocomms_runtime::db::Pool;
use ocomms_runtime::ids::{UserId, WorkspaceId};
use ocomms_runtime::jobs::{Broker, Job};
use ocomms_runtime::net::is_public;
use url::{Host, Url};

use crate::config::VapidConfig;
use crate::domain::{NotificationId, PushSubscriptionId};

/// Longest endpoint accepted (real ones are a few hundred characters).
const MAX_ENDPOINT: usize = 2048;
/// The notification text carried in a push is cut to keep the payload
/// under the 4 KB push services accept.
const MAX_BODY_CHARS: usize = 500;
/// How long a push service keeps an undelivered push (the `TTL` header),
/// and how long the VAPID token is valid: RFC 8292 allows at most 24
/// hours, so half of that leaves room for clocks that disagree.
const TTL: Duration = Duration::from_secs(12 * 60 * 60);
/// Most bytes of a push's JSON payload (push services take about 4 KB,
/// encryption adds a little).
const MAX_PAYLOAD: usize = 3000;

/// A new VAPID key pair (public, private), base64url, for
/// `VAPID_PUBLIC_KEY` and `VAPID_PRIVATE_KEY` (`ocomms vapid-keys`).
pub fn generate_vapid_keys() -> (String, String) {
    use web_push_native::jwt_simple::algorithms::{ECDSAP256PublicKeyLike as _, ES256KeyPair};
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let kp = ES256KeyPair::generate();
    (b64.encode(kp.public_key().public_key().to_bytes_uncompressed()), b64.encode(kp.to_bytes()))
}

/// What sends pushes; `vapid` is `None` when push is off.
#[derive(Clone)]
pub struct Pusher {
    pub vapid: Option<Arc<VapidConfig>>,
    pub allowed_hosts: Arc<Vec<String>>,
    pub http_timeout: Duration,
}

/// How a push went.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// 404 / 410: the browser unsubscribed or the subscription expired.
    Gone,
    /// Refused for good (bad request, payload too large, our key refused).
    Dropped(String),
}

impl Pusher {
    /// A subscription's endpoint, if we may send to it.
    pub fn check_endpoint(&self, raw: &str) -> Result<Url, String> {
        if raw.len() > MAX_ENDPOINT {
            return Err(format!("at most {MAX_ENDPOINT} characters"));
        }
        let url = Url::parse(raw).map_err(|_| "not a URL".to_owned())?;
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let allowed = self.allowed_hosts.contains(&host);
        if !allowed {
            if url.scheme() != "https" {
                return Err("must be an https URL".into());
            }
            let literal = match url.host() {
                Some(Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
                Some(Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
                Some(Host::Domain(_)) => None,
                None => return Err("has no host".into()),
            };
            if literal.is_some_and(|ip| !is_public(ip)) || host == "localhost" || host.ends_with(".localhost") {
                return Err("must be on a public host".into());
            }
            // Push services listen on 443; nothing else is contacted.
            if url.port().is_some_and(|p| p != 443) {
                return Err("must use the https port".into());
            }
        } else if !matches!(url.scheme(), "http" | "https") {
            return Err("must be an http(s) URL".into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not carry credentials".into());
        }
        if url.as_str().parse::<http::Uri>().is_err() {
            return Err("is not a URL we can send to".into());
        }
        Ok(url)
    }

    /// Sends `payload` to one subscription. Errors are worth retrying
    /// (network trouble, 429, 5xx).
    pub async fn send(&self, sub: &Subscription, topic: &str, payload: &[u8]) -> anyhow::Result<Outcome> {
        let Some(vapid) = &self.vapid else { return Ok(Outcome::Dropped("push is off".into())) };
        let url = match self.check_endpoint(&sub.endpoint) {
            Ok(u) => u,
            Err(e) => return Ok(Outcome::Dropped(format!("endpoint {e}"))),
        };
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let keys = (|| {
            let p256dh = b64.decode(sub.p256dh.trim_end_matches('=')).ok()?;
            let auth = b64.decode(sub.auth.trim_end_matches('=')).ok()?;
            let public = web_push_native::p256::PublicKey::from_sec1_bytes(&p256dh).ok()?;
            (auth.len() == 16).then(|| (public, web_push_native::Auth::clone_from_slice(&auth)))
        })();
        let Some((public, auth)) = keys else { return Ok(Outcome::Dropped("the subscription's keys are invalid".into())) };
        let endpoint: http::Uri = url.as_str().parse()?;
        let request = web_push_native::WebPushBuilder::new(endpoint, public, auth)
            .with_valid_duration(TTL)
            .with_vapid(&vapid.key_pair, &vapid.subject)
            .build(payload.to_vec())
            .map_err(|e| anyhow::anyhow!("building the push request: {e}"))?;

        // Connect only to the address that was checked.
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let port = url.port_or_known_default().unwrap_or(443);
        let allowed = self.allowed_hosts.contains(&host);
        let mut client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(self.http_timeout)
            .user_agent("OComms-Push/1.0");
        if let Some(Host::Domain(domain)) = url.host() {
            let addrs: Vec<SocketAddr> =
                tokio::time::timeout(Duration::from_secs(5), tokio::net::lookup_host((domain, port))).await??.collect();
            let addr = if allowed { <[SocketAddr]>::first(&addrs).copied() } else { addrs.iter().copied().find(|a| is_public(a.ip())) };
            if !allowed && addrs.iter().any(|a| !is_public(a.ip())) {
                return Ok(Outcome::Dropped(format!("{domain} resolves to a private address")));
            }
            let Some(addr) = addr else { anyhow::bail!("{domain} does not resolve") };
            client = client.resolve(domain, addr);
        }
        let client = client.build()?;
        let (parts, body) = request.into_parts();
        let mut req = client.post(url.as_str()).body(body).header("Topic", topic).header("Urgency", "high");
        for (name, value) in &parts.headers {
            req = req.header(name.as_str(), value.as_bytes());
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        Ok(match status {
            200..=299 => Outcome::Delivered,
            404 | 410 => Outcome::Gone,
            429 | 500..=599 => anyhow::bail!("the push service answered {status}"),
            _ => {
                // At most one chunk of the answer, for the log.
                let mut resp = resp;
                let head = resp.chunk().await.ok().flatten().unwrap_or_default();
                let text: String = String::from_utf8_lossy(&head[..head.len().min(200)]).chars().filter(|c| !c.is_control()).collect();
                Outcome::Dropped(format!("the push service answered {status}: {text}"))
            }
        })
    }
}

/// One browser's subscription.
#[derive(QueryableByName, Debug, Clone)]
pub struct Subscription {
    #[diesel(sql_type = SqlUuid)]
    pub id: PushSubscriptionId,
    #[diesel(sql_type = SqlUuid)]
    pub user_id: UserId,
    #[diesel(sql_type = Text)]
    pub endpoint: String,
    #[diesel(sql_type = Text)]
    pub p256dh: String,
    #[diesel(sql_type = Text)]
    pub auth: String,
}

#[derive(QueryableByName)]
struct Pending {
    #[diesel(sql_type = SqlUuid)]
    user_id: UserId,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    workspace_id: Option<WorkspaceId>,
    #[diesel(sql_type = Text)]
    r#type: String,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Nullable<Text>)]
    body: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    data: serde_json::Value,
    #[diesel(sql_type = Bool)]
    is_read: bool,
}

/// What the consumer asks svc-presence.
#[derive(Clone)]
pub struct Presence {
    pub client: ocomms_proto::presence::v1::presence_service_client::PresenceServiceClient<tonic::transport::Channel>,
    pub service_token: String,
}

impl Presence {
    /// Whether the user is active in the workspace now (an open client
    /// shows them the notification: no push).
    pub(crate) async fn active(&self, user: UserId, workspace: Option<WorkspaceId>) -> anyhow::Result<bool> {
        let Some(ws) = workspace else { return Ok(false) };
        if self.service_token.is_empty() {
            return Ok(false);
        }
        let req = ocomms_proto::presence::v1::GetPresenceRequest { workspace_id: ws.to_string(), user_ids: vec![user.to_string()] };
        match self.client.clone().get_presence(ocomms_runtime::identity::service_request(&self.service_token, user, req)).await {
            Ok(r) => Ok(r.into_inner().presences.iter().any(|p| p.status == "active")),
            // No longer a member: the notification is stale; nothing to push.
            Err(s) if matches!(s.code(), tonic::Code::NotFound | tonic::Code::PermissionDenied) => Ok(true),
            Err(s) => Err(anyhow::anyhow!("asking svc-presence: {s}")),
        }
    }
}

pub fn start(pool: Pool, broker: &Broker, pusher: Pusher, presence: Presence) {
    broker.consume("notify.push", &[PUSH], move |job| {
        let (pool, pusher, presence) = (pool.clone(), pusher.clone(), presence.clone());
        async move { handle(&pool, &pusher, &presence, job).await }
    });
}

async fn handle(pool: &Pool, pusher: &Pusher, presence: &Presence, job: Job) -> anyhow::Result<()> {
    if pusher.vapid.is_none() {
        return Ok(());
    }
    let j: pb::PushJob = job.decode()?;
    let (notification, subscription): (NotificationId, PushSubscriptionId) = (j.notification_id.parse()?, j.subscription_id.parse()?);
    let mut conn = pool.get().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    if ocomms_runtime::jobs::already_done(&mut conn, &job.id).await? {
        return Ok(());
    }
    let n: Option<Pending> =
        diesel::sql_query("SELECT user_id, workspace_id, type, title, body, data, is_read FROM notifications WHERE id = $1")
            .bind::<SqlUuid, _>(notification)
            .get_result(&mut conn)
            .await
            .optional()?;
    let sub: Option<Subscription> = diesel::sql_query("SELECT id, user_id, endpoint, p256dh, auth FROM push_subscriptions WHERE id = $1")
        .bind::<SqlUuid, _>(subscription)
        .get_result(&mut conn)
        .await
        .optional()?;
    drop(conn);
    let skip = match (n, sub) {
        // The subscription moved to another account since: not theirs to see.
        (Some(n), Some(sub)) if !n.is_read && sub.user_id == n.user_id && !presence.active(n.user_id, n.workspace_id).await? => {
            Some((n, sub))
        }
        _ => None,
    };
    let Some((n, sub)) = skip else { return record(pool, &job).await };
    let clean = |s: &str, max: usize| -> String { s.chars().filter(|c| !c.is_control() || *c == '\n').take(max).collect() };
    let mut body = clean(n.body.as_deref().unwrap_or_default(), MAX_BODY_CHARS);
    let payload = loop {
        let p = serde_json::json!({
            "notificationId": notification,
            "type": n.r#type,
            "title": clean(&n.title, 200),
            "body": body,
            "data": n.data,
        });
        // Multi-byte text can still be too long: shorten until it fits.
        if p.to_string().len() <= MAX_PAYLOAD || body.is_empty() {
            break p;
        }
        let keep = body.chars().count() / 2;
        body = body.chars().take(keep).collect();
    };
    let topic = notification.0.simple().to_string();
    let outcome = pusher.send(&sub, &topic, payload.to_string().as_bytes()).await?;
    let mut conn = pool.get().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    match &outcome {
        Outcome::Delivered => {}
        Outcome::Gone => {
            tracing::info!(subscription = %sub.id, "push subscription gone (404/410): deleted");
            diesel::sql_query("DELETE FROM push_subscriptions WHERE id = $1").bind::<SqlUuid, _>(sub.id).execute(&mut conn).await?;
        }
        Outcome::Dropped(why) => tracing::warn!(subscription = %sub.id, reason = %why, "push not delivered"),
    }
    drop(conn);
    record(pool, &job).await
}

/// Records the job as done (a redelivery is then skipped).
async fn record(pool: &Pool, job: &Job) -> anyhow::Result<()> {
    let mut conn = pool.get().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    ocomms_runtime::jobs::once(&mut conn, &job.id, |_| Box::pin(async { Ok(()) })).await?;
    Ok(())
}

/// Enqueues `notify.push` for `notification` to every subscription of
/// `user` (inside the transaction that inserts the notification).
pub async fn enqueue_for(
    conn: &mut diesel_async::AsyncPgConnection,
    notification: NotificationId,
    user: UserId,
) -> diesel::QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO outbox (routing_key, payload)
         SELECT $1, jsonb_build_object('notificationId', $2::text, 'subscriptionId', id::text)
         FROM push_subscriptions WHERE user_id = $3",
    )
    .bind::<Text, _>(PUSH)
    .bind::<SqlUuid, _>(notification)
    .bind::<SqlUuid, _>(user)
    .execute(conn)
    .await
    .map(drop)
}
