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
use tonic::{Request, Response, Status, Streaming};

use crate::storage::Storage;
use crate::store;

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
        let p = self.identity.principal(req.metadata()).await?;
        let mut conn = self.conn().await?;
        Ok(pb::StorageUsage { used: store::files::used(&mut conn, p.user_id).await?, quota: self.quota_bytes })
    }

    /// GDPR export (seed 3.1): the member's files of the workspace, their
    /// account-wide avatars and, for themselves, uploads not attached yet,
    /// with download URLs.
    async fn export_files(&self, req: Request<pb::ExportUserRequest>) -> ServiceResult<pb::FileExport> {
        let r = req.get_ref();
        let (caller, ws, user) = self.identity.may_export(req.metadata(), &r.workspace_id, &r.user_id).await?;
        let mut conn = self.conn().await?;
        // Uploads not attached anywhere yet belong to no workspace: only the
        // user themselves gets those.
        let files = store::files::uploaded_by(&mut conn, user, ws, caller.user_id == user).await?;
        Ok(pb::FileExport { files: files.iter().map(crate::convert::file).collect() })
    }
}

pub type DownloadStream = Pin<Box<dyn Stream<Item = Result<pb::DownloadResponse, Status>> + Send>>;

fn answer<T>(r: ServiceResult<T>) -> Result<Response<T>, Status> {
    r.map(Response::new).map_err(Into::into)
}

#[tonic::async_trait]
impl pb::files_service_server::FilesService for FilesApi {
    type DownloadStream = DownloadStream;

    async fn get_storage_usage(&self, req: Request<pb::GetStorageUsageRequest>) -> Result<Response<pb::StorageUsage>, Status> {
        answer(FilesApi::get_storage_usage(self, req).await)
    }

    async fn upload(&self, req: Request<Streaming<pb::UploadRequest>>) -> Result<Response<pb::UploadResponse>, Status> {
        answer(FilesApi::upload(self, req).await)
    }

    async fn download(&self, req: Request<pb::DownloadRequest>) -> Result<Response<DownloadStream>, Status> {
        answer(FilesApi::download(self, req).await)
    }

    async fn list_emoji(&self, req: Request<pb::ListEmojiRequest>) -> Result<Response<pb::ListEmojiResponse>, Status> {
        answer(FilesApi::list_emoji(self, req).await)
    }

    async fn delete_emoji(&self, req: Request<pb::DeleteEmojiRequest>) -> Result<Response<pb::DeleteEmojiResponse>, Status> {
        answer(FilesApi::delete_emoji(self, req).await)
    }

    async fn claim_attachments(&self, req: Request<pb::ClaimAttachmentsRequest>) -> Result<Response<pb::ClaimAttachmentsResponse>, Status> {
        answer(FilesApi::claim_attachments(self, req).await)
    }

    async fn export_files(&self, req: Request<pb::ExportUserRequest>) -> Result<Response<pb::FileExport>, Status> {
        answer(FilesApi::export_files(self, req).await)
    }
}

/// A status from a client stream, as an error of ours.
fn stream_error(s: &Status) -> ServiceError {
    ServiceError::from_status(s)
}
