//! svc-messaging's rows as the protos carry them.

use ocomms_domain::ChannelId;
use ocomms_proto::messaging::v1 as pb;
use ocomms_runtime::ids::{UserId, WorkspaceId};
use ocomms_runtime::time::{opt_rfc3339, rfc3339};

use crate::store::channels::Channel;
use crate::store::conversations::{self, Conversation};
use crate::store::groups::Group;
use crate::store::messages::Message;
use crate::store::notes::Note;

pub fn channel_pb(c: &Channel, is_member: bool, member_count: i64, unread: i64) -> pb::Channel {
    pb::Channel {
        id: c.id.to_string(),
        workspace_id: c.workspace_id.to_string(),
        name: c.name.clone(),
        description: c.description.clone(),
        is_private: c.is_private,
        is_archived: c.is_archived,
        category_id: c.category_id.map(|id| id.to_string()),
        created_by: c.created_by.to_string(),
        created_at: rfc3339(c.created_at),
        is_member,
        member_count,
        last_sequence: c.last_seq,
        unread_count: unread,
        topic: c.topic.clone(),
    }
}

pub fn conversation_pb(c: &Conversation, unread: i64) -> pb::Conversation {
    let participants = conversations::people(c);
    pb::Conversation {
        id: c.id.to_string(),
        workspace_id: c.workspace_id.to_string(),
        participant_ids: participants.iter().map(ToString::to_string).collect(),
        created_at: rfc3339(c.created_at),
        last_sequence: c.last_seq,
        unread_count: unread,
    }
}

pub fn group_pb(g: &Group, members: &[UserId]) -> pb::Group {
    pb::Group {
        id: g.id.to_string(),
        workspace_id: g.workspace_id.to_string(),
        handle: g.handle.clone(),
        name: g.name.clone(),
        member_ids: members.iter().map(ToString::to_string).collect(),
        created_by: g.created_by.to_string(),
        created_at: rfc3339(g.created_at),
    }
}

pub fn message_pb(m: &Message, reactions: Vec<pb::Reaction>) -> pb::Message {
    pb::Message {
        id: m.id.to_string(),
        channel_id: m.channel_id.map(|c| c.to_string()),
        conversation_id: m.conversation_id.map(|c| c.to_string()),
        author_id: m.author_id.to_string(),
        // Seed 5.8: a deleted message keeps its place; its text does not.
        content: if m.is_deleted { "[deleted]".into() } else { m.content.clone() },
        parent_id: m.parent_id.map(|p| p.to_string()),
        sequence: m.sequence,
        reply_count: i64::from(m.reply_count),
        reactions: if m.is_deleted { Vec::new() } else { reactions },
        attachments: if m.is_deleted { Vec::new() } else { serde_json::from_value(m.attachments.clone()).unwrap_or_default() },
        is_deleted: m.is_deleted,
        created_at: rfc3339(m.created_at),
        updated_at: rfc3339(m.updated_at),
        edited_at: opt_rfc3339(m.edited_at),
        client_msg_id: m.client_msg_id.clone(),
        link_previews: if m.is_deleted { Vec::new() } else { serde_json::from_value(m.link_previews.clone()).unwrap_or_default() },
    }
}

pub fn note_pb(n: &Note, channel: Option<ChannelId>, ws: Option<WorkspaceId>) -> pb::Note {
    pb::Note {
        content: n.content.clone(),
        version: n.version,
        channel_id: channel.map(|c| c.to_string()),
        workspace_id: ws.map(|w| w.to_string()),
        updated_at: opt_rfc3339(n.updated_at),
        updated_by: n.updated_by.map(|u| u.to_string()),
    }
}

pub fn category(id: impl ToString, ws: WorkspaceId, name: String, position: i32) -> pb::Category {
    pb::Category { id: id.to_string(), workspace_id: ws.to_string(), name, position }
}
