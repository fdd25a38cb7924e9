//! Who may see what svc-notify tells of. The rules of places are
//! svc-messaging's: svc-notify asks it, on the caller's behalf (settings) or
//! with the service credential naming the recipient (notifications), and
//! applies the answer.

use ocomms_domain::ChannelId;
use ocomms_proto::messaging::v1::GetChannelRequest;
use ocomms_proto::messaging::v1::messaging_service_client::MessagingServiceClient;
use ocomms_runtime::identity::Identity;
use ocomms_runtime::{ServiceError, ServiceResult, ids};
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;

use crate::domain::NotificationKind;

/// The channel, if the caller can see it (asked of svc-messaging on their
/// behalf); NOT_FOUND otherwise.
pub async fn visible_channel(
    identity: &Identity,
    messaging: &MessagingServiceClient<Channel>,
    meta: &MetadataMap,
    channel: &str,
) -> ServiceResult<ChannelId> {
    let id: ChannelId = ids::parse("channelId", channel)?;
    let req = identity.forward(meta, GetChannelRequest { channel_id: id.to_string() });
    messaging.clone().get_channel(req).await.map_err(ServiceError::from)?;
    Ok(id)
}

/// Whether a recipient's access to the place must be asked before they are
/// notified: always in a private place; in a public channel only for a
/// thread's participants (a guest taken out of the channel must not hear
/// of its threads; a mention already reached only who may see it).
pub fn must_ask(restricted: bool, kind: NotificationKind) -> bool {
    restricted || kind == NotificationKind::ThreadReply
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_places_and_threads_are_asked_about() {
        assert!(must_ask(true, NotificationKind::Mention));
        assert!(must_ask(false, NotificationKind::ThreadReply));
        assert!(!must_ask(false, NotificationKind::Channel));
        assert!(!must_ask(false, NotificationKind::Mention));
    }
}
