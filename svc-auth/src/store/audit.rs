use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use ocomms_runtime::ids::{UserId, WorkspaceId};

use crate::domain::AuditLogId;
use crate::schema::audit_logs;

/// One security event. Failures to record are logged, never fatal to the
/// request that caused them.
pub struct Entry<'a> {
    pub workspace_id: Option<WorkspaceId>,
    pub user_id: Option<UserId>,
    pub action: &'a str,
    pub ip_address: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub details: serde_json::Value,
}

pub async fn record(conn: &mut AsyncPgConnection, e: Entry<'_>) {
    let res = diesel::insert_into(audit_logs::table)
        .values((
            audit_logs::id.eq(AuditLogId::new()),
            audit_logs::workspace_id.eq(e.workspace_id),
            audit_logs::user_id.eq(e.user_id),
            audit_logs::action.eq(e.action),
            audit_logs::ip_address.eq(e.ip_address),
            audit_logs::user_agent.eq(e.user_agent),
            audit_logs::details.eq(e.details),
        ))
        .execute(conn)
        .await;
    if let Err(err) = res {
        tracing::error!(error = %err, action = e.action, "audit log write failed");
    }
}

#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct Row {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: AuditLogId,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
    pub workspace_id: Option<WorkspaceId>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
    pub user_id: Option<UserId>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub action: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub ip_address: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub user_agent: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    pub details: serde_json::Value,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub created_at: chrono::DateTime<chrono::Utc>,
}

pub struct Filter<'a> {
    pub workspace_id: WorkspaceId,
    pub start: Option<chrono::DateTime<chrono::Utc>>,
    pub end: Option<chrono::DateTime<chrono::Utc>>,
    pub action: Option<&'a str>,
    pub limit: i64,
    pub offset: i64,
}

/// What a workspace's owner may read, newest first: the workspace's own
/// events, and the account events (sign-ins, lockouts, sessions, 2FA:
/// entries of no workspace) of its current members from the time they
/// joined. Nothing of another workspace, nothing of a member from before.
pub async fn list(conn: &mut AsyncPgConnection, f: Filter<'_>) -> QueryResult<Vec<Row>> {
    use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz, Uuid as SqlUuid};
    diesel::sql_query(
        "SELECT id, workspace_id, user_id, action, ip_address, user_agent, details, created_at
           FROM audit_logs a
          WHERE (a.workspace_id = $1
                 OR (a.workspace_id IS NULL
                     AND EXISTS (SELECT 1 FROM members m
                                  WHERE m.workspace_id = $1 AND m.user_id = a.user_id AND m.created_at <= a.created_at)))
            AND ($2::timestamptz IS NULL OR a.created_at >= $2)
            AND ($3::timestamptz IS NULL OR a.created_at <= $3)
            AND ($4::text IS NULL OR a.action = $4)
          ORDER BY a.created_at DESC, a.id DESC
          LIMIT $5 OFFSET $6",
    )
    .bind::<SqlUuid, _>(f.workspace_id)
    .bind::<Nullable<Timestamptz>, _>(f.start)
    .bind::<Nullable<Timestamptz>, _>(f.end)
    .bind::<Nullable<Text>, _>(f.action)
    .bind::<BigInt, _>(f.limit)
    .bind::<BigInt, _>(f.offset)
    .load(conn)
    .await
}

/// Whether the user signed up or in before from this user agent (a sign-in
/// from anywhere else is a new device, and they are told).
pub async fn agent_seen(conn: &mut AsyncPgConnection, user: UserId, agent: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        audit_logs::table
            .filter(audit_logs::user_id.eq(user))
            .filter(audit_logs::user_agent.eq(agent))
            .filter(audit_logs::action.eq_any(["login_success", "sign_up"])),
    ))
    .get_result(conn)
    .await
}
