//! Uploads: checked as they stream (type from the first bytes, size and
//! quota as bytes arrive), stored, then charged and recorded in one
//! transaction; anything refused leaves no object and counts nothing.

use chrono::Utc;
use diesel_async::AsyncConnection;
use ocomms_proto::auth::v1 as auth;
use ocomms_proto::files::v1 as pb;
use ocomms_proto::files::v1::jobs as keys;
use ocomms_runtime::identity::Principal;
use ocomms_runtime::ids::{self, WorkspaceId};
use ocomms_runtime::jobs;
use ocomms_runtime::{ServiceError, ServiceResult};
use tonic::metadata::MetadataMap;
use tonic::{Request, Streaming};

use super::{FilesApi, stream_error};
use crate::domain::{self, FileId, Kind};
use crate::store::{emoji, files};
use crate::{convert, images};
use ocomms_runtime::identity::caller;

/// What the first message said, checked.
struct Start {
    kind: Kind,
    filename: String,
    workspace: Option<WorkspaceId>,
    emoji_name: Option<String>,
}

/// The bytes that will be stored, ready to record.
struct Stored {
    key: String,
    mime: &'static str,
    size: i64,
    dimensions: Option<(u32, u32)>,
    animated: bool,
}

impl FilesApi {
    pub(super) async fn upload(&self, req: Request<Streaming<pb::UploadRequest>>) -> ServiceResult<pb::UploadResponse> {
        let p = caller(&req)?;
        let meta = req.metadata().clone();
        let mut stream = req.into_inner();
        let first = stream.message().await.map_err(|s| stream_error(&s))?.ok_or_else(|| ServiceError::validation("file", "no file"))?;
        let start = self.check_start(&meta, first.start.as_ref()).await?;
        let kind = start.kind;
        let max = kind.max_bytes();
        let mut conn = self.conn().await?;
        if let (Some(ws), Some(name)) = (start.workspace, &start.emoji_name)
            && emoji::get(&mut conn, ws, name).await?.is_some()
        {
            return Err(name_taken(name));
        }
        let used = files::used(&mut conn, p.user_id).await?;
        drop(conn);
        let over = |size: u64| -> ServiceResult<()> {
            if size > max {
                return Err(domain::too_large(kind));
            }
            if used.saturating_add(i64::try_from(size).unwrap_or(i64::MAX)) > self.quota_bytes {
                return Err(domain::quota_exceeded(used, self.quota_bytes));
            }
            Ok(())
        };

        // The head tells the type (and usually an image's size).
        let mut chunks = Chunks { stream, finished: first.finish, ended: first.finish };
        let mut head = first.data;
        over(head.len() as u64)?;
        while head.len() < domain::SNIFF_BYTES
            && let Some(data) = chunks.next().await?
        {
            head.extend_from_slice(&data);
            over(head.len() as u64)?;
        }
        let mime = domain::sniff(kind, &head)?;
        let id = FileId::new();
        let key = format!("{}/{id}", kind.as_str());

        let stored = if kind.reencoded() {
            // At most 5 MB: read whole, decode under the budget, re-encode.
            let mut all = head;
            while let Some(data) = chunks.next().await? {
                all.extend_from_slice(&data);
                over(all.len() as u64)?;
            }
            chunks.complete()?;
            let side = if kind == Kind::Emoji { domain::EMOJI_SIDE } else { domain::AVATAR_SIDE };
            let enc = images::reencode(all, mime, side).await?;
            let size = i64::try_from(enc.bytes.len()).map_err(ServiceError::internal)?;
            self.storage.put(&key, enc.mime, enc.bytes).await.map_err(ServiceError::unavailable)?;
            Stored { key, mime: enc.mime, size, dimensions: Some(enc.dimensions), animated: enc.animated }
        } else {
            let dimensions = if domain::is_image(mime) { images::dimensions(&head) } else { None };
            if let Some((w, h)) = dimensions {
                domain::check_pixels(w, h)?;
            }
            let mut writer = self.storage.writer(&key, mime).await.map_err(ServiceError::unavailable)?;
            let mut size = head.len() as u64;
            let streamed: ServiceResult<()> = async {
                writer.write(&head).await.map_err(ServiceError::unavailable)?;
                while let Some(data) = chunks.next().await? {
                    size += data.len() as u64;
                    over(size)?;
                    writer.write(&data).await.map_err(ServiceError::unavailable)?;
                }
                chunks.complete()
            }
            .await;
            if let Err(e) = streamed {
                writer.abort().await;
                return Err(e);
            }
            writer.finish().await.map_err(ServiceError::unavailable)?;
            Stored { key, mime, size: i64::try_from(size).map_err(ServiceError::internal)?, dimensions, animated: false }
        };

        let recorded = self.record(&p, id, &start, &stored).await;
        let (file, emoji) = match recorded {
            Ok(r) => r,
            Err(e) => {
                // Nothing refused stays behind.
                if let Err(d) = self.storage.delete(&stored.key).await {
                    tracing::warn!(key = stored.key, error = format!("{d:#}"), "could not remove a refused upload");
                }
                return Err(e);
            }
        };
        self.relay.wake();
        if kind == Kind::Avatar {
            self.set_avatar(&meta, start.workspace, &file.url).await?;
        }
        Ok(pb::UploadResponse { file: Some(file), emoji })
    }

