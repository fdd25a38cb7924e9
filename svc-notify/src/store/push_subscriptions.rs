//! Browsers registered for web push (sending is `push.rs`).

use diesel::sql_types::{Array, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use ocomms_runtime::ids::UserId;

use crate::domain::PushSubscriptionId;

/// At most this many browsers per user: the oldest make room.
const PER_USER: i64 = 20;

/// Registers the endpoint for the user. The same endpoint again: its owner
/// renews it, or the browser it belongs to (same keys) changed accounts;
/// someone else naming it cannot take it over (false).
pub async fn register(conn: &mut AsyncPgConnection, user: UserId, endpoint: &str, p256dh: &str, auth: &str) -> diesel::QueryResult<bool> {
    let stored = diesel::sql_query(
        "INSERT INTO push_subscriptions (id, user_id, endpoint, p256dh, auth) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (endpoint) DO UPDATE SET user_id = excluded.user_id, p256dh = excluded.p256dh, auth = excluded.auth, created_at = now()
         WHERE push_subscriptions.user_id = excluded.user_id
            OR (push_subscriptions.p256dh = excluded.p256dh AND push_subscriptions.auth = excluded.auth)",
    )
    .bind::<SqlUuid, _>(PushSubscriptionId::new())
    .bind::<SqlUuid, _>(user)
    .bind::<Text, _>(endpoint)
    .bind::<Text, _>(p256dh)
    .bind::<Text, _>(auth)
    .execute(conn)
    .await?;
    if stored == 0 {
        return Ok(false);
    }
    diesel::sql_query(
        "DELETE FROM push_subscriptions WHERE user_id = $1 AND id NOT IN
           (SELECT id FROM push_subscriptions WHERE user_id = $1 ORDER BY created_at DESC LIMIT $2)",
    )
    .bind::<SqlUuid, _>(user)
    .bind::<diesel::sql_types::BigInt, _>(PER_USER)
    .execute(conn)
    .await?;
    Ok(true)
}

/// Removes the user's subscription with any of these endpoints.
pub async fn remove(conn: &mut AsyncPgConnection, user: UserId, endpoints: &[String]) -> diesel::QueryResult<()> {
    diesel::sql_query("DELETE FROM push_subscriptions WHERE user_id = $1 AND endpoint = ANY($2)")
        .bind::<SqlUuid, _>(user)
        .bind::<Array<Text>, _>(endpoints)
        .execute(conn)
        .await
        .map(drop)
}
