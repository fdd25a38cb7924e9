//! svc-files' jobs: `file.expire` (delayed: an upload never attached, the
//! files of a deleted message, a replaced avatar, a deleted emoji's image
//! are removed, objects first, and the quota credited), `file.thumbnail`
//! (an image attachment's thumbnail, off the request path) and svc-messaging's
//! `message.deleted` (the message's files become unreadable at once and
//! expire later).

use chrono::Utc;
use diesel_async::AsyncConnection;
use ocomms_proto::files::v1 as pb;
use ocomms_proto::files::v1::jobs as keys;
use ocomms_proto::messaging::v1 as m;
use ocomms_proto::messaging::v1::jobs::MESSAGE_DELETED;
use ocomms_runtime::db::Pool;
use ocomms_runtime::jobs::{self, Broker, Job, Relay};

use crate::domain::FileId;
use crate::storage::Storage;
use crate::store::{emoji, files};
use crate::{domain, images};

#[derive(Clone)]
pub struct Engine {
    pub pool: Pool,
    pub storage: Storage,
    pub relay: Relay,
    pub cleanup_after: chrono::Duration,
}

impl Engine {
    pub fn start(self, broker: &Broker) {
        let me = self.clone();
        broker.consume("files.expire", &[keys::EXPIRE], move |job| {
            let me = me.clone();
            async move { me.expire(job).await }
        });
        let me = self.clone();
        broker.consume("files.thumbnail", &[keys::THUMBNAIL], move |job| {
            let me = me.clone();
            async move { me.thumbnail(job).await }
        });
        broker.consume("files.message-deleted", &[MESSAGE_DELETED], move |job| {
            let me = self.clone();
            async move { me.message_deleted(job).await }
        });
    }

    async fn conn(&self) -> anyhow::Result<ocomms_runtime::db::Conn<'_>> {
        self.pool.get().await.map_err(|e| anyhow::anyhow!("{e}"))
    }

    async fn expire(&self, job: Job) -> anyhow::Result<()> {
        let j: pb::FileExpireJob = job.decode()?;
        let id: FileId = j.file_id.parse()?;
        let storage = self.storage.clone();
        let mut conn = self.conn().await?;
        conn.transaction::<_, anyhow::Error, _>(async |conn| {
            let Some(f) = files::lock(conn, id).await? else { return Ok(()) };
            let unused = match f.kind.as_str() {
                "attachment" => f.message_id.is_none() || f.orphaned_at.is_some(),
                "emoji" => !emoji::uses_file(conn, id).await?,
                "avatar" => files::is_replaced_avatar(conn, &f).await?,
                _ => false,
            };
            if !unused {
                return Ok(());
            }
            // Objects first: a crash after this finds the row and does it again.
            storage.delete(&f.storage_key).await?;
            if let Some(t) = &f.thumbnail_key {
                storage.delete(t).await?;
            }
            files::delete(conn, id).await?;
            files::credit(conn, f.uploaded_by, f.size).await?;
            Ok(())
        })
        .await
    }

    async fn thumbnail(&self, job: Job) -> anyhow::Result<()> {
        let j: pb::FileThumbnailJob = job.decode()?;
        let id: FileId = j.file_id.parse()?;
        let mut conn = self.conn().await?;
        let Some(f) = files::get(&mut conn, id).await? else { return Ok(()) };
        drop(conn);
        if f.thumbnail_key.is_some() || !domain::is_image(&f.mime_type) {
            return Ok(());
        }
        let max = usize::try_from(domain::Kind::Attachment.max_bytes())?;
        let bytes = self.storage.read_all(&f.storage_key, max).await?;
        let Some((thumb, mime)) = images::thumbnail(bytes).await else {
            tracing::info!(file = %id, "no thumbnail for this image (unreadable or past the pixel budget)");
            return Ok(());
        };
        let key = format!("{}.thumb.{}", f.storage_key, if mime == "image/png" { "png" } else { "jpg" });
        self.storage.put(&key, mime, thumb).await?;
        let mut conn = self.conn().await?;
        files::set_thumbnail(&mut conn, id, &key).await?;
        Ok(())
    }

    async fn message_deleted(&self, job: Job) -> anyhow::Result<()> {
        let j: m::MessageDeletedJob = job.decode()?;
        let message = j.message_id.parse()?;
        let later = Utc::now() + self.cleanup_after;
        let mut conn = self.conn().await?;
        let done = jobs::once(&mut conn, &job.id, move |conn| {
            Box::pin(async move {
                for id in files::orphan_message_files(conn, message).await? {
                    let job = pb::FileExpireJob { file_id: id.to_string() };
                    jobs::enqueue(conn, keys::EXPIRE, &serde_json::to_value(&job)?, Some(later)).await?;
                }
                Ok(())
            })
        })
        .await?;
        if done.is_some() {
            self.relay.wake();
        }
        Ok(())
    }
}
