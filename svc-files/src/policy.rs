//! Who may read what. A file is readable by its uploader; an attachment by
//! anyone who can see the message it is attached to (svc-messaging decides,
//! asked on the caller's behalf) until that message is deleted; avatars
//! and emoji by the members of their workspace (an avatar set for every
//! profile, by anyone signed in). Everything else does not exist for the
//! caller (NOT_FOUND).

use ocomms_proto::messaging::v1 as m;
use ocomms_proto::messaging::v1::messaging_service_client::MessagingServiceClient;
use ocomms_runtime::identity::{Identity, Principal};
use ocomms_runtime::{ErrorCode, ServiceError, ServiceResult};
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;

use crate::store::files::File;

pub async fn can_read(
    identity: &Identity,
    messaging: &MessagingServiceClient<Channel>,
    meta: &MetadataMap,
    caller: &Principal,
    f: &File,
) -> ServiceResult<()> {
    let hidden = || ServiceError::not_found("file");
    if f.orphaned_at.is_some() {
        // Its message was deleted: nobody reads it any more.
        return Err(hidden());
    }
    if f.uploaded_by == caller.user_id {
        return Ok(());
    }
    match (f.kind.as_str(), f.message_id, f.workspace_id) {
        ("attachment", Some(message), _) => {
            let req = identity.forward(meta, m::CheckPlaceRequest { message_id: Some(message.to_string()), ..Default::default() });
            match messaging.clone().check_place(req).await {
                Ok(_) => Ok(()),
                Err(s) if ServiceError::from_status(&s).code == ErrorCode::NotFound => Err(hidden()),
                Err(s) => Err(ServiceError::from_status(&s)),
            }
        }
        ("avatar" | "emoji", _, Some(ws)) => match ocomms_domain::membership::membership(identity, meta, ws).await {
            Ok(_) => Ok(()),
            Err(e) if e.code == ErrorCode::NotFound => Err(hidden()),
            Err(e) => Err(e),
        },
        ("avatar", _, None) => Ok(()),
        _ => Err(hidden()),
    }
}
