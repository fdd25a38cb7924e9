//! The last status each user set in each workspace, for "last seen" once
//! the live entry expired.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use ocomms_runtime::ids::{UserId, WorkspaceId};

use crate::domain::Status;

#[derive(QueryableByName)]
pub struct LastSeen {
    #[diesel(sql_type = SqlUuid)]
    pub user_id: UserId,
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: DateTime<Utc>,
}

pub async fn set(conn: &mut AsyncPgConnection, ws: WorkspaceId, user: UserId, status: Status, at: DateTime<Utc>) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO last_seen (workspace_id, user_id, status, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (workspace_id, user_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at",
    )
    .bind::<SqlUuid, _>(ws)
    .bind::<SqlUuid, _>(user)
    .bind::<Text, _>(status.as_str())
    .bind::<Timestamptz, _>(at)
    .execute(conn)
    .await
    .map(drop)
}

pub async fn of(conn: &mut AsyncPgConnection, ws: WorkspaceId, users: &[UserId]) -> QueryResult<Vec<LastSeen>> {
    diesel::sql_query("SELECT user_id, updated_at FROM last_seen WHERE workspace_id = $1 AND user_id = ANY($2)")
        .bind::<SqlUuid, _>(ws)
        .bind::<Array<SqlUuid>, _>(users)
        .load(conn)
        .await
}
