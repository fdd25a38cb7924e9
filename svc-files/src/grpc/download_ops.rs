//! Downloads: the policy decides who reads; the bytes stream from storage.

use futures_util::StreamExt;
use ocomms_proto::files::v1 as pb;
use ocomms_runtime::ids;
use ocomms_runtime::{ServiceError, ServiceResult};
use tonic::{Request, Status};

use super::{DownloadStream, FilesApi};
use crate::domain::FileId;
use crate::policy;
use crate::store::files;
use ocomms_runtime::identity::caller;

/// Thumbnails are small; they are read whole.
const MAX_THUMBNAIL_BYTES: usize = 4 * 1024 * 1024;

impl FilesApi {
    pub(super) async fn download(&self, req: Request<pb::DownloadRequest>) -> ServiceResult<DownloadStream> {
        let p = caller(&req)?;
        let r = req.get_ref();
        let id: FileId = ids::parse("fileId", &r.file_id)?;
        let mut conn = self.conn().await?;
        let f = files::get(&mut conn, id).await?.ok_or_else(|| ServiceError::not_found("file"))?;
        drop(conn);
        policy::can_read(&self.identity, &self.messaging, req.metadata(), &p, &f).await?;

        if r.thumbnail
            && let Some(key) = &f.thumbnail_key
        {
            let bytes = self.storage.read_all(key, MAX_THUMBNAIL_BYTES).await.map_err(ServiceError::unavailable)?;
            let mime = if key.ends_with(".png") { "image/png" } else { "image/jpeg" };
            let size = i64::try_from(bytes.len()).map_err(ServiceError::internal)?;
            let info = pb::DownloadInfo {
                filename: f.filename.clone(),
                mime_type: mime.to_owned(),
                size,
                start: 0,
                end: size - 1,
                partial: false,
            };
            let items =
                vec![Ok(pb::DownloadResponse { info: Some(info), data: Vec::new() }), Ok(pb::DownloadResponse { info: None, data: bytes })];
            return Ok(Box::pin(futures_util::stream::iter(items)));
        }

        // A range past the end is answered with start > end and no bytes.
        let size = f.size;
        let range = match (r.range_start, r.range_end) {
            (None, None) => None,
            (start, end) => {
                let start = start.unwrap_or(0);
                let end = end.unwrap_or(size - 1).min(size - 1);
                if start < 0 || start > end {
                    let info =
                        pb::DownloadInfo { filename: f.filename, mime_type: f.mime_type, size, start: size, end: size - 1, partial: true };
                    return Ok(Box::pin(futures_util::stream::iter(vec![Ok(pb::DownloadResponse { info: Some(info), data: Vec::new() })])));
                }
                Some((start, end))
            }
        };
        let (start, end) = range.unwrap_or((0, size - 1));
        let body = if size == 0 {
            Box::pin(futures_util::stream::empty()) as crate::storage::ByteChunks
        } else {
            let r = range.map(|(s, e)| (u64::try_from(s).unwrap_or(0), u64::try_from(e).unwrap_or(0)));
            self.storage.read(&f.storage_key, r).await.map_err(ServiceError::unavailable)?
        };
        let info = pb::DownloadInfo { filename: f.filename, mime_type: f.mime_type, size, start, end, partial: range.is_some() };
        let head = futures_util::stream::once(async move { Ok(pb::DownloadResponse { info: Some(info), data: Vec::new() }) });
        let chunks = body.map(|c| match c {
            Ok(b) => Ok(pb::DownloadResponse { info: None, data: b.to_vec() }),
            Err(e) => {
                tracing::warn!(error = %e, "reading a stored file failed");
                Err(Status::unavailable("the file could not be read"))
            }
        });
        Ok(Box::pin(head.chain(chunks)))
    }
}
