//! The GDPR export's part held here (seed 3.1): what a member wrote in a
//! workspace, and their personal note.

use ocomms_proto::messaging::v1 as pb;
use ocomms_runtime::ids::{self, MessageId};
use ocomms_runtime::time::opt_rfc3339;
use ocomms_runtime::{ServiceError, ServiceResult};
use tonic::Request;

use super::{MessagingApi, messages_pb};
use crate::store::messages as store;
use crate::store::notes;

const MAX_PAGE: u32 = 500;

impl MessagingApi {
    pub(crate) async fn export_messages(&self, req: Request<pb::ExportMessagesRequest>) -> ServiceResult<pb::MessageExportPage> {
        let r = req.get_ref();
        let limit = match r.limit {
            None | Some(0) => MAX_PAGE,
            Some(l) if l > MAX_PAGE => return Err(ServiceError::validation("limit", format!("must be at most {MAX_PAGE}"))),
            Some(l) => l,
        };
        let after: Option<MessageId> = ids::parse_opt("afterId", r.after_id.as_deref())?;
        let (_, ws, user) = self.access.identity.may_export(req.metadata(), &r.workspace_id, &r.user_id).await?;
        let mut conn = self.conn().await?;
        let mut rows = store::by_author(&mut conn, ws, user, after, i64::from(limit) + 1).await?;
        let has_more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let messages = messages_pb(&mut conn, &rows).await?;
        let note = notes::personal(&mut conn, user, ws).await?;
        let personal_note = pb::Note {
            content: note.content,
            version: note.version,
            channel_id: None,
            workspace_id: Some(ws.to_string()),
            updated_at: opt_rfc3339(note.updated_at),
            updated_by: None,
        };
        Ok(pb::MessageExportPage { messages, has_more, personal_note: Some(personal_note) })
    }
}
