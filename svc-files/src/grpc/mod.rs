//! `ocomms.files.v1.FilesService`: decode, resolve the caller, ask the
//! policy, call the store and the storage, encode. One file per area.

mod download_ops;
mod emoji_ops;
mod upload_ops;

use std::pin::Pin;

use futures_util::Stream;
use ocomms_proto::auth::v1::auth_service_client::AuthServiceClient;
use ocomms_proto::files::v1 as pb;
use ocomms_proto::messaging::v1::messaging_service_client::MessagingServiceClient;
use ocomms_runtime::db::{Conn, Pool};
use ocomms_runtime::identity::Identity;
use ocomms_runtime::jobs::Relay;
use ocomms_runtime::{ServiceError, ServiceResult};
use tonic::transport::Channel;
use tonic::{Request, Status, Streaming};

use crate::storage::Storage;
use crate::store;
use ocomms_runtime::identity::caller;

pub struct FilesApi {
    pub pool: Pool,
    pub identity: Identity,
    pub messaging: MessagingServiceClient<Channel>,
    pub auth: AuthServiceClient<Channel>,
    pub storage: Storage,
    pub quota_bytes: i64,
    pub cleanup_after: chrono::Duration,
    pub relay: Relay,
}

impl FilesApi {
    async fn conn(&self) -> ServiceResult<Conn<'_>> {
        Ok(self.pool.get().await?)
    }

    async fn get_storage_usage(&self, req: Request<pb::GetStorageUsageRequest>) -> ServiceResult<pb::StorageUsage> {
        let p = caller(&req)?;
        let mut conn = self.conn().await?;
        Ok(pb::StorageUsage { used: store::files::used(&mut conn, p.user_id).await?, quota: self.quota_bytes })
    }

    /// GDPR export (seed 3.1): the member's files of the workspace, their
    /// account-wide avatars and, for themselves, uploads not attached yet,
    /// with download URLs.
    async fn export_files(&self, req: Request<pb::ExportUserRequest>) -> ServiceResult<pb::FileExport> {
        let r = req.get_ref();
        let me = caller(&req)?;
        let (ws, user) = ocomms_domain::membership::may_export(&self.identity, req.metadata(), &me, &r.workspace_id, &r.user_id).await?;
        let mut conn = self.conn().await?;
        // Uploads not attached anywhere yet belong to no workspace: only the
        // user themselves gets those.
        let files = store::files::uploaded_by(&mut conn, user, ws, me.user_id == user).await?;
        Ok(pb::FileExport { files: files.iter().map(crate::convert::file).collect() })
    }
}

pub type DownloadStream = Pin<Box<dyn Stream<Item = Result<pb::DownloadResponse, Status>> + Send>>;

impl ocomms_runtime::identity::ServesCallers for FilesApi {
    fn callers(&self) -> &dyn ocomms_runtime::identity::Callers {
        &self.identity
    }
}

ocomms_runtime::grpc_service!(pb::files_service_server::FilesService, FilesApi, type DownloadStream = DownloadStream; {
    get_storage_usage(pb::GetStorageUsageRequest) -> pb::StorageUsage;
    upload(Streaming<pb::UploadRequest>) -> pb::UploadResponse;
    download(pb::DownloadRequest) -> DownloadStream;
    list_emoji(pb::ListEmojiRequest) -> pb::ListEmojiResponse;
    delete_emoji(pb::DeleteEmojiRequest) -> pb::DeleteEmojiResponse;
    claim_attachments(pb::ClaimAttachmentsRequest) -> pb::ClaimAttachmentsResponse;
    export_files(pb::ExportUserRequest) -> pb::FileExport;
});

/// A status from a client stream, as an error of ours.
fn stream_error(s: &Status) -> ServiceError {
    ServiceError::from_status(s)
}
