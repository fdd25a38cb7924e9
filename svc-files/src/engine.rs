//! svc-files' jobs: `file.expire` (delayed: an upload never attached, the
//! files of a deleted message, a replaced avatar, a deleted emoji's image
//! are removed, objects first, and the quota credited), `file.thumbnail`
//! (an image attachment's thumbnail, off the request path), and svc-messaging's
//! `message.deleted` (the message's files become unreadable at once and
//! expire later) and `message.links` (link previews, fetched and handed
//! back with `SetLinkPreviews`).

use chrono::Utc;
use diesel_async::AsyncConnection;
use ocomms_proto::files::v1 as pb;
use ocomms_proto::files::v1::jobs as keys;
use ocomms_proto::messaging::v1 as m;
use ocomms_proto::messaging::v1::jobs::{MESSAGE_DELETED, MESSAGE_LINKS};
use ocomms_proto::messaging::v1::messaging_service_client::MessagingServiceClient;
use ocomms_runtime::db::Pool;
use ocomms_runtime::jobs::{self, Broker, Job, Relay};
use tonic::transport::Channel;

use crate::domain::{FileId, Kind};
use crate::storage::Storage;
use crate::store::previews as previews_store;
use crate::store::{emoji, files};
use crate::{domain, images, previews};

/// How long a fetched preview is reused for the same URL.
const PREVIEW_LIFETIME_HOURS: i64 = 24;

#[derive(Clone)]
pub struct Engine {
    pub pool: Pool,
    pub storage: Storage,
    pub relay: Relay,
    pub cleanup_after: chrono::Duration,
    pub fetcher: previews::Fetcher,
    pub messaging: MessagingServiceClient<Channel>,
    pub service_token: String,
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
        let me = self.clone();
        broker.consume("files.message-deleted", &[MESSAGE_DELETED], move |job| {
            let me = me.clone();
            async move { me.message_deleted(job).await }
        });
        // In process, a consumer runs inside the producer's relay: slow
        // pages must not hold up svc-messaging's other jobs, so the fetch
        // runs on its own (a preview is best-effort: a crash loses it).
        let inline = broker.is_amqp();
        broker.consume("files.link-previews", &[MESSAGE_LINKS], move |job| {
            let me = self.clone();
            async move {
                if inline {
                    return me.link_previews(job).await;
                }
                tokio::spawn(async move {
                    if let Err(e) = me.link_previews(job).await {
                        tracing::warn!(error = format!("{e:#}"), "link previews failed");
                    }
                });
                Ok(())
            }
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
            let unused = match f.kind {
                Kind::Attachment => f.message_id.is_none() || f.orphaned_at.is_some(),
                Kind::Emoji => !emoji::uses_file(conn, id).await?,
                Kind::Avatar => files::is_replaced_avatar(conn, &f).await?,
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
                    jobs::enqueue(conn, keys::EXPIRE, &job, Some(later)).await?;
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

    /// Fetches the previews of a message's links (cached per URL for a
    /// day) and hands them to svc-messaging, which stores them and tells
    /// whoever may see the message. A link that cannot be fetched (refused
    /// address, not HTML, timeout) has no preview; that is not retried.
    async fn link_previews(&self, job: Job) -> anyhow::Result<()> {
        let j: m::MessageLinksJob = job.decode()?;
        let author: ocomms_runtime::ids::UserId = j.author_id.parse()?;
        let fresh_after = Utc::now() - chrono::Duration::hours(PREVIEW_LIFETIME_HOURS);
        let mut found = Vec::new();
        for url in j.urls.iter().take(3) {
            let mut conn = self.conn().await?;
            let cached = previews_store::cached(&mut conn, url, fresh_after).await?;
            drop(conn);
            let p = match cached {
                Some(p) => Some(p),
                None => match self.fetcher.fetch(url).await {
                    Ok(Some(p)) => {
                        let mut conn = self.conn().await?;
                        previews_store::put(&mut conn, &p).await?;
                        Some(p)
                    }
                    Ok(None) => None,
                    Err(e) => {
                        let host = url::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default();
                        tracing::info!(host, reason = format!("{e:#}"), "no link preview");
                        None
                    }
                },
            };
            if let Some(p) = p.filter(|p| p.title.is_some() || p.description.is_some()) {
                found.push(m::LinkPreview {
                    url: p.url,
                    title: p.title,
                    description: p.description,
                    image_url: p.image_url,
                    site_name: p.site_name,
                });
            }
        }
        if found.is_empty() {
            return Ok(());
        }
        let req = m::SetLinkPreviewsRequest { message_id: j.message_id, previews: found };
        self.messaging
            .clone()
            .set_link_previews(ocomms_runtime::identity::service_request(&self.service_token, author, req))
            .await
            .map_err(|s| anyhow::anyhow!("handing link previews to svc-messaging: {s}"))?;
        Ok(())
    }
}
