//! Notes (personal and per channel, optimistic versions) and bookmarks.

use ocomms_domain::ChannelId;
use ocomms_proto::messaging::v1 as pb;
use ocomms_runtime::ids::{self, WorkspaceId};
use ocomms_runtime::{ServiceError, ServiceResult};
use tonic::Request;

use super::{MessagingApi, one_message_pb};
use crate::convert;
use crate::store::messages::Target;
use crate::store::notes::{self, Note};
use ocomms_runtime::identity::caller;

fn stale(current: &Note) -> ServiceError {
    ServiceError::conflict("the note changed since you loaded it; reload and reapply your edit")
        .with_details(serde_json::json!({ "currentVersion": current.version }))
}

impl MessagingApi {
    pub(crate) async fn get_personal_note(&self, req: Request<pb::GetPersonalNoteRequest>) -> ServiceResult<pb::Note> {
        let p = caller(&req)?;
        let ws: WorkspaceId = ids::parse("workspaceId", &req.get_ref().workspace_id)?;
        self.access.membership(req.metadata(), &p, ws).await?;
        let mut conn = self.conn().await?;
        Ok(convert::note_pb(&notes::personal(&mut conn, p.user_id, ws).await?, None, Some(ws)))
    }

    pub(crate) async fn save_personal_note(&self, req: Request<pb::SavePersonalNoteRequest>) -> ServiceResult<pb::Note> {
        let p = caller(&req)?;
        let r = req.get_ref();
        let ws: WorkspaceId = ids::parse("workspaceId", &r.workspace_id)?;
        self.access.membership(req.metadata(), &p, ws).await?;
        crate::domain::check_note(&r.content, r.version)?;
        let mut conn = self.conn().await?;
        match notes::save_personal(&mut conn, p.user_id, ws, &r.content, r.version).await? {
            Some(_) => {
                let out = convert::note_pb(&notes::personal(&mut conn, p.user_id, ws).await?, None, Some(ws));
                drop(conn);
                // The user's other windows and devices see it at once.
                self.publish(
                    vec![p.user_id],
                    "note:updated",
                    serde_json::json!({
                        "workspaceId": ws, "personal": true, "content": out.content,
                        "version": out.version, "updatedBy": p.user_id, "updatedAt": out.updated_at,
                    }),
                )
                .await;
                Ok(out)
            }
            None => Err(stale(&notes::personal(&mut conn, p.user_id, ws).await?)),
        }
    }

    pub(crate) async fn get_channel_note(&self, req: Request<pb::GetChannelNoteRequest>) -> ServiceResult<pb::Note> {
        let p = caller(&req)?;
        let id: ChannelId = ids::parse("channelId", &req.get_ref().channel_id)?;
        let place = self.place(req.metadata(), &p, Target::Channel(id)).await?;
        let mut conn = self.conn().await?;
        Ok(convert::note_pb(&notes::channel(&mut conn, id).await?, Some(id), Some(place.workspace_id)))
    }

    pub(crate) async fn save_channel_note(&self, req: Request<pb::SaveChannelNoteRequest>) -> ServiceResult<pb::Note> {
        let p = caller(&req)?;
        let r = req.get_ref();
        let id: ChannelId = ids::parse("channelId", &r.channel_id)?;
        let place = self.place(req.metadata(), &p, Target::Channel(id)).await?;
        crate::domain::check_note(&r.content, r.version)?;
        place.check_can_post()?;
        let mut conn = self.conn().await?;
        let saved = notes::save_channel(&mut conn, id, p.user_id, &r.content, r.version).await?;
        let current = notes::channel(&mut conn, id).await?;
        drop(conn);
        if saved.is_none() {
            return Err(stale(&current));
        }
        let out = convert::note_pb(&current, Some(id), Some(place.workspace_id));
        let to = self.audience(place.target).await?;
        // Delivered by the gateways to the sockets that subscribed (note:subscribe).
        self.publish(
            to,
            "note:updated",
            serde_json::json!({
                "channelId": id, "content": out.content, "version": out.version,
                "updatedBy": p.user_id, "updatedAt": out.updated_at,
            }),
        )
        .await;
        Ok(out)
    }

    pub(crate) async fn create_bookmark(&self, req: Request<pb::CreateBookmarkRequest>) -> ServiceResult<pb::Bookmark> {
        let p = caller(&req)?;
        let r = req.get_ref();
        if r.file_id.as_deref().is_some_and(|f| !f.trim().is_empty()) {
            return Err(ServiceError::validation("fileId", "no such file"));
        }
        let message =
            r.message_id.as_deref().filter(|m| !m.trim().is_empty()).ok_or_else(|| ServiceError::validation("messageId", "is required"))?;
        let note = r.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
        if note.is_some_and(|n| n.chars().count() > 500) {
            return Err(ServiceError::validation("note", "must be at most 500 characters"));
        }
        let (m, place) = self.visible_message(req.metadata(), &p, "messageId", message).await?;
        let mut conn = self.conn().await?;
        let b = notes::add_bookmark(&mut conn, p.user_id, place.workspace_id, m.id, note).await?;
        let msg = one_message_pb(&mut conn, &m).await?;
        Ok(pb::Bookmark {
            id: b.id.to_string(),
            workspace_id: b.workspace_id.to_string(),
            message_id: b.message_id.map(|x| x.to_string()),
            note: b.note,
            created_at: ocomms_runtime::time::rfc3339(b.created_at),
            message: Some(msg),
        })
    }

    pub(crate) async fn list_bookmarks(&self, req: Request<pb::ListBookmarksRequest>) -> ServiceResult<pb::ListBookmarksResponse> {
        let p = caller(&req)?;
        let r = req.get_ref();
        let ws: Option<WorkspaceId> = ids::parse_opt("workspaceId", r.workspace_id.as_deref())?;
        let before: Option<crate::domain::BookmarkId> = ids::parse_opt("before", r.before.as_deref())?;
        let limit = crate::domain::PAGE.of(r.limit)?;
        let mut conn = self.conn().await?;
        let (list, has_more) =
            crate::store::messages::split_page(notes::bookmarks_of(&mut conn, p.user_id, ws, before, limit).await?, limit);
        drop(conn);
        let mut out = Vec::with_capacity(list.len());
        for b in list {
            // Only what the caller can still see.
            let Some(mid) = b.message_id else { continue };
            let Ok((m, _)) = self.visible_message(req.metadata(), &p, "messageId", &mid.to_string()).await else { continue };
            let mut conn = self.conn().await?;
            out.push(pb::Bookmark {
                id: b.id.to_string(),
                workspace_id: b.workspace_id.to_string(),
                message_id: Some(mid.to_string()),
                note: b.note,
                created_at: ocomms_runtime::time::rfc3339(b.created_at),
                message: Some(one_message_pb(&mut conn, &m).await?),
            });
        }
        Ok(pb::ListBookmarksResponse { bookmarks: out, has_more })
    }

    pub(crate) async fn delete_bookmark(&self, req: Request<pb::DeleteBookmarkRequest>) -> ServiceResult<pb::DeleteBookmarkResponse> {
        let p = caller(&req)?;
        let id: crate::domain::BookmarkId = ids::parse("bookmarkId", &req.get_ref().bookmark_id)?;
        let mut conn = self.conn().await?;
        if notes::delete_bookmark(&mut conn, p.user_id, id).await? == 0 {
            return Err(ServiceError::not_found("bookmark"));
        }
        Ok(pb::DeleteBookmarkResponse {})
    }
}
