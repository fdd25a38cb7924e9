//! Who may read what. A file is readable by its uploader; an attachment by
//! anyone who can see the message it is attached to (svc-messaging decides,
//! asked on the caller's behalf) until that message is deleted; avatars
//! and emoji by the members of their workspace (an avatar set for every
//! profile, by anyone signed in). Everything else does not exist for the
//! caller (NOT_FOUND).

use ocomms_domain::Membership;
use ocomms_proto::messaging::v1 as m;
use ocomms_proto::messaging::v1::messaging_service_client::MessagingServiceClient;
use ocomms_runtime::identity::{Identity, Principal};
use ocomms_runtime::ids::UserId;
use ocomms_runtime::{ErrorCode, ServiceError, ServiceResult};
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;

use crate::domain::Kind;
use crate::store::files::File;

/// Only workspace admins add custom emoji.
pub fn check_may_add_emoji(m: &Membership) -> ServiceResult<()> {
    if m.is_admin() { Ok(()) } else { Err(ServiceError::forbidden("only admins add custom emoji")) }
}

/// Admins, and whoever added it, remove a custom emoji.
pub fn check_may_remove_emoji(m: &Membership, added_by: UserId, user: UserId) -> ServiceResult<()> {
    if m.is_admin() || added_by == user {
        Ok(())
    } else {
        Err(ServiceError::forbidden("only admins and who added it remove a custom emoji"))
    }
}

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
    match (f.kind, f.message_id, f.workspace_id) {
        (Kind::Attachment, Some(message), _) => {
            let req = identity.forward(meta, m::CheckPlaceRequest { message_id: Some(message.to_string()), ..Default::default() });
            match messaging.clone().check_place(req).await {
                Ok(_) => Ok(()),
                Err(s) if ServiceError::from_status(&s).code == ErrorCode::NotFound => Err(hidden()),
                Err(s) => Err(ServiceError::from_status(&s)),
            }
        }
        (Kind::Avatar | Kind::Emoji, _, Some(ws)) => match ocomms_domain::membership::membership(identity, meta, ws).await {
            Ok(_) => Ok(()),
            Err(e) if e.code == ErrorCode::NotFound => Err(hidden()),
            Err(e) => Err(e),
        },
        (Kind::Avatar, _, None) => Ok(()),
        _ => Err(hidden()),
    }
}

#[cfg(test)]
mod tests {
    use ocomms_domain::Role;

    use super::*;

    #[test]
    fn admins_add_emoji_and_adders_remove_theirs() {
        let m = |role| Membership { role, is_guest: false, expires_at: None, guest_channel_ids: Vec::new() };
        let (me, other) = (UserId::new(), UserId::new());
        assert!(check_may_add_emoji(&m(Role::Admin)).is_ok());
        assert!(check_may_add_emoji(&m(Role::Member)).is_err());
        assert!(check_may_remove_emoji(&m(Role::Member), me, me).is_ok());
        assert!(check_may_remove_emoji(&m(Role::Member), other, me).is_err());
        assert!(check_may_remove_emoji(&m(Role::Owner), other, me).is_ok());
    }
}
