//! `custom_emojis`.

use chrono::{DateTime, Utc};
use diesel::OptionalExtension;
use diesel::sql_types::{Bool, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use ocomms_runtime::ids::{UserId, WorkspaceId};

use crate::domain::{EmojiId, FileId};

#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct Emoji {
    #[diesel(sql_type = SqlUuid)]
    pub id: EmojiId,
    #[diesel(sql_type = SqlUuid)]
    pub workspace_id: WorkspaceId,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = SqlUuid)]
    pub file_id: FileId,
    #[diesel(sql_type = SqlUuid)]
    pub uploaded_by: UserId,
    #[diesel(sql_type = Bool)]
    pub is_animated: bool,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

const COLS: &str = "id, workspace_id, name, file_id, uploaded_by, is_animated, created_at";

/// `None` when the name is taken in the workspace.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    ws: WorkspaceId,
    name: &str,
    file: FileId,
    by: UserId,
    animated: bool,
) -> diesel::QueryResult<Option<Emoji>> {
    diesel::sql_query(format!(
        "INSERT INTO custom_emojis (id, workspace_id, name, file_id, uploaded_by, is_animated) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (workspace_id, name) DO NOTHING RETURNING {COLS}"
    ))
    .bind::<SqlUuid, _>(EmojiId::new())
    .bind::<SqlUuid, _>(ws)
    .bind::<Text, _>(name)
    .bind::<SqlUuid, _>(file)
    .bind::<SqlUuid, _>(by)
    .bind::<Bool, _>(animated)
    .get_result(conn)
    .await
    .optional()
}

pub async fn list(conn: &mut AsyncPgConnection, ws: WorkspaceId) -> diesel::QueryResult<Vec<Emoji>> {
    diesel::sql_query(format!("SELECT {COLS} FROM custom_emojis WHERE workspace_id = $1 ORDER BY name LIMIT 5000"))
        .bind::<SqlUuid, _>(ws)
        .load(conn)
        .await
}

pub async fn get(conn: &mut AsyncPgConnection, ws: WorkspaceId, name: &str) -> diesel::QueryResult<Option<Emoji>> {
    diesel::sql_query(format!("SELECT {COLS} FROM custom_emojis WHERE workspace_id = $1 AND name = $2"))
        .bind::<SqlUuid, _>(ws)
        .bind::<Text, _>(name)
        .get_result(conn)
        .await
        .optional()
}

pub async fn delete(conn: &mut AsyncPgConnection, id: EmojiId) -> diesel::QueryResult<()> {
    diesel::sql_query("DELETE FROM custom_emojis WHERE id = $1").bind::<SqlUuid, _>(id).execute(conn).await.map(drop)
}

/// Whether an emoji still shows this file.
pub async fn uses_file(conn: &mut AsyncPgConnection, file: FileId) -> diesel::QueryResult<bool> {
    let found: Option<Emoji> = diesel::sql_query(format!("SELECT {COLS} FROM custom_emojis WHERE file_id = $1 LIMIT 1"))
        .bind::<SqlUuid, _>(file)
        .get_result(conn)
        .await
        .optional()?;
    Ok(found.is_some())
}
