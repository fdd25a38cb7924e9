//! Web push: the VAPID key, and the caller's browsers.

use ocomms_proto::notify::v1 as pb;
use ocomms_runtime::{ServiceError, ServiceResult};
use tonic::Request;

use super::NotifyApi;
use crate::{domain, store};
use ocomms_runtime::identity::caller;

impl NotifyApi {
    pub(crate) async fn get_vapid_public_key(&self, req: Request<pb::GetVapidPublicKeyRequest>) -> ServiceResult<pb::VapidPublicKey> {
        caller(&req)?;
        let vapid = self.pusher.vapid.as_ref().ok_or_else(|| ServiceError::not_found("web push (not configured on this server)"))?;
        Ok(pb::VapidPublicKey { public_key: vapid.public_key.clone() })
    }

    pub(crate) async fn subscribe(&self, req: Request<pb::PushSubscribeRequest>) -> ServiceResult<pb::PushSubscribeResponse> {
        let p = caller(&req)?;
        let sub = req.get_ref().subscription.as_ref().ok_or_else(|| ServiceError::validation("subscription", "required"))?;
        let url = self.pusher.check_endpoint(&sub.endpoint).map_err(|e| ServiceError::validation("subscription.endpoint", e))?;
        let keys = sub.keys.as_ref().ok_or_else(|| ServiceError::validation("subscription.keys", "required"))?;
        domain::check_push_keys(&keys.p256dh, &keys.auth)?;
        if self.pusher.vapid.is_none() {
            return Err(ServiceError::not_found("web push (not configured on this server)"));
        }
        let mut conn = self.conn().await?;
        if !store::push_subscriptions::register(&mut conn, p.user_id, url.as_str(), &keys.p256dh, &keys.auth).await? {
            return Err(ServiceError::conflict("this endpoint is registered with other keys"));
        }
        Ok(pb::PushSubscribeResponse { success: true })
    }

    pub(crate) async fn unsubscribe(&self, req: Request<pb::PushUnsubscribeRequest>) -> ServiceResult<pb::PushSubscribeResponse> {
        let p = caller(&req)?;
        let endpoints = domain::unsubscribe_endpoint(&req.get_ref().endpoint)?;
        let mut conn = self.conn().await?;
        store::push_subscriptions::remove(&mut conn, p.user_id, &endpoints).await?;
        Ok(pb::PushSubscribeResponse { success: true })
    }
}
