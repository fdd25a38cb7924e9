//! `file_attachments` and `user_storage`: file records and exact per-user
//! accounting.

use chrono::{DateTime, Utc};
use diesel::OptionalExtension;
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use ocomms_domain::MessageId;
use ocomms_runtime::ids::{UserId, WorkspaceId};

use crate::domain::{FileId, Kind};

#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct File {
    #[diesel(sql_type = SqlUuid)]
    pub id: FileId,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub workspace_id: Option<WorkspaceId>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub message_id: Option<MessageId>,
    #[diesel(sql_type = Text)]
    pub kind: Kind,
    #[diesel(sql_type = Text)]
    pub filename: String,
    #[diesel(sql_type = Text)]
    pub mime_type: String,
    #[diesel(sql_type = BigInt)]
    pub size: i64,
    #[diesel(sql_type = Text)]
    pub storage_key: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub thumbnail_key: Option<String>,
    #[diesel(sql_type = SqlUuid)]
    pub uploaded_by: UserId,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub orphaned_at: Option<DateTime<Utc>>,
}

const COLS: &str =
    "id, workspace_id, message_id, kind, filename, mime_type, size, storage_key, thumbnail_key, uploaded_by, created_at, orphaned_at";

pub struct New<'a> {
    pub id: FileId,
    pub workspace_id: Option<WorkspaceId>,
    pub kind: Kind,
    pub filename: &'a str,
    pub mime_type: &'a str,
    pub size: i64,
    pub storage_key: &'a str,
    pub uploaded_by: UserId,
    pub dimensions: Option<(u32, u32)>,
}

pub async fn insert(conn: &mut AsyncPgConnection, n: &New<'_>) -> diesel::QueryResult<File> {
    let (w, h) = n.dimensions.map_or((None, None), |(w, h)| (i32::try_from(w).ok(), i32::try_from(h).ok()));
    diesel::sql_query(format!(
        "INSERT INTO file_attachments (id, workspace_id, kind, filename, mime_type, size, storage_key, uploaded_by, width, height)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {COLS}"
    ))
    .bind::<SqlUuid, _>(n.id)
    .bind::<Nullable<SqlUuid>, _>(n.workspace_id)
    .bind::<Text, _>(n.kind)
    .bind::<Text, _>(n.filename)
    .bind::<Text, _>(n.mime_type)
    .bind::<BigInt, _>(n.size)
    .bind::<Text, _>(n.storage_key)
    .bind::<SqlUuid, _>(n.uploaded_by)
    .bind::<Nullable<Integer>, _>(w)
    .bind::<Nullable<Integer>, _>(h)
    .get_result(conn)
    .await
}

pub async fn get(conn: &mut AsyncPgConnection, id: FileId) -> diesel::QueryResult<Option<File>> {
    diesel::sql_query(format!("SELECT {COLS} FROM file_attachments WHERE id = $1")).bind::<SqlUuid, _>(id).get_result(conn).await.optional()
}

/// What `user` uploaded in `ws`, their account-wide avatars and, with
/// `personal`, their uploads not yet attached anywhere (GDPR export),
/// oldest first.
pub async fn uploaded_by(conn: &mut AsyncPgConnection, user: UserId, ws: WorkspaceId, personal: bool) -> diesel::QueryResult<Vec<File>> {
    diesel::sql_query(format!(
        "SELECT {COLS} FROM file_attachments WHERE uploaded_by = $1
           AND (workspace_id = $2 OR (workspace_id IS NULL AND (kind = 'avatar' OR $3)))
         ORDER BY created_at, id"
    ))
    .bind::<SqlUuid, _>(user)
    .bind::<SqlUuid, _>(ws)
    .bind::<diesel::sql_types::Bool, _>(personal)
    .load(conn)
    .await
}

/// Locks a file row (cleanup).
pub async fn lock(conn: &mut AsyncPgConnection, id: FileId) -> diesel::QueryResult<Option<File>> {
    diesel::sql_query(format!("SELECT {COLS} FROM file_attachments WHERE id = $1 FOR UPDATE"))
        .bind::<SqlUuid, _>(id)
        .get_result(conn)
        .await
        .optional()
}

pub async fn delete(conn: &mut AsyncPgConnection, id: FileId) -> diesel::QueryResult<()> {
    diesel::sql_query("DELETE FROM file_attachments WHERE id = $1").bind::<SqlUuid, _>(id).execute(conn).await.map(drop)
}

/// The caller's bytes in use.
pub async fn used(conn: &mut AsyncPgConnection, user: UserId) -> diesel::QueryResult<i64> {
    #[derive(diesel::QueryableByName)]
    struct Used {
        #[diesel(sql_type = BigInt)]
        used_bytes: i64,
    }
    let u: Option<Used> = diesel::sql_query("SELECT used_bytes FROM user_storage WHERE user_id = $1")
        .bind::<SqlUuid, _>(user)
        .get_result(conn)
        .await
        .optional()?;
    Ok(u.map_or(0, |u| u.used_bytes))
}

