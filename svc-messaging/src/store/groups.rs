use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use ocomms_runtime::ids::{UserId, WorkspaceId};

use crate::domain::GroupId;
use crate::schema::{user_group_members, user_groups};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = user_groups, check_for_backend(diesel::pg::Pg))]
pub struct Group {
    pub id: GroupId,
    pub workspace_id: WorkspaceId,
    pub handle: String,
    pub name: String,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
}

pub async fn insert(conn: &mut AsyncPgConnection, g: &Group, members: &[UserId]) -> QueryResult<()> {
    diesel::insert_into(user_groups::table).values(g).execute(conn).await?;
    let rows: Vec<_> = members.iter().map(|u| (user_group_members::group_id.eq(g.id), user_group_members::user_id.eq(*u))).collect();
    diesel::insert_into(user_group_members::table).values(rows).on_conflict_do_nothing().execute(conn).await.map(drop)
}

pub async fn list(conn: &mut AsyncPgConnection, ws: WorkspaceId) -> QueryResult<Vec<(Group, Vec<UserId>)>> {
    let groups: Vec<Group> = user_groups::table
        .filter(user_groups::workspace_id.eq(ws))
        .order(user_groups::handle.asc())
        .select(Group::as_select())
        .load(conn)
        .await?;
    let ids: Vec<GroupId> = groups.iter().map(|g| g.id).collect();
    let members: Vec<(GroupId, UserId)> = user_group_members::table
        .filter(user_group_members::group_id.eq_any(&ids))
        .select((user_group_members::group_id, user_group_members::user_id))
        .load(conn)
        .await?;
    Ok(groups
        .into_iter()
        .map(|g| {
            let m = members.iter().filter(|(gid, _)| *gid == g.id).map(|(_, u)| *u).collect();
            (g, m)
        })
        .collect())
}

/// Members of the workspace's groups with these handles.
pub async fn members_by_handle(conn: &mut AsyncPgConnection, ws: WorkspaceId, handles: &[String]) -> QueryResult<Vec<UserId>> {
    user_group_members::table
        .inner_join(user_groups::table)
        .filter(user_groups::workspace_id.eq(ws))
        .filter(user_groups::handle.eq_any(handles))
        .select(user_group_members::user_id)
        .distinct()
        .load(conn)
        .await
}
