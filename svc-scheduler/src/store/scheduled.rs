//! `scheduled_messages`.

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use ocomms_domain::{ChannelId, ConversationId, FileId, MessageId};
use ocomms_runtime::ids::{UserId, WorkspaceId};

use crate::domain::{ScheduledMessageId, ScheduledStatus};

#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct Scheduled {
    #[diesel(sql_type = SqlUuid)]
    pub id: ScheduledMessageId,
    #[diesel(sql_type = SqlUuid)]
    pub workspace_id: WorkspaceId,
    #[diesel(sql_type = SqlUuid)]
    pub author_id: UserId,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub channel_id: Option<ChannelId>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub conversation_id: Option<ConversationId>,
    #[diesel(sql_type = Text)]
    pub content: String,
    #[diesel(sql_type = Timestamptz)]
    pub scheduled_for: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    pub timezone: String,
    #[diesel(sql_type = Text)]
    pub status: ScheduledStatus,
    #[diesel(sql_type = Nullable<Text>)]
    pub error: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub message_id: Option<MessageId>,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: DateTime<Utc>,
    #[diesel(sql_type = diesel::sql_types::Array<SqlUuid>)]
    pub attachment_ids: Vec<FileId>,
}

const COLS: &str = "id, workspace_id, author_id, channel_id, conversation_id, content, scheduled_for, timezone, status, error, message_id, created_at, updated_at, attachment_ids";

pub struct New<'a> {
    pub id: ScheduledMessageId,
    pub workspace_id: WorkspaceId,
    pub author_id: UserId,
    pub channel_id: Option<ChannelId>,
    pub conversation_id: Option<ConversationId>,
    pub content: &'a str,
    pub scheduled_for: DateTime<Utc>,
    pub timezone: &'a str,
    pub attachment_ids: &'a [FileId],
}

pub async fn insert(conn: &mut AsyncPgConnection, n: &New<'_>) -> diesel::QueryResult<Scheduled> {
    diesel::sql_query(format!(
        "INSERT INTO scheduled_messages (id, workspace_id, author_id, channel_id, conversation_id, content, scheduled_for, timezone, attachment_ids)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {COLS}"
    ))
    .bind::<SqlUuid, _>(n.id)
    .bind::<SqlUuid, _>(n.workspace_id)
    .bind::<SqlUuid, _>(n.author_id)
    .bind::<Nullable<SqlUuid>, _>(n.channel_id)
    .bind::<Nullable<SqlUuid>, _>(n.conversation_id)
    .bind::<Text, _>(n.content)
    .bind::<Timestamptz, _>(n.scheduled_for)
    .bind::<Text, _>(n.timezone)
    .bind::<diesel::sql_types::Array<SqlUuid>, _>(n.attachment_ids)
    .get_result(conn)
    .await
}

/// The author's scheduled messages, cancelled ones left out: those still
/// to send first, soonest first, then the sent and failed ones, latest
/// first (at most 500).
pub async fn list_for(conn: &mut AsyncPgConnection, author: UserId) -> diesel::QueryResult<Vec<Scheduled>> {
    diesel::sql_query(format!(
        "SELECT {COLS} FROM scheduled_messages WHERE author_id = $1 AND status <> 'cancelled'
          ORDER BY status NOT IN ('pending', 'processing'),
                   CASE WHEN status IN ('pending', 'processing') THEN scheduled_for END ASC,
                   scheduled_for DESC, id
          LIMIT 500"
    ))
    .bind::<SqlUuid, _>(author)
    .load(conn)
    .await
}

/// Every scheduled message of the author in `ws`, oldest first (GDPR export).
pub async fn all_in(conn: &mut AsyncPgConnection, author: UserId, ws: WorkspaceId) -> diesel::QueryResult<Vec<Scheduled>> {
    diesel::sql_query(format!("SELECT {COLS} FROM scheduled_messages WHERE author_id = $1 AND workspace_id = $2 ORDER BY created_at, id"))
        .bind::<SqlUuid, _>(author)
        .bind::<SqlUuid, _>(ws)
        .load(conn)
        .await
}

pub async fn get_for(conn: &mut AsyncPgConnection, id: ScheduledMessageId, author: UserId) -> diesel::QueryResult<Option<Scheduled>> {
    use diesel::OptionalExtension;
    diesel::sql_query(format!("SELECT {COLS} FROM scheduled_messages WHERE id = $1 AND author_id = $2"))
        .bind::<SqlUuid, _>(id)
        .bind::<SqlUuid, _>(author)
        .get_result(conn)
        .await
        .optional()
}