/// Adds `bytes` to the user's use if that stays within `quota`, atomically
/// (concurrent uploads never overshoot). The new use, or `None` when it
/// would not fit.
pub async fn charge(conn: &mut AsyncPgConnection, user: UserId, bytes: i64, quota: i64) -> diesel::QueryResult<Option<i64>> {
    #[derive(diesel::QueryableByName)]
    struct Used {
        #[diesel(sql_type = BigInt)]
        used_bytes: i64,
    }
    if bytes > quota {
        return Ok(None);
    }
    let u: Option<Used> = diesel::sql_query(
        "INSERT INTO user_storage (user_id, used_bytes) VALUES ($1, $2)
         ON CONFLICT (user_id) DO UPDATE SET used_bytes = user_storage.used_bytes + EXCLUDED.used_bytes, updated_at = now()
           WHERE user_storage.used_bytes + EXCLUDED.used_bytes <= $3
         RETURNING used_bytes",
    )
    .bind::<SqlUuid, _>(user)
    .bind::<BigInt, _>(bytes)
    .bind::<BigInt, _>(quota)
    .get_result(conn)
    .await
    .optional()?;
    Ok(u.map(|u| u.used_bytes))
}

/// Gives `bytes` back to the user (a file removed).
pub async fn credit(conn: &mut AsyncPgConnection, user: UserId, bytes: i64) -> diesel::QueryResult<()> {
    diesel::sql_query("UPDATE user_storage SET used_bytes = GREATEST(used_bytes - $2, 0), updated_at = now() WHERE user_id = $1")
        .bind::<SqlUuid, _>(user)
        .bind::<BigInt, _>(bytes)
        .execute(conn)
        .await
        .map(drop)
}

/// Attaches the uploader's unclaimed attachments to a message (again, for
/// a retried send); the files claimed, or `None` if any was not claimable
/// (call in a transaction and roll back then).
pub async fn claim(
    conn: &mut AsyncPgConnection,
    ids: &[FileId],
    user: UserId,
    ws: WorkspaceId,
    message: MessageId,
) -> diesel::QueryResult<Option<Vec<File>>> {
    let raw: Vec<uuid::Uuid> = ids.iter().map(|i| i.0).collect();
    let claimed: Vec<File> = diesel::sql_query(format!(
        "UPDATE file_attachments SET message_id = $4, workspace_id = $3
          WHERE id = ANY($1) AND uploaded_by = $2 AND kind = 'attachment' AND (message_id IS NULL OR message_id = $4)
            AND orphaned_at IS NULL
          RETURNING {COLS}"
    ))
    .bind::<Array<SqlUuid>, _>(&raw)
    .bind::<SqlUuid, _>(user)
    .bind::<SqlUuid, _>(ws)
    .bind::<SqlUuid, _>(message)
    .load(conn)
    .await?;
    if claimed.len() != ids.len() {
        return Ok(None);
    }
    // In the order the sender gave.
    let mut ordered = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(f) = claimed.iter().find(|f| f.id == *id) {
            ordered.push(f.clone());
        }
    }
    Ok(Some(ordered))
}

/// The message was deleted: its files become unreadable now; the ids.
pub async fn orphan_message_files(conn: &mut AsyncPgConnection, message: MessageId) -> diesel::QueryResult<Vec<FileId>> {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = SqlUuid)]
        id: FileId,
    }
    let ids: Vec<Id> =
        diesel::sql_query("UPDATE file_attachments SET orphaned_at = now() WHERE message_id = $1 AND orphaned_at IS NULL RETURNING id")
            .bind::<SqlUuid, _>(message)
            .load(conn)
            .await?;
    Ok(ids.into_iter().map(|i| i.id).collect())
}

pub async fn set_thumbnail(conn: &mut AsyncPgConnection, id: FileId, key: &str) -> diesel::QueryResult<()> {
    diesel::sql_query("UPDATE file_attachments SET thumbnail_key = $2 WHERE id = $1")
        .bind::<SqlUuid, _>(id)
        .bind::<Text, _>(key)
        .execute(conn)
        .await
        .map(drop)
}

/// The uploader's other avatars for the same profile scope (replaced by
/// `except`).
pub async fn earlier_avatars(
    conn: &mut AsyncPgConnection,
    user: UserId,
    ws: Option<WorkspaceId>,
    except: FileId,
) -> diesel::QueryResult<Vec<FileId>> {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = SqlUuid)]
        id: FileId,
    }
    let ids: Vec<Id> = diesel::sql_query(
        "SELECT id FROM file_attachments
          WHERE kind = 'avatar' AND uploaded_by = $1 AND workspace_id IS NOT DISTINCT FROM $2 AND id <> $3",
    )
    .bind::<SqlUuid, _>(user)
    .bind::<Nullable<SqlUuid>, _>(ws)
    .bind::<SqlUuid, _>(except)
    .load(conn)
    .await?;
    Ok(ids.into_iter().map(|i| i.id).collect())
}

/// Whether a newer avatar replaced this one.
pub async fn is_replaced_avatar(conn: &mut AsyncPgConnection, f: &File) -> diesel::QueryResult<bool> {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let n: N = diesel::sql_query(
        "SELECT count(*) AS n FROM file_attachments
          WHERE kind = 'avatar' AND uploaded_by = $1 AND workspace_id IS NOT DISTINCT FROM $2 AND created_at > $3",
    )
    .bind::<SqlUuid, _>(f.uploaded_by)
    .bind::<Nullable<SqlUuid>, _>(f.workspace_id)
    .bind::<Timestamptz, _>(f.created_at)
    .get_result(conn)
    .await?;
    Ok(n.n > 0)
}
