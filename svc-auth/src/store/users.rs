use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use ocomms_runtime::ids::UserId;

use crate::schema::{lockouts, password_history, users};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub email_verified: bool,
    pub image: Option<String>,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: UserId,
    pub email: &'a str,
    pub email_normalized: &'a str,
    pub name: &'a str,
    pub password_hash: &'a str,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: NewUser<'_>) -> QueryResult<User> {
    diesel::insert_into(users::table).values(&new).returning(User::as_returning()).get_result(conn).await
}

pub async fn add_password_history(conn: &mut AsyncPgConnection, user: UserId, hash: &str) -> QueryResult<()> {
    diesel::insert_into(password_history::table)
        .values((
            password_history::id.eq(uuid::Uuid::now_v7()),
            password_history::user_id.eq(user),
            password_history::password_hash.eq(hash),
        ))
        .execute(conn)
        .await
        .map(drop)
}

pub async fn by_email(conn: &mut AsyncPgConnection, email_normalized: &str) -> QueryResult<Option<User>> {
    users::table.filter(users::email_normalized.eq(email_normalized)).select(User::as_select()).first(conn).await.optional()
}

/// Locks a user's row for the rest of the transaction.
pub async fn lock(conn: &mut AsyncPgConnection, user: UserId) -> QueryResult<()> {
    users::table.find(user).select(users::id).for_update().first::<UserId>(conn).await.map(drop)
}

pub async fn by_ids(conn: &mut AsyncPgConnection, ids: &[UserId]) -> QueryResult<Vec<User>> {
    users::table.filter(users::id.eq_any(ids)).select(User::as_select()).load(conn).await
}

#[derive(Debug, Clone, Default, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = lockouts, check_for_backend(diesel::pg::Pg))]
pub struct Lockout {
    pub failed_attempts: i32,
    pub lockout_count: i32,
    pub locked_until: Option<DateTime<Utc>>,
}

pub async fn lockout(conn: &mut AsyncPgConnection, user: UserId) -> QueryResult<Lockout> {
    Ok(lockouts::table.find(user).select(Lockout::as_select()).first(conn).await.optional()?.unwrap_or_default())
}

/// Reserves one of the `max` sign-in attempts the account allows before
/// its lock, atomically, before the password is checked: concurrent
/// attempts each get their own number (`failed_attempts` of the answer,
/// 1 to `max`), and none at all while the account is locked or its `max`
/// attempts are in flight (None). A reservation is spent by a failure,
/// released by [`release_attempt`] when no answer came, or cleared by a
/// success. One left over by a crash mid-attempt expires after `stale_secs`.
pub async fn reserve_attempt(conn: &mut AsyncPgConnection, user: UserId, max: i32, stale_secs: i32) -> QueryResult<Option<Lockout>> {
    use diesel::sql_types::{Integer, Uuid as SqlUuid};
    diesel::sql_query(
        "INSERT INTO lockouts AS l (user_id, failed_attempts) VALUES ($1, 1)
         ON CONFLICT (user_id) DO UPDATE
            SET failed_attempts = CASE WHEN l.failed_attempts >= $2 THEN 1 ELSE l.failed_attempts + 1 END,
                updated_at = now()
          WHERE (l.locked_until IS NULL OR l.locked_until <= now())
            AND (l.failed_attempts < $2 OR l.updated_at < now() - make_interval(secs => $3))
         RETURNING failed_attempts, lockout_count, locked_until",
    )
    .bind::<SqlUuid, _>(user)
    .bind::<Integer, _>(max)
    .bind::<Integer, _>(stale_secs)
    .get_result(conn)
    .await
    .optional()
}

/// Gives back a reserved attempt that neither failed nor succeeded (the
/// second factor was asked for, or the check could not run). Nothing
/// changes once a lock is set.
pub async fn release_attempt(conn: &mut AsyncPgConnection, user: UserId) -> QueryResult<()> {
    diesel::update(
        lockouts::table
            .find(user)
            .filter(lockouts::failed_attempts.gt(0))
            .filter(lockouts::locked_until.is_null().or(lockouts::locked_until.le(diesel::dsl::now))),
    )
    .set((lockouts::failed_attempts.eq(lockouts::failed_attempts - 1), lockouts::updated_at.eq(diesel::dsl::now)))
    .execute(conn)
    .await
    .map(drop)
}

