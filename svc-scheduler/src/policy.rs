//! Who may schedule what. The rules of places (who sees a channel, who may
//! post in it, guests, archives) belong to svc-messaging: they are asked of
//! it on the caller's behalf, so that they are never written twice.
//! Rows of this service belong to one user: the store filters by them.

use ocomms_domain::{ChannelId, ConversationId, FileId, MessageId};
use ocomms_proto::messaging::v1 as m;
use ocomms_runtime::ids::{self, WorkspaceId};
use ocomms_runtime::{ServiceError, ServiceResult};
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;

type Messaging = m::messaging_service_client::MessagingServiceClient<Channel>;

/// Where a scheduled message goes, as svc-messaging resolved it.
pub struct Place {
    pub workspace_id: WorkspaceId,
    pub channel_id: Option<ChannelId>,
    pub conversation_id: Option<ConversationId>,
}

async fn check(
    messaging: &Messaging,
    identity: &ocomms_runtime::identity::Identity,
    meta: &MetadataMap,
    req: m::CheckPlaceRequest,
) -> ServiceResult<Place> {
    let answer = messaging.clone().check_place(identity.forward(meta, req)).await.map_err(|s| ServiceError::from_status(&s))?.into_inner();
    Ok(Place {
        workspace_id: ids::parse("workspaceId", &answer.workspace_id)?,
        channel_id: ids::parse_opt("channelId", answer.channel_id.as_deref())?,
        conversation_id: ids::parse_opt("conversationId", answer.conversation_id.as_deref())?,
    })
}

/// The caller may post in this channel or conversation now: 404 when they
/// cannot see it, 403 (FORBIDDEN, GUEST_LOCKED) when they may not post.
pub async fn can_post(
    messaging: &Messaging,
    identity: &ocomms_runtime::identity::Identity,
    meta: &MetadataMap,
    channel_id: Option<&str>,
    conversation_id: Option<&str>,
) -> ServiceResult<Place> {
    let req = m::CheckPlaceRequest {
        channel_id: channel_id.map(str::to_owned),
        conversation_id: conversation_id.map(str::to_owned),
        message_id: None,
        post: true,
    };
    check(messaging, identity, meta, req).await
}

/// The caller can see this message: its workspace, or 404.
pub async fn can_see_message(
    messaging: &Messaging,
    identity: &ocomms_runtime::identity::Identity,
    meta: &MetadataMap,
    message: MessageId,
) -> ServiceResult<WorkspaceId> {
    let req = m::CheckPlaceRequest { message_id: Some(message.to_string()), ..Default::default() };
    Ok(check(messaging, identity, meta, req).await?.workspace_id)
}

/// Claims the author's uploads for a scheduled message (svc-files checks
/// they are theirs and unattached; the message is later sent under the
/// scheduled message's id, so the claim carries over). The claimed ids.
pub async fn claim_attachments(
    files: &ocomms_proto::files::v1::files_service_client::FilesServiceClient<Channel>,
    service_token: &str,
    author: ocomms_runtime::ids::UserId,
    id: crate::domain::ScheduledMessageId,
    ws: WorkspaceId,
    file_ids: &[String],
) -> ServiceResult<Vec<FileId>> {
    if file_ids.is_empty() {
        return Ok(Vec::new());
    }
    let req = ocomms_proto::files::v1::ClaimAttachmentsRequest {
        message_id: id.to_string(),
        workspace_id: ws.to_string(),
        file_ids: file_ids.to_vec(),
    };
    let claimed = files
        .clone()
        .claim_attachments(ocomms_runtime::identity::service_request(service_token, author, req))
        .await
        .map_err(|s| ServiceError::from_status(&s))?
        .into_inner()
        .files;
    claimed.iter().map(|f| ids::parse("attachmentIds", &f.id)).collect()
}
