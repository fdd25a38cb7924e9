//! Workspace roles and memberships. svc-auth owns them (its tables, its
//! role changes); every other service asks it, on the caller's behalf,
//! through [`membership`], and applies the same rules to the answer.

use chrono::{DateTime, Utc};
use ocomms_proto::auth::v1::GetMembershipRequest;
use ocomms_runtime::identity::{Identity, Principal};
use ocomms_runtime::ids::{UserId, WorkspaceId};
use ocomms_runtime::{ErrorCode, ServiceError, ServiceResult};
use tonic::metadata::MetadataMap;

use crate::ChannelId;

ocomms_runtime::text_enum!(
    /// Workspace roles, lowest to highest. A guest is a member with a flag
    /// ([`Membership::is_guest`]), not a role.
    #[derive(PartialOrd, Ord)]
    Role { Member = "member", Admin = "admin", Owner = "owner" }
);

impl Role {
    /// Admins and owners manage the workspace (seed 2.3).
    pub fn is_admin(self) -> bool {
        self >= Self::Admin
    }
}

/// A user's membership of a workspace, as svc-auth states it.
#[derive(Debug, Clone)]
pub struct Membership {
    pub role: Role,
    pub is_guest: bool,
    pub expires_at: Option<DateTime<Utc>>,
    /// For guests: the only channels they may see.
    pub guest_channel_ids: Vec<ChannelId>,
}

impl Membership {
    pub fn is_admin(&self) -> bool {
        self.role.is_admin()
    }

    /// Seed 5.7: a guest past expiry may read but not post.
    pub fn check_can_post(&self) -> ServiceResult<()> {
        if self.is_guest && self.expires_at.is_some_and(|e| e <= Utc::now()) {
            return Err(ServiceError::new(ErrorCode::GuestLocked, "guest access has expired"));
        }
        Ok(())
    }

    /// Whether this member may see a channel's existence at all: a guest
    /// only the channels they were given (seed 5.7); anyone else every
    /// channel the channel's own rules let them.
    pub fn may_see_channel(&self, channel: ChannelId) -> bool {
        !self.is_guest || self.guest_channel_ids.contains(&channel)
    }

    /// Reads svc-auth's answer; a role or id it should never send is an
    /// internal error, not a guess.
    pub fn from_proto(m: &ocomms_proto::auth::v1::Member) -> ServiceResult<Self> {
        let role = Role::parse(&m.role)
            .ok_or_else(|| ServiceError::internal(anyhow::anyhow!("svc-auth answered the unknown role {:?}", m.role)))?;
        let guest_channel_ids = m
            .guest_channel_ids
            .iter()
            .map(|c| c.parse().map_err(|_| ServiceError::internal(anyhow::anyhow!("svc-auth answered the malformed channel id {c:?}"))))
            .collect::<ServiceResult<_>>()?;
        Ok(Self {
            role,
            is_guest: m.is_guest,
            expires_at: m.expires_at.as_deref().and_then(|t| ocomms_runtime::time::parse("expiresAt", t).ok()),
            guest_channel_ids,
        })
    }
}

/// The caller's membership of a workspace, asked of svc-auth on their
/// behalf; NOT_FOUND when they have none (another tenant's resources do
/// not exist for them).
pub async fn membership(identity: &Identity, meta: &MetadataMap, ws: WorkspaceId) -> ServiceResult<Membership> {
    let req = identity.forward(meta, GetMembershipRequest { workspace_id: ws.to_string(), user_id: None });
    match identity.auth_client().get_membership(req).await {
        Ok(answer) => Membership::from_proto(answer.get_ref()),
        Err(s) => {
            let e = ServiceError::from_status(&s);
            Err(if e.code == ErrorCode::NotFound { ServiceError::not_found("workspace") } else { e })
        }
    }
}