pub async fn set_lockout(conn: &mut AsyncPgConnection, user: UserId, l: &Lockout) -> QueryResult<()> {
    diesel::insert_into(lockouts::table)
        .values((
            lockouts::user_id.eq(user),
            lockouts::failed_attempts.eq(l.failed_attempts),
            lockouts::lockout_count.eq(l.lockout_count),
            lockouts::locked_until.eq(l.locked_until),
        ))
        .on_conflict(lockouts::user_id)
        .do_update()
        .set((
            lockouts::failed_attempts.eq(l.failed_attempts),
            lockouts::lockout_count.eq(l.lockout_count),
            lockouts::locked_until.eq(l.locked_until),
            lockouts::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Forgets every failure and lock (a password reset).
pub async fn clear_lockout(conn: &mut AsyncPgConnection, user: UserId) -> QueryResult<()> {
    diesel::delete(lockouts::table.find(user)).execute(conn).await.map(drop)
}

/// Seed 5.3: a successful sign-in clears the lockout state, unless a lock
/// is in force (set by concurrent failures: a right password checked at
/// the same time never lifts it).
pub async fn clear_unless_locked(conn: &mut AsyncPgConnection, user: UserId) -> QueryResult<()> {
    diesel::delete(lockouts::table.find(user).filter(lockouts::locked_until.is_null().or(lockouts::locked_until.le(diesel::dsl::now))))
        .execute(conn)
        .await
        .map(drop)
}

/// The last `n` password hashes of a user, newest first.
pub async fn recent_password_hashes(conn: &mut AsyncPgConnection, user: UserId, n: i64) -> QueryResult<Vec<String>> {
    password_history::table
        .filter(password_history::user_id.eq(user))
        .order(password_history::created_at.desc())
        .limit(n)
        .select(password_history::password_hash)
        .load(conn)
        .await
}

pub async fn set_password(conn: &mut AsyncPgConnection, user: UserId, hash: &str) -> QueryResult<()> {
    diesel::update(users::table.find(user))
        .set((users::password_hash.eq(hash), users::updated_at.eq(diesel::dsl::now)))
        .execute(conn)
        .await
        .map(drop)
}

pub async fn insert_reset(conn: &mut AsyncPgConnection, user: UserId, token_hash: &str, expires_at: DateTime<Utc>) -> QueryResult<()> {
    use crate::schema::password_resets as r;
    diesel::insert_into(r::table)
        .values((r::token_hash.eq(token_hash), r::user_id.eq(user), r::expires_at.eq(expires_at)))
        .execute(conn)
        .await
        .map(drop)
}

/// Voids every reset token of a user not used yet (a reset succeeded: the
/// other links it was sent must not work any more).
pub async fn void_resets(conn: &mut AsyncPgConnection, user: UserId) -> QueryResult<usize> {
    use crate::schema::password_resets as r;
    diesel::update(r::table.filter(r::user_id.eq(user)).filter(r::used_at.is_null()))
        .set(r::used_at.eq(diesel::dsl::now))
        .execute(conn)
        .await
}

/// The user a reset token (by hash) is for, while it is unused and
/// unexpired; it is not spent (`take_reset` spends it).
pub async fn pending_reset(conn: &mut AsyncPgConnection, hash: &str) -> QueryResult<Option<UserId>> {
    use crate::schema::password_resets as pr;
    pr::table
        .find(hash)
        .filter(pr::used_at.is_null())
        .filter(pr::expires_at.gt(diesel::dsl::now))
        .select(pr::user_id)
        .first(conn)
        .await
        .optional()
}

/// Spends a live reset token (single use): returns its user.
pub async fn take_reset(conn: &mut AsyncPgConnection, token_hash: &str) -> QueryResult<Option<UserId>> {
    use crate::schema::password_resets as r;
    diesel::update(r::table.find(token_hash).filter(r::used_at.is_null()).filter(r::expires_at.gt(diesel::dsl::now)))
        .set(r::used_at.eq(diesel::dsl::now))
        .returning(r::user_id)
        .get_result(conn)
        .await
        .optional()
}
