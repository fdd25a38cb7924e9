use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use ocomms_runtime::ids::{SessionId, UserId};

use crate::schema::{sessions, users};
use crate::store::users::User;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions, check_for_backend(diesel::pg::Pg))]
pub struct Session {
    pub id: SessionId,
    pub user_id: UserId,
    pub expires_at: DateTime<Utc>,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Insertable)]
#[diesel(table_name = sessions)]
pub struct NewSession<'a> {
    pub id: SessionId,
    pub user_id: UserId,
    pub token_hash: &'a str,
    pub expires_at: DateTime<Utc>,
    pub ip_address: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

pub async fn insert(conn: &mut AsyncPgConnection, new: NewSession<'_>) -> QueryResult<Session> {
    diesel::insert_into(sessions::table).values(&new).returning(Session::as_returning()).get_result(conn).await
}

/// The live session for a token hash, with its user.
pub async fn by_token_hash(conn: &mut AsyncPgConnection, hash: &str) -> QueryResult<Option<(Session, User)>> {
    sessions::table
        .inner_join(users::table)
        .filter(sessions::token_hash.eq(hash))
        .filter(sessions::expires_at.gt(diesel::dsl::now))
        .select((Session::as_select(), User::as_select()))
        .first(conn)
        .await
        .optional()
}

/// Sliding renewal: pushes the expiry out.
pub async fn extend(conn: &mut AsyncPgConnection, id: SessionId, until: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(sessions::table.find(id))
        .set((sessions::expires_at.eq(until), sessions::last_seen_at.eq(diesel::dsl::now)))
        .execute(conn)
        .await
        .map(drop)
}

pub async fn delete(conn: &mut AsyncPgConnection, id: SessionId) -> QueryResult<usize> {
    diesel::delete(sessions::table.find(id)).execute(conn).await
}

/// The user's live sessions, newest first.
pub async fn for_user(conn: &mut AsyncPgConnection, user: UserId) -> QueryResult<Vec<Session>> {
    sessions::table
        .filter(sessions::user_id.eq(user))
        .filter(sessions::expires_at.gt(diesel::dsl::now))
        .order(sessions::created_at.desc())
        .select(Session::as_select())
        .load(conn)
        .await
}

/// Deletes the user's sessions matching `which` (one id, or all but one);
/// returns the ids deleted.
pub async fn delete_for_user(
    conn: &mut AsyncPgConnection,
    user: UserId,
    only: Option<SessionId>,
    except: Option<SessionId>,
) -> QueryResult<Vec<SessionId>> {
    let mut q = diesel::delete(sessions::table).filter(sessions::user_id.eq(user)).into_boxed();
    if let Some(id) = only {
        q = q.filter(sessions::id.eq(id));
    }
    if let Some(id) = except {
        q = q.filter(sessions::id.ne(id));
    }
    q.returning(sessions::id).get_results(conn).await
}
