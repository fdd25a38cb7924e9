//! Queries on notifications shared by the consumers.

use diesel::sql_types::{Jsonb, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use ocomms_runtime::ids::UserId;
use ocomms_runtime::time::rfc3339;

/// A notification to make.
pub struct New<'a> {
    pub user: UserId,
    pub workspace: Option<uuid::Uuid>,
    /// mention | channel | here | thread_reply | dm | reminder | scheduled_failed
    pub kind: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    pub data: &'a serde_json::Value,
}

/// Inserts it, with a push job per subscription of the user and, for
/// mentions and DMs, a pending email digest; answers the notification as `notification:new` carries it.
pub async fn insert(conn: &mut AsyncPgConnection, n: &New<'_>) -> diesel::QueryResult<serde_json::Value> {
    let id = uuid::Uuid::now_v7();
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
    if crate::digest::KINDS.contains(&n.kind) {
        crate::digest::schedule(conn, n.user).await?;
    }
    Ok(serde_json::json!({
        "id": id, "type": n.kind, "title": n.title, "body": n.body, "data": n.data.to_string(),
        "isRead": false, "createdAt": rfc3339(chrono::Utc::now()),
    }))
}