/// The GDPR export's rule (seed 3.1), for svc-auth (which holds the roles)
/// and [`may_export`]: a member exports their own data; only an owner
/// exports another member's.
pub fn check_may_export(role: Role, caller: UserId, user: UserId) -> ServiceResult<()> {
    if caller == user || role == Role::Owner {
        Ok(())
    } else {
        Err(ServiceError::forbidden("only the member themselves or an owner of the workspace exports their data"))
    }
}

/// Who may export `user`'s data in `ws` (the GDPR export, seed 3.1): the
/// member themselves, or an owner of the workspace exporting one of its
/// current members. Another member gets 403; someone outside the
/// workspace, or a user who is not a member, 404. Answers `(ws, user)`
/// parsed.
pub async fn may_export(
    identity: &Identity,
    meta: &MetadataMap,
    caller: &Principal,
    ws: &str,
    user: &str,
) -> ServiceResult<(WorkspaceId, UserId)> {
    let ws: WorkspaceId = ocomms_runtime::ids::parse("workspaceId", ws)?;
    let user: UserId = ocomms_runtime::ids::parse("userId", user)?;
    let m = membership(identity, meta, ws).await?;
    check_may_export(m.role, caller.user_id, user)?;
    if caller.user_id != user {
        // The one exported must be a member of that workspace now.
        let req = identity.forward(meta, GetMembershipRequest { workspace_id: ws.to_string(), user_id: Some(user.to_string()) });
        if let Err(s) = identity.auth_client().get_membership(req).await {
            let e = ServiceError::from_status(&s);
            return Err(if e.code == ErrorCode::NotFound { ServiceError::not_found("member") } else { e });
        }
    }
    Ok((ws, user))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(role: &str, guest: bool, channels: &[ChannelId], expires: Option<&str>) -> ocomms_proto::auth::v1::Member {
        ocomms_proto::auth::v1::Member {
            role: role.into(),
            is_guest: guest,
            expires_at: expires.map(str::to_owned),
            guest_channel_ids: channels.iter().map(ToString::to_string).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn roles_order_and_admins() {
        assert!(Role::Owner > Role::Admin && Role::Admin > Role::Member);
        assert!(Role::Owner.is_admin() && Role::Admin.is_admin() && !Role::Member.is_admin());
        for r in [Role::Member, Role::Admin, Role::Owner] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("Owner"), None, "roles are lower case on the wire");
    }

    #[test]
    fn guests_see_only_their_channels_and_are_locked_after_expiry() {
        let (mine, other) = (ChannelId::new(), ChannelId::new());
        let guest = Membership::from_proto(&member("member", true, &[mine], Some("2000-01-01T00:00:00Z"))).expect("valid");
        assert!(guest.may_see_channel(mine) && !guest.may_see_channel(other));
        assert_eq!(guest.check_can_post().expect_err("expired").code, ErrorCode::GuestLocked);
        let later = Membership::from_proto(&member("member", true, &[mine], Some("2999-01-01T00:00:00Z"))).expect("valid");
        assert!(later.check_can_post().is_ok());
        let admin = Membership::from_proto(&member("admin", false, &[], None)).expect("valid");
        assert!(admin.is_admin() && admin.may_see_channel(other) && admin.check_can_post().is_ok());
    }

    #[test]
    fn members_export_themselves_and_owners_anyone() {
        let (me, other) = (UserId::new(), UserId::new());
        assert!(check_may_export(Role::Member, me, me).is_ok());
        assert!(check_may_export(Role::Owner, me, other).is_ok());
        assert_eq!(check_may_export(Role::Admin, me, other).expect_err("an admin").code, ErrorCode::Forbidden);
    }

    #[test]
    fn an_answer_svc_auth_should_never_send_is_refused() {
        assert_eq!(Membership::from_proto(&member("superuser", false, &[], None)).expect_err("role").code, ErrorCode::Internal);
        let mut bad = member("member", true, &[], None);
        bad.guest_channel_ids.push("not-an-id".into());
        assert_eq!(Membership::from_proto(&bad).expect_err("id").code, ErrorCode::Internal);
    }
}
