//! Every query of svc-scheduler. Rows are read with the caller's id in the
//! filter (someone else's row does not exist for them); state changes say
//! which status they start from, so a change that lost a race changes
//! nothing and is answered as such.

pub mod reminders;
pub mod scheduled;

use chrono::{DateTime, Utc};
use diesel::sql_types::{Nullable, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

/// The channel other replicas LISTEN on: something due earlier was added.
pub const WAKE_CHANNEL: &str = "ocomms_scheduler_wake";

/// Wakes every scheduler replica's timer (delivered at commit).
pub async fn notify_wake(conn: &mut AsyncPgConnection) -> diesel::QueryResult<()> {
    diesel::sql_query(format!("NOTIFY {WAKE_CHANNEL}")).execute(conn).await.map(drop)
}

#[derive(diesel::QueryableByName)]
struct Next {
    #[diesel(sql_type = Nullable<Timestamptz>)]
    at: Option<DateTime<Utc>>,
}

/// The earliest time something is due (a scheduled message or a reminder).
pub async fn next_due(conn: &mut AsyncPgConnection) -> diesel::QueryResult<Option<DateTime<Utc>>> {
    let n: Next = diesel::sql_query(
        "SELECT LEAST(
            (SELECT min(scheduled_for) FROM scheduled_messages WHERE status = 'pending'),
            (SELECT min(remind_at) FROM reminders WHERE status IN ('pending', 'snoozed'))) AS at",
    )
    .get_result(conn)
    .await?;
    Ok(n.at)
}
