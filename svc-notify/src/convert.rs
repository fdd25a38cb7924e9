//! Rows into protos.

use ocomms_proto::notify::v1 as pb;
use ocomms_runtime::time::rfc3339;

use crate::store::notifications::Row;
use crate::store::settings::ChannelRow;

pub fn notification(r: Row) -> pb::Notification {
    pb::Notification {
        id: r.id.to_string(),
        r#type: r.r#type,
        title: r.title,
        body: r.body,
        data: r.data.to_string(),
        is_read: r.is_read,
        created_at: rfc3339(r.created_at),
    }
}

pub fn channel_settings(r: ChannelRow) -> pb::ChannelSettings {
    pb::ChannelSettings { channel_id: r.channel_id.to_string(), level: r.level.to_string(), muted: r.muted }
}
