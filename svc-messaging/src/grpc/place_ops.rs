//! `CheckPlace`: other services (svc-scheduler) ask, on a user's behalf,
//! whether they may see or post in a place, with the rules of this service.

use ocomms_proto::messaging::v1 as pb;
use ocomms_runtime::ServiceResult;
use tonic::Request;

use super::{MessagingApi, Place, target_of};
use crate::store::messages::Target;

impl MessagingApi {
    pub(crate) async fn check_place(&self, req: Request<pb::CheckPlaceRequest>) -> ServiceResult<pb::CheckPlaceResponse> {
        let p = self.access.principal(req.metadata()).await?;
        let r = req.get_ref();
        let place = match r.message_id.as_deref() {
            Some(id) => self.visible_message(req.metadata(), &p, "messageId", id).await?.1,
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
