//! svc-auth's rows as the protos carry them.

use ocomms_proto::auth::v1 as pb;
use ocomms_runtime::time::{opt_rfc3339, rfc3339};

use crate::domain::Role;
use crate::store::sessions::Session;
use crate::store::users::User;
use crate::store::workspaces::{Invite, JoinRequest, Member, Workspace};

pub(crate) fn user_pb(u: &User) -> pb::User {
    pb::User {
        id: u.id.to_string(),
        email: u.email.clone(),
        name: u.name.clone(),
        email_verified: u.email_verified,
        image: u.image.clone(),
        created_at: rfc3339(u.created_at),
    }
}

pub(crate) fn session_pb(s: &Session, current: bool) -> pb::Session {
    pb::Session {
        id: s.id.to_string(),
        user_id: s.user_id.to_string(),
        expires_at: rfc3339(s.expires_at),
        ip_address: s.ip_address.clone(),
        user_agent: s.user_agent.clone(),
        created_at: rfc3339(s.created_at),
        current,
    }
}

pub(crate) fn workspace_pb(w: &Workspace, role: Role) -> pb::Workspace {
    pb::Workspace {
        id: w.id.to_string(),
        name: w.name.clone(),
        slug: w.slug.clone(),
        logo: w.logo.clone(),
        join_policy: w.join_policy.to_string(),
        created_at: rfc3339(w.created_at),
        role: role.to_string(),
    }
}

pub(crate) fn member_pb(m: &Member, name: &str, email: &str) -> pb::Member {
    pb::Member {
        user_id: m.user_id.to_string(),
        workspace_id: m.workspace_id.to_string(),
        role: m.role.to_string(),
        is_guest: m.is_guest,
        expires_at: opt_rfc3339(m.expires_at),
        created_at: rfc3339(m.created_at),
        name: name.to_owned(),
        email: email.to_owned(),
        guest_channel_ids: Vec::new(),
    }
}

pub(crate) fn join_request_pb(r: &JoinRequest, name: &str, email: &str) -> pb::JoinRequest {
    pb::JoinRequest {
        id: r.id.to_string(),
        workspace_id: r.workspace_id.to_string(),
        user_id: r.user_id.to_string(),
        status: r.status.to_string(),
        created_at: rfc3339(r.created_at),
        decided_at: opt_rfc3339(r.decided_at),
        name: name.to_owned(),
        email: email.to_owned(),
    }
}

pub(crate) fn invite_pb(i: &Invite, token: String) -> pb::Invite {
    pb::Invite {
        id: i.id.to_string(),
        workspace_id: i.workspace_id.to_string(),
        token,
        email: i.email.clone(),
        role: i.role.to_string(),
        expires_at: rfc3339(i.expires_at),
        created_at: rfc3339(i.created_at),
        is_guest: i.is_guest,
        channel_ids: i.channel_ids.iter().map(ToString::to_string).collect(),
        guest_expires_at: opt_rfc3339(i.guest_expires_at),
        max_uses: i.max_uses,
        // The gateway adds the link, from its public URL.
        url: String::new(),
    }
}
