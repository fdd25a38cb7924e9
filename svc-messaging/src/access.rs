//! Who may see and post where.
//!
//! Workspace membership is svc-auth's: asked over gRPC on the caller's
//! behalf and reused for a few seconds (positive answers only, so a new
//! member is never refused by a stale answer). Channel membership is ours.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use ocomms_domain::Membership;
use ocomms_runtime::ServiceResult;
use ocomms_runtime::identity::{Identity, Principal};
use ocomms_runtime::ids::{UserId, WorkspaceId};
use tonic::metadata::MetadataMap;

#[derive(Clone)]
pub struct Access {
    pub identity: Identity,
    ttl: Duration,
    cache: Arc<Mutex<HashMap<(WorkspaceId, UserId), (Membership, Instant)>>>,
}

impl Access {
    pub fn new(identity: Identity, ttl_secs: u64) -> Self {
        Self { identity, ttl: Duration::from_secs(ttl_secs), cache: Arc::default() }
    }

    /// The caller's membership of a workspace; NOT_FOUND when they have none
    /// (another tenant's resources do not exist for them).
    pub async fn membership(&self, meta: &MetadataMap, p: &Principal, ws: WorkspaceId) -> ServiceResult<Membership> {
        let key = (ws, p.user_id);
        if let Ok(cache) = self.cache.lock()
            && let Some((m, at)) = cache.get(&key)
            && at.elapsed() < self.ttl
        {
            return Ok(m.clone());
        }
        let m = ocomms_domain::membership::membership(&self.identity, meta, ws).await?;
        if !self.ttl.is_zero()
            && let Ok(mut cache) = self.cache.lock()
        {
            if cache.len() > 100_000 {
                cache.clear();
            }
            cache.insert(key, (m.clone(), Instant::now()));
        }
        Ok(m)
    }
}

impl Access {
    /// Drops every cached membership (removals may have been missed).
    pub fn forget_all(&self) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.clear();
        }
    }

    /// Drops a cached membership (the member left or was removed).
    pub fn forget(&self, ws: WorkspaceId, user: UserId) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.remove(&(ws, user));
        }
    }
}
