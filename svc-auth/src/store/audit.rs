use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use ocomms_runtime::ids::{UserId, WorkspaceId};

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
            audit_logs::id.eq(uuid::Uuid::now_v7()),
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
