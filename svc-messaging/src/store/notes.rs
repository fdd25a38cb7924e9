use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use ocomms_domain::{ChannelId, MessageId};
use ocomms_runtime::ids::{UserId, WorkspaceId};

use crate::domain::BookmarkId;
use crate::schema::{bookmarks, channel_notes, personal_notes};

#[derive(Debug, Clone, Default)]
pub struct Note {
    pub content: String,
    pub version: i32,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by: Option<UserId>,
}

pub async fn personal(conn: &mut AsyncPgConnection, user: UserId, ws: WorkspaceId) -> QueryResult<Note> {
    let row: Option<(String, i32, DateTime<Utc>)> = personal_notes::table
        .find((user, ws))
        .select((personal_notes::content, personal_notes::version, personal_notes::updated_at))
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(|(content, version, at)| Note { content, version, updated_at: Some(at), updated_by: Some(user) }).unwrap_or_default())
}

/// Saves when `expected` is the current version (0 for a first save);
/// `None` when someone saved first.
pub async fn save_personal(
    conn: &mut AsyncPgConnection,
    user: UserId,
    ws: WorkspaceId,
    content: &str,
    expected: i32,
) -> QueryResult<Option<i32>> {
    if expected == 0 {
        let n = diesel::insert_into(personal_notes::table)
            .values((
                personal_notes::user_id.eq(user),
                personal_notes::workspace_id.eq(ws),
                personal_notes::content.eq(content),
                personal_notes::version.eq(1),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        return Ok((n == 1).then_some(1));
    }
    // No note reaches the largest version: asking to save over it is stale.
    let Some(next) = expected.checked_add(1) else { return Ok(None) };
    diesel::update(personal_notes::table.find((user, ws)).filter(personal_notes::version.eq(expected)))
        .set((personal_notes::content.eq(content), personal_notes::version.eq(next), personal_notes::updated_at.eq(diesel::dsl::now)))
        .returning(personal_notes::version)
        .get_result(conn)
        .await
        .optional()
}

pub async fn channel(conn: &mut AsyncPgConnection, c: ChannelId) -> QueryResult<Note> {
    let row: Option<(String, i32, DateTime<Utc>, Option<UserId>)> = channel_notes::table
        .find(c)
        .select((channel_notes::content, channel_notes::version, channel_notes::updated_at, channel_notes::updated_by))
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(|(content, version, at, by)| Note { content, version, updated_at: Some(at), updated_by: by }).unwrap_or_default())
}

pub async fn save_channel(
    conn: &mut AsyncPgConnection,
    c: ChannelId,
    by: UserId,
    content: &str,
    expected: i32,
) -> QueryResult<Option<i32>> {
    if expected == 0 {
        let n = diesel::insert_into(channel_notes::table)
            .values((
                channel_notes::channel_id.eq(c),
                channel_notes::content.eq(content),
                channel_notes::version.eq(1),
                channel_notes::updated_by.eq(by),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        return Ok((n == 1).then_some(1));
    }
    // No note reaches the largest version: asking to save over it is stale.
    let Some(next) = expected.checked_add(1) else { return Ok(None) };
    diesel::update(channel_notes::table.find(c).filter(channel_notes::version.eq(expected)))
        .set((
            channel_notes::content.eq(content),
            channel_notes::version.eq(next),
            channel_notes::updated_by.eq(by),
            channel_notes::updated_at.eq(diesel::dsl::now),
        ))
        .returning(channel_notes::version)
        .get_result(conn)
        .await
        .optional()
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = bookmarks, check_for_backend(diesel::pg::Pg))]
pub struct Bookmark {
    pub id: BookmarkId,
    pub workspace_id: WorkspaceId,
    pub message_id: Option<MessageId>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

pub async fn add_bookmark(
    conn: &mut AsyncPgConnection,
    user: UserId,
    ws: WorkspaceId,
    message: MessageId,
    note: Option<&str>,
) -> QueryResult<Bookmark> {
    diesel::insert_into(bookmarks::table)
        .values((
            bookmarks::id.eq(BookmarkId::new()),
            bookmarks::user_id.eq(user),
            bookmarks::workspace_id.eq(ws),
            bookmarks::message_id.eq(message),
            bookmarks::note.eq(note),
        ))
        .returning(Bookmark::as_returning())
        .get_result(conn)
        .await
}

/// A page of the user's bookmarks, newest first (ids are time-ordered),
/// older than bookmark `before`; `limit + 1` rows, so the caller knows
/// whether more follow.
pub async fn bookmarks_of(
    conn: &mut AsyncPgConnection,
    user: UserId,
    ws: Option<WorkspaceId>,
    before: Option<BookmarkId>,
    limit: u32,
) -> QueryResult<Vec<Bookmark>> {
    let mut q = bookmarks::table.filter(bookmarks::user_id.eq(user)).into_boxed();
    if let Some(w) = ws {
        q = q.filter(bookmarks::workspace_id.eq(w));
    }
    if let Some(b) = before {
        q = q.filter(bookmarks::id.lt(b));
    }
    q.order(bookmarks::id.desc()).limit(i64::from(limit) + 1).select(Bookmark::as_select()).load(conn).await
}

pub async fn delete_bookmark(conn: &mut AsyncPgConnection, user: UserId, id: BookmarkId) -> QueryResult<usize> {
    diesel::delete(bookmarks::table.find(id).filter(bookmarks::user_id.eq(user))).execute(conn).await
}
