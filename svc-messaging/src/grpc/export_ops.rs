//! The GDPR export's part held here (seed 3.1): what a member wrote in a
//! workspace, and their personal note.

use ocomms_domain::MessageId;
use ocomms_proto::messaging::v1 as pb;
use ocomms_runtime::ServiceResult;
use ocomms_runtime::ids::{self};
use tonic::Request;

use super::{MessagingApi, messages_pb};
use crate::store::messages as store;
use crate::store::notes;
use ocomms_runtime::identity::caller;

/// Messages per export page: 100 by default, at most 500.
const EXPORT_PAGE: ocomms_runtime::paging::PageSize = ocomms_runtime::paging::PageSize::new(100, 500);
/// A page stops growing past this many bytes of text (a message is at
/// most 40,000 characters: 500 of them could otherwise make 80 MB).
const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;

impl MessagingApi {
    pub(crate) async fn export_messages(&self, req: Request<pb::ExportMessagesRequest>) -> ServiceResult<pb::MessageExportPage> {
        let r = req.get_ref();
        let limit = EXPORT_PAGE.of(r.limit)?;
        let after: Option<MessageId> = ids::parse_opt("afterId", r.after_id.as_deref())?;
        let me = caller(&req)?;
        let (ws, user) =
            ocomms_domain::membership::may_export(&self.access.identity, req.metadata(), &me, &r.workspace_id, &r.user_id).await?;
        let mut conn = self.conn().await?;
        let mut rows = store::by_author(&mut conn, ws, user, after, i64::from(limit) + 1).await?;
        let mut has_more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let mut bytes = 0;
        if let Some(cut) = rows.iter().position(|m| {
            bytes += m.content.len();
            bytes > MAX_PAGE_BYTES
        }) {
            // Always at least one message, so that the export moves on.
            rows.truncate(cut.max(1));
            has_more = true;
        }
        let mut messages = messages_pb(&mut conn, &rows).await?;
        // Of reactions, the export keeps the member's own: who else reacted
        // is not their data.
        let me = user.to_string();
        for m in &mut messages {
            for r in &mut m.reactions {
                r.user_ids.retain(|u| *u == me);
            }
        }
        // The note comes with the first page.
        let personal_note = if after.is_none() {
            let note = notes::personal(&mut conn, user, ws).await?;
            Some(crate::convert::note_pb(&note, None, Some(ws)))
        } else {
            None
        };
        Ok(pb::MessageExportPage { messages, has_more, personal_note })
    }
}
