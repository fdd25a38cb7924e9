//! `CheckPlace`: other services (svc-scheduler, svc-files) ask, on a user's behalf,
//! whether they may see or post in a place, with the rules of this service.

use ocomms_domain::MessageId;
use ocomms_proto::messaging::v1 as pb;
use ocomms_runtime::ids::{self};
use ocomms_runtime::{ServiceError, ServiceResult};
use tonic::Request;

use super::{MessagingApi, Place, target_of};
use crate::store::messages::{self as store, Target};
use ocomms_runtime::identity::caller;

impl MessagingApi {
    pub(crate) async fn check_place(&self, req: Request<pb::CheckPlaceRequest>) -> ServiceResult<pb::CheckPlaceResponse> {
        let p = caller(&req)?;
        let r = req.get_ref();
        let place = match r.message_id.as_deref() {
            Some(id) => {
                let (m, place) = self.visible_message(req.metadata(), &p, "messageId", id).await?;
                // A deleted message is gone for its files and reminders too.
                if m.is_deleted {
                    return Err(ServiceError::not_found("message"));
                }
                place
            }
            None => self.place(req.metadata(), &p, target_of(r.channel_id.as_deref(), r.conversation_id.as_deref())?).await?,
        };
        if r.post {
            place.check_can_post()?;
        }
        Ok(place_pb(&place))
    }
}

fn place_pb(place: &Place) -> pb::CheckPlaceResponse {
    let (channel_id, conversation_id) = match place.target {
        Target::Channel(c) => (Some(c.to_string()), None),
        Target::Conversation(c) => (None, Some(c.to_string())),
    };
    pb::CheckPlaceResponse { workspace_id: place.workspace_id.to_string(), channel_id, conversation_id }
}

impl MessagingApi {
    /// Internal (svc-files): stores a message's link previews and tells
    /// whoever may see the message now, one `linkPreview:ready` per preview.
    pub(crate) async fn set_link_previews(&self, req: Request<pb::SetLinkPreviewsRequest>) -> ServiceResult<pb::SetLinkPreviewsResponse> {
        if !ocomms_runtime::identity::has_service_credential(req.metadata(), self.access.identity.service_token()) {
            return Err(ServiceError::forbidden("internal call"));
        }
        let r = req.into_inner();
        let id: MessageId = ids::parse("messageId", &r.message_id)?;
        let mut conn = self.conn().await?;
        let Some(current) = store::get(&mut conn, id).await? else { return Ok(pb::SetLinkPreviewsResponse {}) };
        // Only links the message still has (it may have been edited since),
        // in its order; those already there stay.
        let links = crate::domain::links(&current.content);
        let existing: Vec<pb::LinkPreview> = serde_json::from_value(current.link_previews.clone()).unwrap_or_default();
        let incoming: Vec<pb::LinkPreview> = r.previews.into_iter().filter(|p| links.contains(&p.url)).collect();
        let merged: Vec<&pb::LinkPreview> =
            links.iter().filter_map(|u| incoming.iter().find(|p| &p.url == u).or_else(|| existing.iter().find(|p| &p.url == u))).collect();
        let previews = serde_json::to_value(&merged).map_err(ServiceError::internal)?;
        let set = diesel_async::AsyncConnection::transaction::<_, ServiceError, _>(&mut conn, async move |conn| {
            Ok(store::set_link_previews(conn, id, &previews).await?)
        })
        .await?;
        let Some(m) = set else {
            // Deleted meanwhile (or never stored): nothing to show.
            return Ok(pb::SetLinkPreviewsResponse {});
        };
        drop(conn);
        let Some(target) = Target::of(&m) else { return Ok(pb::SetLinkPreviewsResponse {}) };
        let to = self.audience(target).await?;
        for preview in incoming {
            let mut data = serde_json::json!({ "messageId": m.id, "preview": preview });
            match target {
                Target::Channel(c) => data["channelId"] = serde_json::json!(c),
                Target::Conversation(c) => data["conversationId"] = serde_json::json!(c),
            }
            self.publish(to.clone(), "linkPreview:ready", data).await;
        }
        Ok(pb::SetLinkPreviewsResponse {})
    }
}
