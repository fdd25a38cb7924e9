//! `reminders`.

use chrono::{DateTime, NaiveTime, Utc};
use diesel::OptionalExtension;
use diesel::sql_types::{BigInt, Nullable, Text, Time, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use ocomms_domain::MessageId;
use ocomms_runtime::ids::{UserId, WorkspaceId};

use crate::domain::{Recurrence, ReminderId, ReminderStatus};

#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct Reminder {
    #[diesel(sql_type = SqlUuid)]
    pub id: ReminderId,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub workspace_id: Option<WorkspaceId>,
    #[diesel(sql_type = SqlUuid)]
    pub user_id: UserId,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub message_id: Option<MessageId>,
    #[diesel(sql_type = Nullable<Text>)]
    pub text: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    pub remind_at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    pub status: ReminderStatus,
    #[diesel(sql_type = Nullable<Text>)]
    pub recurrence: Option<Recurrence>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub snoozed_until: Option<DateTime<Utc>>,
    #[diesel(sql_type = Text)]
    pub timezone: String,
    #[diesel(sql_type = Nullable<Time>)]
    pub local_time: Option<NaiveTime>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub fired_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
}

const COLS: &str =
    "id, workspace_id, user_id, message_id, text, remind_at, status, recurrence, snoozed_until, timezone, local_time, fired_at, created_at";

pub struct New<'a> {
    pub workspace_id: Option<WorkspaceId>,
    pub user_id: UserId,
    pub message_id: Option<MessageId>,
    pub text: Option<&'a str>,
    pub remind_at: DateTime<Utc>,
    pub recurrence: Option<&'a str>,
    pub timezone: &'a str,
    pub local_time: NaiveTime,
}

pub async fn insert(conn: &mut AsyncPgConnection, n: &New<'_>) -> diesel::QueryResult<Reminder> {
    diesel::sql_query(format!(
        "INSERT INTO reminders (id, workspace_id, user_id, message_id, text, remind_at, recurrence, timezone, local_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {COLS}"
    ))
    .bind::<SqlUuid, _>(ReminderId::new())
    .bind::<Nullable<SqlUuid>, _>(n.workspace_id)
    .bind::<SqlUuid, _>(n.user_id)
    .bind::<Nullable<SqlUuid>, _>(n.message_id)
    .bind::<Nullable<Text>, _>(n.text)
    .bind::<Timestamptz, _>(n.remind_at)
    .bind::<Nullable<Text>, _>(n.recurrence)
    .bind::<Text, _>(n.timezone)
    .bind::<Time, _>(n.local_time)
    .get_result(conn)
    .await
}

/// The user's live reminders: pending and snoozed ones first, soonest
/// first, then fired ones, latest first (at most 500).
pub async fn list_for(conn: &mut AsyncPgConnection, user: UserId) -> diesel::QueryResult<Vec<Reminder>> {
    diesel::sql_query(format!(
        "SELECT {COLS} FROM reminders WHERE user_id = $1 AND status IN ('pending', 'snoozed', 'fired')
          ORDER BY status = 'fired', CASE WHEN status <> 'fired' THEN remind_at END ASC, remind_at DESC, id
          LIMIT 500"
    ))
    .bind::<SqlUuid, _>(user)
    .load(conn)
    .await
}

/// Every reminder of the user in `ws` and, with `personal`, those of no
/// workspace, oldest first (GDPR export).
pub async fn all_in(conn: &mut AsyncPgConnection, user: UserId, ws: WorkspaceId, personal: bool) -> diesel::QueryResult<Vec<Reminder>> {
    diesel::sql_query(format!(
        "SELECT {COLS} FROM reminders WHERE user_id = $1 AND (workspace_id = $2 OR (workspace_id IS NULL AND $3)) ORDER BY created_at, id"
    ))
    .bind::<SqlUuid, _>(user)
    .bind::<SqlUuid, _>(ws)
    .bind::<diesel::sql_types::Bool, _>(personal)
    .load(conn)
    .await
}

pub async fn get_for(conn: &mut AsyncPgConnection, id: ReminderId, user: UserId) -> diesel::QueryResult<Option<Reminder>> {
    diesel::sql_query(format!("SELECT {COLS} FROM reminders WHERE id = $1 AND user_id = $2"))
        .bind::<SqlUuid, _>(id)
        .bind::<SqlUuid, _>(user)
        .get_result(conn)
        .await
        .optional()
}

/// Fires again at `until`; `None` when it is completed or cancelled.
pub async fn snooze(
    conn: &mut AsyncPgConnection,
    id: ReminderId,
    user: UserId,
    until: DateTime<Utc>,
) -> diesel::QueryResult<Option<Reminder>> {
    diesel::sql_query(format!(
        "UPDATE reminders SET status = 'snoozed', snoozed_until = $3, remind_at = $3, updated_at = now()
          WHERE id = $1 AND user_id = $2 AND status IN ('pending', 'snoozed', 'fired') RETURNING {COLS}"
    ))
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(user)
    .bind::<Timestamptz, _>(until)
    .get_result(conn)
    .await
    .optional()
}

/// Ends it (`completed` or `cancelled`); `None` when it already ended.
pub async fn end(
    conn: &mut AsyncPgConnection,
    id: ReminderId,
    user: UserId,
    status: ReminderStatus,
) -> diesel::QueryResult<Option<Reminder>> {
    diesel::sql_query(format!(
        "UPDATE reminders SET status = $3, snoozed_until = NULL, updated_at = now()
          WHERE id = $1 AND user_id = $2 AND status IN ('pending', 'snoozed', 'fired') RETURNING {COLS}"
    ))
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(user)
    .bind::<Text, _>(status)
    .get_result(conn)
    .await
    .optional()
}

/// Locks up to `limit` due reminders, skipping rows another replica holds.
/// Call in a transaction, then [`fired`] each.
pub async fn lock_due(conn: &mut AsyncPgConnection, limit: i64) -> diesel::QueryResult<Vec<Reminder>> {
    diesel::sql_query(format!(
        "SELECT {COLS} FROM reminders WHERE status IN ('pending', 'snoozed') AND remind_at <= now()
          ORDER BY remind_at LIMIT $1 FOR UPDATE SKIP LOCKED"
    ))
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// Records a firing: a one-off reminder becomes `fired`; a recurring one
/// stays pending, due at `next`.
pub async fn fired(conn: &mut AsyncPgConnection, id: ReminderId, next: Option<DateTime<Utc>>) -> diesel::QueryResult<()> {
    diesel::sql_query(
        "UPDATE reminders SET fired_at = now(), snoozed_until = NULL, updated_at = now(),
                status = CASE WHEN $2::timestamptz IS NULL THEN 'fired' ELSE 'pending' END,
                remind_at = COALESCE($2, remind_at)
          WHERE id = $1",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Nullable<Timestamptz>, _>(next)
    .execute(conn)
    .await
    .map(drop)
}