    async fn check_start(&self, meta: &MetadataMap, start: Option<&pb::UploadStart>) -> ServiceResult<Start> {
        let start = start.ok_or_else(|| ServiceError::validation("file", "the first message must say what is uploaded"))?;
        let kind = Kind::from_request(&start.kind)?;
        let workspace: Option<WorkspaceId> = ids::parse_opt("workspaceId", start.workspace_id.as_deref())?;
        let emoji_name = if kind == Kind::Emoji { Some(domain::emoji_name(start.emoji_name.as_deref())?) } else { None };
        match (kind, workspace) {
            (Kind::Emoji, None) => return Err(ServiceError::validation("workspaceId", "required for emoji")),
            (Kind::Emoji, Some(ws)) => {
                crate::policy::check_may_add_emoji(&ocomms_domain::membership::membership(&self.identity, meta, ws).await?)?;
            }
            (Kind::Avatar, Some(ws)) => {
                ocomms_domain::membership::membership(&self.identity, meta, ws).await?;
            }
            // An attachment's workspace is the message's, set when claimed.
            (Kind::Attachment, Some(_)) => {
                return Err(ServiceError::validation("workspaceId", "attachments take their workspace from the message"));
            }
            _ => {}
        }
        Ok(Start { kind, filename: domain::filename(&start.filename), workspace, emoji_name })
    }

    /// Charges the quota and records the file (and the emoji) in one
    /// transaction, with its jobs.
    async fn record(&self, p: &Principal, id: FileId, start: &Start, s: &Stored) -> ServiceResult<(pb::File, Option<pb::Emoji>)> {
        let mut conn = self.conn().await?;
        let quota = self.quota_bytes;
        let later = Utc::now() + self.cleanup_after;
        let user = p.user_id;
        let kind = start.kind;
        conn.transaction::<_, ServiceError, _>(async |conn| {
            let Some(_) = files::charge(conn, user, s.size, quota).await? else {
                let used = files::used(conn, user).await?;
                return Err(domain::quota_exceeded(used, quota));
            };
            let f = files::insert(
                conn,
                &files::New {
                    id,
                    workspace_id: start.workspace,
                    kind,
                    filename: &start.filename,
                    mime_type: s.mime,
                    size: s.size,
                    storage_key: &s.key,
                    uploaded_by: user,
                    dimensions: s.dimensions,
                },
            )
            .await?;
            let expire = pb::FileExpireJob { file_id: id.to_string() };
            match kind {
                Kind::Attachment => {
                    // Removed unless a message claims it meanwhile.
                    jobs::enqueue(conn, keys::EXPIRE, &expire, Some(later)).await?;
                    if domain::is_image(s.mime) {
                        jobs::enqueue_all(conn, keys::THUMBNAIL, &[pb::FileThumbnailJob { file_id: id.to_string() }])
                            .await
                            .map_err(ServiceError::internal)?;
                    }
                }
                Kind::Avatar => {
                    // The avatars it replaces go.
                    for old in files::earlier_avatars(conn, user, start.workspace, id).await? {
                        let job = pb::FileExpireJob { file_id: old.to_string() };
                        jobs::enqueue(conn, keys::EXPIRE, &job, Some(later)).await?;
                    }
                }
                Kind::Emoji => {}
            }
            let emoji = match (kind, start.workspace, &start.emoji_name) {
                (Kind::Emoji, Some(ws), Some(name)) => {
                    let e = emoji::insert(conn, ws, name, id, user, s.animated).await?.ok_or_else(|| name_taken(name))?;
                    Some(convert::emoji(&e))
                }
                _ => None,
            };
            Ok((convert::file(&f), emoji))
        })
        .await
    }

    /// Points the caller's profile (one workspace's, or every one's) at the
    /// new avatar, through svc-auth on their behalf.
    async fn set_avatar(&self, meta: &MetadataMap, ws: Option<WorkspaceId>, url: &str) -> ServiceResult<()> {
        let mut auth = self.auth.clone();
        let workspaces: Vec<String> = match ws {
            Some(ws) => vec![ws.to_string()],
            None => auth
                .list_workspaces(self.identity.forward(meta, auth::ListWorkspacesRequest {}))
                .await
                .map_err(|s| ServiceError::from_status(&s))?
                .into_inner()
                .workspaces
                .into_iter()
                .map(|w| w.id)
                .collect(),
        };
        for ws in workspaces {
            let req = auth::UpdateProfileRequest { workspace_id: ws, avatar_url: Some(url.to_owned()), ..Default::default() };
            auth.update_profile(self.identity.forward(meta, req)).await.map_err(|s| ServiceError::from_status(&s))?;
        }
        Ok(())
    }
}

/// An upload's data messages, until the one that says it is complete.
struct Chunks {
    stream: Streaming<pb::UploadRequest>,
    finished: bool,
    ended: bool,
}

impl Chunks {
    /// The next piece of data; `None` once the stream is over.
    async fn next(&mut self) -> ServiceResult<Option<Vec<u8>>> {
        if self.ended {
            return Ok(None);
        }
        match self.stream.message().await.map_err(|s| stream_error(&s))? {
            Some(m) => {
                if m.finish {
                    self.finished = true;
                    self.ended = true;
                }
                Ok(Some(m.data))
            }
            None => {
                self.ended = true;
                Ok(None)
            }
        }
    }

    /// Whether the client said the file is complete.
    fn complete(&self) -> ServiceResult<()> {
        if self.finished { Ok(()) } else { Err(cut_off()) }
    }
}

/// The stream ended without its `finish` message: the client went away.
fn cut_off() -> ServiceError {
    ServiceError::validation("file", "the upload was cut off before its end")
}

fn name_taken(name: &str) -> ServiceError {
    ServiceError::conflict(format!("the workspace already has an emoji named {name}")).with_details(serde_json::json!({ "field": "name" }))
}
