//! Who may do what in svc-auth (`docs/permissions.md`), decided on
//! memberships already loaded; handlers load, ask, then write.

use ocomms_runtime::{ServiceError, ServiceResult};

use crate::domain::{JoinPolicy, Role};
use crate::store::workspaces::Member;

/// Admins and owners manage the workspace; a guest never does, whatever
/// their role.
pub fn check_admin(m: &Member, what: &str) -> ServiceResult<()> {
    if m.role.is_admin() && !m.is_guest { Ok(()) } else { Err(ServiceError::forbidden(format!("only admins and owners can {what}"))) }
}

/// Owners only: the audit log, exporting someone else's data.
pub fn check_owner(m: &Member, what: &str) -> ServiceResult<()> {
    if m.role == Role::Owner { Ok(()) } else { Err(ServiceError::forbidden(format!("only owners can {what}"))) }
}

/// Admins invite members; only owners invite admins.
pub fn check_may_invite(m: &Member, role: Role) -> ServiceResult<()> {
    check_admin(m, "invite")?;
    if role == Role::Admin && m.role != Role::Owner {
        return Err(ServiceError::forbidden("only owners can invite admins"));
    }
    Ok(())
}

/// Owners manage everyone; admins move people between member and admin
/// but never touch owners. (The last owner is protected separately, with
/// the owners locked in the database.)
pub fn check_role_change(actor: Role, current: Role, to: Role) -> ServiceResult<()> {
    match actor {
        Role::Owner => Ok(()),
        Role::Admin if current != Role::Owner && to != Role::Owner => Ok(()),
        Role::Admin => Err(ServiceError::forbidden("only owners can change owners or make new ones")),
        Role::Member => Err(ServiceError::forbidden("only admins and owners can change roles")),
    }
}

/// Whether `actor` may remove a member whose role is `target` (leaving
/// oneself is always allowed, bar the last owner).
pub fn check_removal(actor: Role, target: Role, is_self: bool) -> ServiceResult<()> {
    if is_self {
        return Ok(());
    }
    match actor {
        Role::Owner => Ok(()),
        Role::Admin if target == Role::Member => Ok(()),
        Role::Admin => Err(ServiceError::forbidden("admins can remove members only")),
        Role::Member => Err(ServiceError::forbidden("only admins and owners can remove members")),
    }
}

/// A workspace keeps an owner: the last one can neither step down nor
/// leave (`owners` locked by the caller's transaction).
pub fn check_keeps_an_owner(current: Role, to: Option<Role>, owners: usize, leaving: bool) -> ServiceResult<()> {
    if current == Role::Owner && to != Some(Role::Owner) && owners <= 1 {
        return Err(ServiceError::conflict(if leaving {
            "the last owner cannot leave: make someone else owner first"
        } else {
            "a workspace needs an owner: make someone else owner first"
        }));
    }
    Ok(())
}

/// What asking to join a workspace does, by its policy (seed 2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinOutcome {
    /// Invite only: the workspace is not discoverable (404, as for none).
    Hidden,
    /// A request admins decide.
    Request,
    /// A membership at once.
    Join,
}

pub fn join_outcome(policy: JoinPolicy) -> JoinOutcome {
    match policy {
        JoinPolicy::Invite => JoinOutcome::Hidden,
        JoinPolicy::Request => JoinOutcome::Request,
        JoinPolicy::Open => JoinOutcome::Join,
    }
}

#[cfg(test)]
mod tests {
    use ocomms_runtime::ids::{UserId, WorkspaceId};

    use super::*;

    fn member(role: Role, is_guest: bool) -> Member {
        Member {
            workspace_id: WorkspaceId::new(),
            user_id: UserId::new(),
            role,
            is_guest,
            expires_at: None,
            created_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn role_changes_follow_the_table() {
        use Role::*;
        assert!(check_role_change(Owner, Owner, Member).is_ok());
        assert!(check_role_change(Admin, Member, Admin).is_ok());
        assert!(check_role_change(Admin, Admin, Member).is_ok());
        assert!(check_role_change(Admin, Owner, Member).is_err());
        assert!(check_role_change(Admin, Member, Owner).is_err());
        assert!(check_role_change(Member, Member, Admin).is_err());
        assert!(check_removal(Member, Owner, true).is_ok());
        assert!(check_removal(Admin, Member, false).is_ok());
        assert!(check_removal(Admin, Admin, false).is_err());
        assert!(check_removal(Owner, Admin, false).is_ok());
        assert!(check_removal(Member, Member, false).is_err());
    }

    #[test]
    fn admins_invite_members_owners_invite_admins_guests_nobody() {
        assert!(check_may_invite(&member(Role::Admin, false), Role::Member).is_ok());
        assert!(check_may_invite(&member(Role::Admin, false), Role::Admin).is_err());
        assert!(check_may_invite(&member(Role::Owner, false), Role::Admin).is_ok());
        assert!(check_may_invite(&member(Role::Member, false), Role::Member).is_err());
        assert!(check_may_invite(&member(Role::Admin, true), Role::Member).is_err(), "a guest, whatever the role");
        assert!(check_owner(&member(Role::Admin, false), "read the audit log").is_err());
        assert!(check_owner(&member(Role::Owner, false), "read the audit log").is_ok());
    }

    #[test]
    fn the_last_owner_stays_and_policies_decide_joins() {
        assert!(check_keeps_an_owner(Role::Owner, Some(Role::Admin), 1, false).is_err());
        assert!(check_keeps_an_owner(Role::Owner, None, 1, true).is_err());
        assert!(check_keeps_an_owner(Role::Owner, None, 2, true).is_ok());
        assert!(check_keeps_an_owner(Role::Owner, Some(Role::Owner), 1, false).is_ok());
        assert!(check_keeps_an_owner(Role::Admin, None, 1, true).is_ok());
        assert_eq!(join_outcome(JoinPolicy::Invite), JoinOutcome::Hidden);
        assert_eq!(join_outcome(JoinPolicy::Request), JoinOutcome::Request);
        assert_eq!(join_outcome(JoinPolicy::Open), JoinOutcome::Join);
    }
}
