//! Who may see and do what in svc-messaging, decided on data already
//! loaded (no IO here): handlers load, ask, then write. Workspace roles and
//! guest grants come from svc-auth through `ocomms_domain::Membership`;
//! channel and conversation membership is ours.

use ocomms_domain::{ChannelId, Membership};
use ocomms_runtime::ids::UserId;
use ocomms_runtime::{ServiceError, ServiceResult};

use crate::store::channels::Channel;

/// Whether the caller sees a channel or conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sight {
    Visible,
    /// A guest's invite gave them this channel and they have not joined it
    /// yet: joining it (once) makes it visible (seed 5.7).
    RedeemGrant,
    /// NOT_FOUND: it does not exist for them.
    Hidden,
}

/// Seed 5.7 and the privacy rules: members of the workspace see public
/// channels, and private channels and conversations they belong to;
/// guests see only the channels their invite gave them (a grant becomes a
/// membership once: a guest removed afterwards stays out), and the
/// conversations they are in. `channel` is the place's id when it is a
/// channel.
pub fn sight(m: &Membership, channel: Option<ChannelId>, private: bool, is_member: bool) -> Sight {
    if m.is_guest {
        return match channel {
            Some(c) if !m.may_see_channel(c) => Sight::Hidden,
            Some(_) if !is_member => Sight::RedeemGrant,
            _ if !is_member => Sight::Hidden,
            _ => Sight::Visible,
        };
    }
    if private && !is_member { Sight::Hidden } else { Sight::Visible }
}

/// Whether a channel appears in the caller's lists (channel list, search):
/// public ones and their private ones; for a guest, only the given
/// channels they belong to.
pub fn channel_listed(m: &Membership, c: &Channel, is_member: bool) -> bool {
    if m.is_guest { is_member && m.may_see_channel(c.id) } else { !c.is_private || is_member }
}

/// Channel creators and workspace admins manage a channel (rename, topic,
/// archive, remove members).
pub fn check_manager(m: &Membership, channel: Option<&Channel>, user: UserId) -> ServiceResult<()> {
    let creator = channel.is_some_and(|c| c.created_by == user);
    if creator || m.is_admin() {
        Ok(())
    } else {
        Err(ServiceError::forbidden("only the channel's creator or a workspace admin can do this"))
    }
}

/// Only workspace admins and owners manage channel categories.
pub fn check_admin(m: &Membership, what: &str) -> ServiceResult<()> {
    if m.is_admin() { Ok(()) } else { Err(ServiceError::forbidden(format!("only admins and owners can {what}"))) }
}

/// Guests take part where they were invited; they do not create channels,
/// groups or conversations with new people, nor add anyone (seed 5.7).
pub fn check_not_guest(m: &Membership, what: &str) -> ServiceResult<()> {
    if m.is_guest { Err(ServiceError::forbidden(format!("guests cannot {what}"))) } else { Ok(()) }
}

/// Only the author edits a message.
pub fn check_can_edit(author: UserId, user: UserId) -> ServiceResult<()> {
    if author == user { Ok(()) } else { Err(ServiceError::forbidden("only the author can edit a message")) }
}

/// The author or a workspace admin deletes a message.
pub fn check_can_delete(m: &Membership, author: UserId, user: UserId) -> ServiceResult<()> {
    if author == user || m.is_admin() {
        Ok(())
    } else {
        Err(ServiceError::forbidden("only the author or a workspace admin can delete a message"))
    }
}

#[cfg(test)]
mod tests {
    use ocomms_domain::Role;

    use super::*;

    fn member(role: Role) -> Membership {
        Membership { role, is_guest: false, expires_at: None, guest_channel_ids: Vec::new() }
    }

    fn guest(channels: &[ChannelId]) -> Membership {
        Membership { role: Role::Member, is_guest: true, expires_at: None, guest_channel_ids: channels.to_vec() }
    }

    #[test]
    fn members_see_public_places_and_private_ones_they_belong_to() {
        let m = member(Role::Member);
        let c = Some(ChannelId::new());
        assert_eq!(sight(&m, c, false, false), Sight::Visible);
        assert_eq!(sight(&m, c, true, false), Sight::Hidden);
        assert_eq!(sight(&m, c, true, true), Sight::Visible);
        // A conversation is private.
        assert_eq!(sight(&m, None, true, false), Sight::Hidden);
        // Admins see no more private places than anyone.
        assert_eq!(sight(&member(Role::Owner), c, true, false), Sight::Hidden);
    }

    #[test]
    fn guests_see_only_given_channels_joined_once() {
        let (given, other) = (ChannelId::new(), ChannelId::new());
        let g = guest(&[given]);
        assert_eq!(sight(&g, Some(given), false, false), Sight::RedeemGrant);
        assert_eq!(sight(&g, Some(given), false, true), Sight::Visible);
        // Not given: hidden, public or not, member or not.
        assert_eq!(sight(&g, Some(other), false, false), Sight::Hidden);
        assert_eq!(sight(&g, Some(other), false, true), Sight::Hidden);
        // Conversations: only those they are in.
        assert_eq!(sight(&g, None, true, false), Sight::Hidden);
        assert_eq!(sight(&g, None, true, true), Sight::Visible);
    }

    #[test]
    fn managing_editing_and_deleting() {
        let (me, other) = (UserId::new(), UserId::new());
        assert!(check_can_edit(me, me).is_ok());
        assert!(check_can_edit(other, me).is_err(), "not even an admin edits another's words");
        assert!(check_can_delete(&member(Role::Member), other, me).is_err());
        assert!(check_can_delete(&member(Role::Admin), other, me).is_ok());
        assert!(check_manager(&member(Role::Member), None, me).is_err());
        assert!(check_manager(&member(Role::Owner), None, me).is_ok());
        assert!(check_admin(&member(Role::Member), "create categories").is_err());
        assert!(check_not_guest(&guest(&[]), "create channels").is_err());
        assert!(check_not_guest(&member(Role::Member), "create channels").is_ok());
    }
}
