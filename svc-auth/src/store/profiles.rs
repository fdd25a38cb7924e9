use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use ocomms_runtime::ids::{UserId, WorkspaceId};

use crate::schema::{last_visited_workspace, profiles, user_statuses};

#[derive(Debug, Clone, Default, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = profiles, check_for_backend(diesel::pg::Pg), treat_none_as_null = true)]
pub struct Profile {
    pub display_name: Option<String>,
    pub title: Option<String>,
    pub pronouns: Option<String>,
    pub timezone: Option<String>,
    pub avatar_url: Option<String>,
    pub bio: Option<String>,
}

pub async fn get(conn: &mut AsyncPgConnection, ws: WorkspaceId, user: UserId) -> QueryResult<Profile> {
    Ok(profiles::table.find((ws, user)).select(Profile::as_select()).first(conn).await.optional()?.unwrap_or_default())
}

pub async fn put(conn: &mut AsyncPgConnection, ws: WorkspaceId, user: UserId, p: &Profile) -> QueryResult<()> {
    diesel::insert_into(profiles::table)
        .values((profiles::workspace_id.eq(ws), profiles::user_id.eq(user), p))
        .on_conflict((profiles::workspace_id, profiles::user_id))
        .do_update()
        .set((p, profiles::updated_at.eq(diesel::dsl::now)))
        .execute(conn)
        .await
        .map(drop)
}

#[derive(Debug, Clone, Default, Queryable, Selectable)]
#[diesel(table_name = user_statuses, check_for_backend(diesel::pg::Pg))]
pub struct Status {
    pub emoji: Option<String>,
    pub text: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub dnd: bool,
}

/// The status in force: an expired one reads as none.
pub async fn status(conn: &mut AsyncPgConnection, ws: WorkspaceId, user: UserId) -> QueryResult<Option<Status>> {
    let s: Option<Status> = user_statuses::table.find((ws, user)).select(Status::as_select()).first(conn).await.optional()?;
    Ok(s.filter(|s| s.expires_at.is_none_or(|e| e > Utc::now())))
}

/// Deletes the user's status there if it has expired (by now); true when
/// one was.
pub async fn clear_expired_status(conn: &mut AsyncPgConnection, ws: WorkspaceId, user: UserId) -> QueryResult<bool> {
    diesel::delete(
        user_statuses::table
            .filter(user_statuses::workspace_id.eq(ws))
            .filter(user_statuses::user_id.eq(user))
            .filter(user_statuses::expires_at.le(diesel::dsl::now)),
    )
    .execute(conn)
    .await
    .map(|n| n > 0)
}

pub async fn set_status(conn: &mut AsyncPgConnection, ws: WorkspaceId, user: UserId, s: &Status) -> QueryResult<()> {
    diesel::insert_into(user_statuses::table)
        .values((
            user_statuses::workspace_id.eq(ws),
            user_statuses::user_id.eq(user),
            user_statuses::emoji.eq(&s.emoji),
            user_statuses::text.eq(&s.text),
            user_statuses::expires_at.eq(s.expires_at),
            user_statuses::dnd.eq(s.dnd),
        ))
        .on_conflict((user_statuses::workspace_id, user_statuses::user_id))
        .do_update()
        .set((
            user_statuses::emoji.eq(&s.emoji),
            user_statuses::text.eq(&s.text),
            user_statuses::expires_at.eq(s.expires_at),
            user_statuses::dnd.eq(s.dnd),
            user_statuses::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await
        .map(drop)
}

pub async fn set_last_visited(conn: &mut AsyncPgConnection, user: UserId, ws: WorkspaceId) -> QueryResult<()> {
    diesel::insert_into(last_visited_workspace::table)
        .values((last_visited_workspace::user_id.eq(user), last_visited_workspace::workspace_id.eq(ws)))
        .on_conflict(last_visited_workspace::user_id)
        .do_update()
        .set((last_visited_workspace::workspace_id.eq(ws), last_visited_workspace::updated_at.eq(diesel::dsl::now)))
        .execute(conn)
        .await
        .map(drop)
}

pub async fn last_visited(conn: &mut AsyncPgConnection, user: UserId) -> QueryResult<Option<WorkspaceId>> {
    last_visited_workspace::table.find(user).select(last_visited_workspace::workspace_id).first(conn).await.optional()
}
