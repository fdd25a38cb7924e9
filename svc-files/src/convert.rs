//! Rows to protos.

use ocomms_proto::files::v1 as pb;
use ocomms_runtime::time::rfc3339;

use crate::domain;
use crate::store::emoji::Emoji;
use crate::store::files::File;

pub fn file(f: &File) -> pb::File {
    pb::File {
        id: f.id.to_string(),
        url: domain::url(f.id),
        filename: f.filename.clone(),
        size: f.size,
        mime_type: f.mime_type.clone(),
        thumbnail_url: (f.kind == domain::Kind::Attachment && domain::is_image(&f.mime_type)).then(|| domain::thumbnail_url(f.id)),
        kind: f.kind.to_string(),
        workspace_id: f.workspace_id.map(|w| w.to_string()),
        created_at: rfc3339(f.created_at),
    }
}

pub fn emoji(e: &Emoji) -> pb::Emoji {
    pb::Emoji {
        id: e.id.to_string(),
        workspace_id: e.workspace_id.to_string(),
        name: e.name.clone(),
        url: domain::url(e.file_id),
        is_animated: e.is_animated,
        created_by: e.uploaded_by.to_string(),
        created_at: rfc3339(e.created_at),
        file_id: e.file_id.to_string(),
    }
}
