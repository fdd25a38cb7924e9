//! Custom emoji, and attachments claimed by messages.

use chrono::Utc;
use diesel_async::AsyncConnection;
use ocomms_domain::MessageId;
use ocomms_proto::files::v1 as pb;
use ocomms_proto::files::v1::jobs as keys;
use ocomms_runtime::identity::has_service_credential;
use ocomms_runtime::ids::{self, WorkspaceId};
use ocomms_runtime::{ServiceError, ServiceResult, jobs};
use tonic::Request;

use super::FilesApi;
use crate::convert;
use crate::domain::FileId;
use crate::store::{emoji, files};
use ocomms_runtime::identity::caller;

impl FilesApi {
    pub(super) async fn list_emoji(&self, req: Request<pb::ListEmojiRequest>) -> ServiceResult<pb::ListEmojiResponse> {
        let ws: WorkspaceId = ids::parse("workspaceId", &req.get_ref().workspace_id)?;
        ocomms_domain::membership::membership(&self.identity, req.metadata(), ws).await?;
        let mut conn = self.conn().await?;
        Ok(pb::ListEmojiResponse { emoji: emoji::list(&mut conn, ws).await?.iter().map(convert::emoji).collect() })
    }

    pub(super) async fn delete_emoji(&self, req: Request<pb::DeleteEmojiRequest>) -> ServiceResult<pb::DeleteEmojiResponse> {
        let p = caller(&req)?;
        let r = req.get_ref();
        let ws: WorkspaceId = ids::parse("workspaceId", &r.workspace_id)?;
        let m = ocomms_domain::membership::membership(&self.identity, req.metadata(), ws).await?;
        let mut conn = self.conn().await?;
        let e = emoji::get(&mut conn, ws, r.name.trim()).await?.ok_or_else(|| ServiceError::not_found("emoji"))?;
        crate::policy::check_may_remove_emoji(&m, e.uploaded_by, p.user_id)?;
        conn.transaction::<_, ServiceError, _>(async |conn| {
            emoji::delete(conn, e.id).await?;
            // Its image goes now (nothing refers to it any more).
            let job = pb::FileExpireJob { file_id: e.file_id.to_string() };
            jobs::enqueue(conn, keys::EXPIRE, &job, Some(Utc::now())).await?;
            Ok(())
        })
        .await?;
        self.relay.wake();
        Ok(pb::DeleteEmojiResponse {})
    }

    /// Internal: svc-messaging attaches the sender's uploads to a message.
    pub(super) async fn claim_attachments(&self, req: Request<pb::ClaimAttachmentsRequest>) -> ServiceResult<pb::ClaimAttachmentsResponse> {
        if !has_service_credential(req.metadata(), self.identity.service_token()) {
            return Err(ServiceError::forbidden("internal call"));
        }
        let p = caller(&req)?;
        let r = req.get_ref();
        let message: MessageId = ids::parse("messageId", &r.message_id)?;
        let ws: WorkspaceId = ids::parse("workspaceId", &r.workspace_id)?;
        let mut ids_in: Vec<FileId> = Vec::with_capacity(r.file_ids.len());
        for raw in &r.file_ids {
            let id: FileId = ids::parse("attachmentIds", raw)?;
            if !ids_in.contains(&id) {
                ids_in.push(id);
            }
        }
        if ids_in.len() > 10 {
            return Err(ServiceError::validation("attachmentIds", "at most 10 attachments per message"));
        }
        let mut conn = self.conn().await?;
        let user = p.user_id;
        // All or nothing: a refused claim rolls back the others.
        let claimed = conn
            .transaction::<_, ServiceError, _>(async |conn| {
                files::claim(conn, &ids_in, user, ws, message)
                    .await?
                    .ok_or_else(|| ServiceError::not_found("attachment").with_details(serde_json::json!({ "field": "attachmentIds" })))
            })
            .await?;
        Ok(pb::ClaimAttachmentsResponse { files: claimed.iter().map(convert::file).collect() })
    }
}
