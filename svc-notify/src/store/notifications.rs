//! Notifications: made by the consumers (mentions, reminders, failed
//! scheduled messages), read and marked read by their user.

use chrono::{DateTime, Utc};
use diesel::OptionalExtension;
use diesel::sql_types::{Bool, Integer, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use ocomms_runtime::ids::{UserId, WorkspaceId};
use ocomms_runtime::time::rfc3339;

use crate::domain::{NotificationId, NotificationKind};

/// A notification as stored.
#[derive(diesel::QueryableByName)]
pub struct Row {
    #[diesel(sql_type = SqlUuid)]
    pub id: NotificationId,
    #[diesel(sql_type = Text)]
    pub r#type: String,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub body: Option<String>,
    #[diesel(sql_type = Jsonb)]
    pub data: serde_json::Value,
    #[diesel(sql_type = Bool)]
    pub is_read: bool,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, type, title, body, data, is_read, created_at";

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// The user's notifications, newest first (only unread ones if asked).
pub async fn list(conn: &mut AsyncPgConnection, user: UserId, unread_only: bool, limit: i32) -> diesel::QueryResult<Vec<Row>> {
    diesel::sql_query(format!(
        "SELECT {COLUMNS} FROM notifications WHERE user_id = $1 AND (NOT $2 OR NOT is_read) ORDER BY created_at DESC LIMIT $3"
    ))
    .bind::<SqlUuid, _>(user)
    .bind::<Bool, _>(unread_only)
    .bind::<Integer, _>(limit)
    .load(conn)
    .await
}

/// How many of the user's notifications are unread (all of them, not a page).
pub async fn unread_count(conn: &mut AsyncPgConnection, user: UserId) -> diesel::QueryResult<i64> {
    let c: Count = diesel::sql_query("SELECT count(*) AS n FROM notifications WHERE user_id = $1 AND NOT is_read")
        .bind::<SqlUuid, _>(user)
        .get_result(conn)
        .await?;
    Ok(c.n)
}

/// Marks every unread notification of the user read; how many were.
pub async fn mark_all_read(conn: &mut AsyncPgConnection, user: UserId) -> diesel::QueryResult<usize> {
    diesel::sql_query("UPDATE notifications SET is_read = true WHERE user_id = $1 AND NOT is_read")
        .bind::<SqlUuid, _>(user)
        .execute(conn)
        .await
}

/// Marks one of the user's notifications read; None when they have no such one.
pub async fn mark_read(conn: &mut AsyncPgConnection, id: NotificationId, user: UserId) -> diesel::QueryResult<Option<Row>> {
    diesel::sql_query(format!("UPDATE notifications SET is_read = true WHERE id = $1 AND user_id = $2 RETURNING {COLUMNS}"))
        .bind::<SqlUuid, _>(id)
        .bind::<SqlUuid, _>(user)
        .get_result(conn)
        .await
        .optional()
}

/// A notification to make.
pub struct New<'a> {
    pub user: UserId,
    pub workspace: Option<WorkspaceId>,
    pub kind: NotificationKind,
    pub title: &'a str,
    pub body: &'a str,
    pub data: &'a serde_json::Value,
}

/// Inserts it, with a push job per subscription of the user and, for
/// mentions and DMs, a pending email digest; answers the notification as `notification:new` carries it.
pub async fn insert(conn: &mut AsyncPgConnection, n: &New<'_>) -> diesel::QueryResult<serde_json::Value> {
    let id = NotificationId::new();
    diesel::sql_query("INSERT INTO notifications (id, user_id, workspace_id, type, title, body, data) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind::<SqlUuid, _>(id)
        .bind::<SqlUuid, _>(n.user)
        .bind::<Nullable<SqlUuid>, _>(n.workspace)
        .bind::<Text, _>(n.kind)
        .bind::<Text, _>(n.title)
        .bind::<Text, _>(n.body)
        .bind::<Jsonb, _>(n.data)
        .execute(conn)
        .await?;
    crate::push::enqueue_for(conn, id, n.user).await?;
    if n.kind.emailed() {
        crate::digest::schedule(conn, n.user).await?;
    }
    Ok(serde_json::json!({
        "id": id, "type": n.kind, "title": n.title, "body": n.body, "data": n.data.to_string(),
        "isRead": false, "createdAt": rfc3339(chrono::Utc::now()),
    }))
}
