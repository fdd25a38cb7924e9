use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use ocomms_runtime::ids::UserId;

use crate::schema::two_factor;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = two_factor, check_for_backend(diesel::pg::Pg))]
pub struct TwoFactor {
    pub secret_encrypted: Vec<u8>,
    pub backup_code_hashes: Vec<String>,
    pub enabled: bool,
    pub last_used_step: i64,
}

pub async fn get(conn: &mut AsyncPgConnection, user: UserId) -> QueryResult<Option<TwoFactor>> {
    two_factor::table.find(user).select(TwoFactor::as_select()).first(conn).await.optional()
}

/// Starts (or restarts) a pending setup; an enabled one is left alone.
pub async fn begin(conn: &mut AsyncPgConnection, user: UserId, secret: &[u8], backup_hashes: &[String]) -> QueryResult<usize> {
    use diesel::sql_types::{Array, Bytea, Text, Uuid as SqlUuid};
    diesel::sql_query(
        "INSERT INTO two_factor (user_id, secret_encrypted, backup_code_hashes, enabled) VALUES ($1, $2, $3, false)
         ON CONFLICT (user_id) DO UPDATE
            SET secret_encrypted = excluded.secret_encrypted, backup_code_hashes = excluded.backup_code_hashes, last_used_step = 0
          WHERE NOT two_factor.enabled",
    )
    .bind::<SqlUuid, _>(user)
    .bind::<Bytea, _>(secret)
    .bind::<Array<Text>, _>(backup_hashes)
    .execute(conn)
    .await
}

/// Records a used code step (and enables a pending setup).
pub async fn used_step(conn: &mut AsyncPgConnection, user: UserId, step: i64) -> QueryResult<usize> {
    diesel::update(two_factor::table.find(user).filter(two_factor::last_used_step.lt(step)))
        .set((two_factor::last_used_step.eq(step), two_factor::enabled.eq(true)))
        .execute(conn)
        .await
}

/// Spends a backup code: true when it existed.
pub async fn use_backup(conn: &mut AsyncPgConnection, user: UserId, code_hash: &str) -> QueryResult<bool> {
    let n = diesel::sql_query("UPDATE two_factor SET backup_code_hashes = array_remove(backup_code_hashes, $2) WHERE user_id = $1 AND enabled AND $2 = ANY(backup_code_hashes)")
        .bind::<diesel::sql_types::Uuid, _>(user)
        .bind::<diesel::sql_types::Text, _>(code_hash)
        .execute(conn)
        .await?;
    Ok(n == 1)
}

pub async fn delete(conn: &mut AsyncPgConnection, user: UserId) -> QueryResult<usize> {
    diesel::delete(two_factor::table.find(user)).execute(conn).await
}
