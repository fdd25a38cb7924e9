//! Live presence: one entry per (workspace, user) with the status and when
//! it was set; entries older than the TTL read as offline.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use chrono::{DateTime, Utc};
use ocomms_runtime::ids::{UserId, WorkspaceId};
use ocomms_runtime::{ServiceError, ServiceResult};

use crate::domain::Status;

#[derive(Clone)]
pub enum Live {
    Memory { ttl: chrono::Duration, map: Arc<Mutex<HashMap<(WorkspaceId, UserId), (Status, DateTime<Utc>)>>> },
    Redis { ttl: chrono::Duration, conn: redis::aio::ConnectionManager, prefix: String },
}

fn ttl(secs: u64) -> chrono::Duration {
    chrono::Duration::seconds(i64::try_from(secs).unwrap_or(300))
}

impl Live {
    pub fn memory(ttl_secs: u64) -> Self {
        Self::Memory { ttl: ttl(ttl_secs), map: Arc::default() }
    }

    pub async fn redis(url: &str, prefix: &str, ttl_secs: u64) -> anyhow::Result<Self> {
        let conn = redis::Client::open(url)?.get_connection_manager().await.context("connecting to Redis")?;
        Ok(Self::Redis { ttl: ttl(ttl_secs), conn, prefix: prefix.to_owned() })
    }

    pub async fn set(&self, ws: WorkspaceId, user: UserId, status: Status, at: DateTime<Utc>) -> ServiceResult<()> {
        match self {
            Self::Memory { map, .. } => {
                if let Ok(mut m) = map.lock() {
                    m.insert((ws, user), (status, at));
                }
                Ok(())
            }
            Self::Redis { conn, prefix, ttl } => {
                let key = format!("{prefix}:presence:{ws}");
                let mut conn = conn.clone();
                redis::pipe()
                    .cmd("HSET")
                    .arg(&key)
                    .arg(user.to_string())
                    .arg(format!("{}|{}", status.as_str(), at.timestamp_millis()))
                    .cmd("EXPIRE")
                    .arg(&key)
                    .arg(ttl.num_seconds() * 2)
                    .query_async::<()>(&mut conn)
                    .await
                    .map_err(ServiceError::unavailable)
            }
        }
    }

    /// Live statuses of the users that have one.
    pub async fn get(&self, ws: WorkspaceId, users: &[UserId]) -> ServiceResult<HashMap<UserId, (Status, DateTime<Utc>)>> {
        let now = Utc::now();
        let (ttl, found) = match self {
            Self::Memory { map, ttl } => {
                let m = map.lock().map_err(|_| ServiceError::internal(anyhow::anyhow!("presence map poisoned")))?;
                (*ttl, users.iter().filter_map(|u| m.get(&(ws, *u)).map(|v| (*u, v.clone()))).collect::<Vec<_>>())
            }
            Self::Redis { conn, prefix, ttl } => {
                if users.is_empty() {
                    return Ok(HashMap::new());
                }
                let mut conn = conn.clone();
                let values: Vec<Option<String>> = redis::cmd("HMGET")
                    .arg(format!("{prefix}:presence:{ws}"))
                    .arg(users.iter().map(|u| u.to_string()).collect::<Vec<_>>())
                    .query_async(&mut conn)
                    .await
                    .map_err(ServiceError::unavailable)?;
                let parsed = users
                    .iter()
                    .zip(values)
                    .filter_map(|(u, v)| {
                        let v = v?;
                        let (status, ms) = v.split_once('|')?;
                        let status = Status::parse(status)?;
                        Some((*u, (status, DateTime::from_timestamp_millis(ms.parse().ok()?)?)))
                    })
                    .collect();
                (*ttl, parsed)
            }
        };
        Ok(found.into_iter().filter(|(_, (_, at))| now - *at < ttl).collect())
    }
}
