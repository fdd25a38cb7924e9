//! A user's notification settings: per channel (level, muted) and for email
//! (the digest interval).

use diesel::OptionalExtension;
use diesel::sql_types::{Array, Bool, Integer, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use ocomms_domain::ChannelId;
use ocomms_runtime::ids::UserId;

use crate::domain::Level;

/// A channel's settings for a user.
#[derive(diesel::QueryableByName)]
pub struct ChannelRow {
    #[diesel(sql_type = SqlUuid)]
    pub channel_id: ChannelId,
    #[diesel(sql_type = Text)]
    pub level: Level,
    #[diesel(sql_type = Bool)]
    pub muted: bool,
}

/// The user's settings for a channel, if they changed them.
pub async fn channel(conn: &mut AsyncPgConnection, user: UserId, channel: ChannelId) -> diesel::QueryResult<Option<ChannelRow>> {
    diesel::sql_query("SELECT channel_id, level, muted FROM channel_notification_settings WHERE user_id = $1 AND channel_id = $2")
        .bind::<SqlUuid, _>(user)
        .bind::<SqlUuid, _>(channel)
        .get_result(conn)
        .await
        .optional()
}

/// Who muted a channel, or set it to no notifications at all.
pub async fn muted_in(conn: &mut AsyncPgConnection, channel: ChannelId) -> diesel::QueryResult<Vec<UserId>> {
    #[derive(diesel::QueryableByName)]
    struct Muted {
        #[diesel(sql_type = SqlUuid)]
        user_id: UserId,
    }
    let rows: Vec<Muted> =
        diesel::sql_query("SELECT user_id FROM channel_notification_settings WHERE channel_id = $1 AND (muted OR level = $2)")
            .bind::<SqlUuid, _>(channel)
            .bind::<Text, _>(Level::None)
            .load(conn)
            .await?;
    Ok(rows.into_iter().map(|m| m.user_id).collect())
}

/// The user's settings for these channels (those they changed), by channel.
pub async fn channels(conn: &mut AsyncPgConnection, user: UserId, channels: &[ChannelId]) -> diesel::QueryResult<Vec<ChannelRow>> {
    diesel::sql_query(
        "SELECT channel_id, level, muted FROM channel_notification_settings WHERE user_id = $1 AND channel_id = ANY($2) ORDER BY channel_id",
    )
    .bind::<SqlUuid, _>(user)
    .bind::<Array<SqlUuid>, _>(channels)
    .load(conn)
    .await
}

pub async fn set_channel(
    conn: &mut AsyncPgConnection,
    user: UserId,
    channel: ChannelId,
    level: Level,
    muted: bool,
) -> diesel::QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO channel_notification_settings (user_id, channel_id, level, muted) VALUES ($1, $2, $3, $4)
         ON CONFLICT (user_id, channel_id) DO UPDATE SET level = excluded.level, muted = excluded.muted, updated_at = now()",
    )
    .bind::<SqlUuid, _>(user)
    .bind::<SqlUuid, _>(channel)
    .bind::<Text, _>(level)
    .bind::<Bool, _>(muted)
    .execute(conn)
    .await
    .map(drop)
}

/// The user's email digest interval in minutes (the default when unset).
pub async fn email_minutes(conn: &mut AsyncPgConnection, user: UserId) -> diesel::QueryResult<i32> {
    #[derive(diesel::QueryableByName)]
    struct M {
        #[diesel(sql_type = Integer)]
        digest_minutes: i32,
    }
    let m: Option<M> = diesel::sql_query("SELECT digest_minutes FROM email_settings WHERE user_id = $1")
        .bind::<SqlUuid, _>(user)
        .get_result(conn)
        .await
        .optional()?;
    Ok(m.map_or(crate::digest::DEFAULT_MINUTES, |m| m.digest_minutes))
}

pub async fn set_email_minutes(conn: &mut AsyncPgConnection, user: UserId, minutes: u32) -> diesel::QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO email_settings (user_id, digest_minutes) VALUES ($1, $2)
         ON CONFLICT (user_id) DO UPDATE SET digest_minutes = excluded.digest_minutes, updated_at = now()",
    )
    .bind::<SqlUuid, _>(user)
    .bind::<Integer, _>(i32::try_from(minutes).unwrap_or_default())
    .execute(conn)
    .await
    .map(drop)
}