pub async fn get(conn: &mut AsyncPgConnection, id: ScheduledMessageId) -> diesel::QueryResult<Option<Scheduled>> {
    use diesel::OptionalExtension;
    diesel::sql_query(format!("SELECT {COLS} FROM scheduled_messages WHERE id = $1"))
        .bind::<SqlUuid, _>(id)
        .get_result(conn)
        .await
        .optional()
}

/// Changes a pending one; `None` when it is not pending (any more).
pub async fn update_pending(
    conn: &mut AsyncPgConnection,
    id: ScheduledMessageId,
    author: UserId,
    content: &str,
    scheduled_for: DateTime<Utc>,
    timezone: &str,
) -> diesel::QueryResult<Option<Scheduled>> {
    use diesel::OptionalExtension;
    diesel::sql_query(format!(
        "UPDATE scheduled_messages SET content = $3, scheduled_for = $4, timezone = $5, updated_at = now()
          WHERE id = $1 AND author_id = $2 AND status = 'pending' RETURNING {COLS}"
    ))
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(author)
    .bind::<Text, _>(content)
    .bind::<Timestamptz, _>(scheduled_for)
    .bind::<Text, _>(timezone)
    .get_result(conn)
    .await
    .optional()
}

/// Cancels a pending one; `None` when it is not pending (any more).
pub async fn cancel_pending(
    conn: &mut AsyncPgConnection,
    id: ScheduledMessageId,
    author: UserId,
) -> diesel::QueryResult<Option<Scheduled>> {
    use diesel::OptionalExtension;
    diesel::sql_query(format!(
        "UPDATE scheduled_messages SET status = 'cancelled', updated_at = now()
          WHERE id = $1 AND author_id = $2 AND status = 'pending' RETURNING {COLS}"
    ))
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(author)
    .get_result(conn)
    .await
    .optional()
}

/// Claims up to `limit` due messages (pending → processing), skipping rows
/// another replica holds. Call in the transaction that enqueues their jobs.
pub async fn claim_due(conn: &mut AsyncPgConnection, limit: i64) -> diesel::QueryResult<Vec<ScheduledMessageId>> {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = SqlUuid)]
        id: ScheduledMessageId,
    }
    let ids: Vec<Id> = diesel::sql_query(
        "UPDATE scheduled_messages SET status = 'processing', updated_at = now()
          WHERE id IN (SELECT id FROM scheduled_messages WHERE status = 'pending' AND scheduled_for <= now()
                        ORDER BY scheduled_for LIMIT $1 FOR UPDATE SKIP LOCKED)
          RETURNING id",
    )
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?;
    Ok(ids.into_iter().map(|i| i.id).collect())
}

/// processing → sent; false when it was not processing (already done).
pub async fn mark_sent(conn: &mut AsyncPgConnection, id: ScheduledMessageId, message: MessageId) -> diesel::QueryResult<bool> {
    diesel::sql_query(
        "UPDATE scheduled_messages SET status = 'sent', message_id = $2, error = NULL, updated_at = now()
          WHERE id = $1 AND status = 'processing'",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(message)
    .execute(conn)
    .await
    .map(|n| n == 1)
}

/// processing → failed with a readable reason; `None` when it was not
/// processing.
pub async fn mark_failed(conn: &mut AsyncPgConnection, id: ScheduledMessageId, error: &str) -> diesel::QueryResult<Option<Scheduled>> {
    use diesel::OptionalExtension;
    diesel::sql_query(format!(
        "UPDATE scheduled_messages SET status = 'failed', error = $2, updated_at = now()
          WHERE id = $1 AND status = 'processing' RETURNING {COLS}"
    ))
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(error)
    .get_result(conn)
    .await
    .optional()
}

/// How many of the author's messages wait to be sent.
pub async fn count_pending(conn: &mut AsyncPgConnection, author: UserId) -> diesel::QueryResult<i64> {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let n: N = diesel::sql_query("SELECT count(*) AS n FROM scheduled_messages WHERE author_id = $1 AND status = 'pending'")
        .bind::<SqlUuid, _>(author)
        .get_result(conn)
        .await?;
    Ok(n.n)
}
