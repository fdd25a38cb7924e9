//! The real-time event bus.
//!
//! Services publish [`Event`]s after they commit a change; every gateway
//! replica subscribes and delivers each event to the sockets of its
//! recipients. With Redis the bus is a pub/sub channel
//! (`<prefix>:events`), so an event published by any process reaches every
//! gateway; without Redis it is an in-process broadcast (one node only).
//!
//! The bus is best-effort by design: a socket that misses an event (its
//! gateway restarted, it lagged) resumes from the durable history by
//! sequence, so nothing acknowledged is ever lost.

use std::sync::Arc;

use anyhow::Context;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::ids::UserId;

/// Who receives an event.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", tag = "kind", content = "ids")]
pub enum Audience {
    /// These users' sockets, on every gateway.
    Users(Vec<UserId>),
    /// Services only (cache invalidation and the like); never sent to clients.
    Internal,
}

/// One event: a seed event name (`message:new`) and its JSON payload.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Event {
    pub to: Audience,
    pub name: String,
    pub data: serde_json::Value,
}

impl Event {
    pub fn to_users(users: Vec<UserId>, name: &str, data: serde_json::Value) -> Self {
        Self { to: Audience::Users(users), name: name.to_owned(), data }
    }

    pub fn internal(name: &str, data: serde_json::Value) -> Self {
        Self { to: Audience::Internal, name: name.to_owned(), data }
    }

    /// An internal event whose payload is a proto message (its JSON form),
    /// the one definition its producer and consumers share.
    pub fn internal_of<T: serde::Serialize>(name: &str, payload: &T) -> Self {
        Self::internal(name, serde_json::to_value(payload).unwrap_or_default())
    }

    /// The payload as the message its producer wrote.
    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> anyhow::Result<T> {
        serde_json::from_value(self.data.clone()).map_err(|e| anyhow::anyhow!("event {}: unexpected payload: {e}", self.name))
    }
}

/// Internal event: sessions ended (`ocomms.auth.v1.SessionsRevokedEvent`);
/// identity caches drop them at once.
pub const SESSION_REVOKED: &str = "internal:session-revoked";

/// Local event (never published): the Redis subscription was lost and is
/// back, so events published meanwhile were missed; whoever caches on the
/// strength of events (the identity cache) forgets what it holds.
pub const BUS_RESUBSCRIBED: &str = "internal:bus-resubscribed";

/// Internal event: a member left or was removed from a workspace
/// (`ocomms.auth.v1.MemberRemovedEvent`); services drop what they keep for
/// them there.
pub const MEMBER_REMOVED: &str = "internal:member-removed";

const LOCAL_CAPACITY: usize = 65_536;

/// A handle to the bus; cheap to clone.
#[derive(Clone)]
pub struct Bus {
    local: broadcast::Sender<Arc<Event>>,
    redis: Option<RedisBus>,
}

#[derive(Clone)]
struct RedisBus {
    conn: redis::aio::ConnectionManager,
    channel: String,
}

impl Bus {
    /// An in-process bus (no Redis: single node).
    pub fn local() -> Self {
        Self { local: broadcast::channel(LOCAL_CAPACITY).0, redis: None }
    }

    /// A bus over Redis pub/sub on `<prefix>:events`. Events published
    /// anywhere are received here through one subscription per process.
    pub async fn redis(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url).context("REDIS_URL")?;
        let conn = client.get_connection_manager().await.context("connecting to Redis")?;
        let channel = format!("{prefix}:events");
        let local = broadcast::channel(LOCAL_CAPACITY).0;
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        tokio::spawn(relay(client, channel.clone(), local.clone(), ready_tx));
        ready_rx.await.context("redis subscriber stopped")??;
        Ok(Self { local, redis: Some(RedisBus { conn, channel }) })
    }

    /// Redis when `redis_url` is set, else in-process (one node).
    pub async fn connect(redis_url: Option<&str>, prefix: &str) -> anyhow::Result<Self> {
        match redis_url {
            Some(url) => Self::redis(url, prefix).await,
            None => Ok(Self::local()),
        }
    }

    pub fn is_redis(&self) -> bool {
        self.redis.is_some()
    }

    /// Publishes an event. Failure is logged, not returned: the bus is
    /// best-effort and the change it announces is already committed.
    pub async fn publish(&self, event: Event) {
        match &self.redis {
            None => {
                let _ = self.local.send(Arc::new(event));
            }
            Some(r) => {
                let payload = match serde_json::to_string(&event) {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::error!(error = %e, "event not serializable");
                        return;
                    }
                };
                let mut conn = r.conn.clone();
                let res: redis::RedisResult<i64> = redis::cmd("PUBLISH").arg(&r.channel).arg(payload).query_async(&mut conn).await;
                if let Err(e) = res {
                    tracing::warn!(error = %e, event = event.name, "publishing event failed");
                }
            }
        }
    }

    /// Every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.local.subscribe()
    }
}

/// Forwards the Redis channel into the local broadcast, reconnecting with
/// backoff when Redis goes away.
async fn relay(
    client: redis::Client,
    channel: String,
    local: broadcast::Sender<Arc<Event>>,
    ready: tokio::sync::oneshot::Sender<anyhow::Result<()>>,
) {
    let mut ready = Some(ready);
    let mut backoff = std::time::Duration::from_millis(100);
    loop {
        let subscribed = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            anyhow::Ok(pubsub)
        }
        .await;
        let pubsub = match subscribed {
            Ok(p) => p,
            Err(e) => {
                if let Some(tx) = ready.take() {
                    let _ = tx.send(Err(e));
                    return;
                }
                tracing::warn!(error = %e, "redis subscription failed, retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(std::time::Duration::from_secs(5));
                continue;
            }
        };
        if let Some(tx) = ready.take() {
            let _ = tx.send(Ok(()));
        } else {
            let _ = local.send(Arc::new(Event::internal(BUS_RESUBSCRIBED, serde_json::json!({}))));
        }
        backoff = std::time::Duration::from_millis(100);
        let mut stream = pubsub.into_on_message();
        while let Some(msg) = stream.next().await {
            let Ok(payload) = msg.get_payload::<String>() else { continue };
            match serde_json::from_str::<Event>(&payload) {
                Ok(ev) => {
                    let _ = local.send(Arc::new(ev));
                }
                Err(e) => tracing::warn!(error = %e, "malformed event on bus"),
            }
        }
        tracing::warn!("redis subscription lost, resubscribing");
    }
}
