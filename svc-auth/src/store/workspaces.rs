use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use ocomms_runtime::ids::{UserId, WorkspaceId};

use crate::domain::{InviteId, JoinPolicy, JoinRequestId, JoinRequestStatus, Role};
use crate::schema::{guest_channel_access, invites, join_requests, members, users, workspaces};
use ocomms_domain::ChannelId;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = workspaces, check_for_backend(diesel::pg::Pg))]
pub struct Workspace {
    pub id: WorkspaceId,
    pub name: String,
    pub slug: String,
    pub logo: Option<String>,
    pub join_policy: JoinPolicy,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = members, check_for_backend(diesel::pg::Pg))]
pub struct Member {
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
    pub role: Role,
    pub is_guest: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

pub async fn insert(conn: &mut AsyncPgConnection, w: &Workspace) -> QueryResult<()> {
    diesel::insert_into(workspaces::table).values(w).execute(conn).await.map(drop)
}

pub async fn add_member(conn: &mut AsyncPgConnection, ws: WorkspaceId, user: UserId, role: Role) -> QueryResult<Member> {
    add_member_as(conn, ws, user, role, None).await
}

/// Adds a member; `guest_until` makes them a guest whose access turns
/// read-only then.
pub async fn add_member_as(
    conn: &mut AsyncPgConnection,
    ws: WorkspaceId,
    user: UserId,
    role: Role,
    guest_until: Option<DateTime<Utc>>,
) -> QueryResult<Member> {
    diesel::insert_into(members::table)
        .values((
            members::id.eq(uuid::Uuid::now_v7()),
            members::workspace_id.eq(ws),
            members::user_id.eq(user),
            members::role.eq(role),
            members::is_guest.eq(guest_until.is_some()),
            members::expires_at.eq(guest_until),
        ))
        .returning(Member::as_returning())
        .get_result(conn)
        .await
}

/// The caller's workspaces with their role there, oldest membership first.
pub async fn for_user(conn: &mut AsyncPgConnection, user: UserId) -> QueryResult<Vec<(Workspace, Member)>> {
    workspaces::table
        .inner_join(members::table)
        .filter(members::user_id.eq(user))
        .order(members::created_at.asc())
        .select((Workspace::as_select(), Member::as_select()))
        .load(conn)
        .await
}

pub async fn get(conn: &mut AsyncPgConnection, id: WorkspaceId) -> QueryResult<Option<Workspace>> {
    workspaces::table.find(id).select(Workspace::as_select()).first(conn).await.optional()
}

pub async fn membership(conn: &mut AsyncPgConnection, ws: WorkspaceId, user: UserId) -> QueryResult<Option<Member>> {
    members::table
        .filter(members::workspace_id.eq(ws))
        .filter(members::user_id.eq(user))
        .select(Member::as_select())
        .first(conn)
        .await
        .optional()
}

/// Members with their account name and email, oldest first.
pub async fn members_of(conn: &mut AsyncPgConnection, ws: WorkspaceId) -> QueryResult<Vec<(Member, String, String)>> {
    members::table
        .inner_join(users::table)
        .filter(members::workspace_id.eq(ws))
        .order(members::created_at.asc())
        .select((Member::as_select(), users::name, users::email))
        .load(conn)
        .await
}

/// Whether two users share any workspace.
pub async fn share_workspace(conn: &mut AsyncPgConnection, a: UserId, b: &[UserId]) -> QueryResult<Vec<UserId>> {
    let mine: Vec<WorkspaceId> = members::table.filter(members::user_id.eq(a)).select(members::workspace_id).load(conn).await?;
    members::table
        .filter(members::workspace_id.eq_any(mine))
        .filter(members::user_id.eq_any(b))
        .select(members::user_id)
        .distinct()
        .load(conn)
        .await
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = invites, check_for_backend(diesel::pg::Pg))]
pub struct Invite {
    pub id: InviteId,
    pub workspace_id: WorkspaceId,
    pub token_hash: String,
    pub email: Option<String>,
    pub role: Role,
    pub is_guest: bool,
    pub channel_ids: Vec<ChannelId>,
    pub guest_expires_at: Option<DateTime<Utc>>,
    pub max_uses: Option<i32>,
    pub uses: i32,
    pub expires_at: DateTime<Utc>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
}

pub async fn insert_invite(conn: &mut AsyncPgConnection, i: &Invite) -> QueryResult<()> {
    diesel::insert_into(invites::table).values(i).execute(conn).await.map(drop)
}

/// The invite for a token hash, locked for the accepting transaction.
pub async fn invite_for_update(conn: &mut AsyncPgConnection, hash: &str) -> QueryResult<Option<Invite>> {
    invites::table.filter(invites::token_hash.eq(hash)).select(Invite::as_select()).for_update().first(conn).await.optional()
}

pub async fn use_invite(conn: &mut AsyncPgConnection, id: InviteId) -> QueryResult<()> {
    diesel::update(invites::table.find(id)).set(invites::uses.eq(invites::uses + 1)).execute(conn).await.map(drop)
}

pub async fn set_role(conn: &mut AsyncPgConnection, ws: WorkspaceId, user: UserId, role: Role) -> QueryResult<Member> {
    diesel::update(members::table.filter(members::workspace_id.eq(ws)).filter(members::user_id.eq(user)))
        .set(members::role.eq(role))
        .returning(Member::as_returning())
        .get_result(conn)
        .await
}

pub async fn remove_member(conn: &mut AsyncPgConnection, ws: WorkspaceId, user: UserId) -> QueryResult<usize> {
    diesel::delete(members::table.filter(members::workspace_id.eq(ws)).filter(members::user_id.eq(user))).execute(conn).await
}

/// Owners of a workspace, locked for the rest of the transaction so two
/// concurrent demotions cannot leave it without one.
pub async fn owners_for_update(conn: &mut AsyncPgConnection, ws: WorkspaceId) -> QueryResult<Vec<UserId>> {
    members::table
        .filter(members::workspace_id.eq(ws))
        .filter(members::role.eq(Role::Owner))
        .select(members::user_id)
        .for_update()
        .load(conn)
        .await
}

pub async fn member_ids(conn: &mut AsyncPgConnection, ws: WorkspaceId) -> QueryResult<Vec<UserId>> {
    members::table.filter(members::workspace_id.eq(ws)).select(members::user_id).load(conn).await
}

pub async fn grant_guest_channels(conn: &mut AsyncPgConnection, ws: WorkspaceId, user: UserId, channels: &[ChannelId]) -> QueryResult<()> {
    let rows: Vec<_> = channels
        .iter()
        .map(|c| {
            (guest_channel_access::workspace_id.eq(ws), guest_channel_access::user_id.eq(user), guest_channel_access::channel_id.eq(*c))
        })
        .collect();
    diesel::insert_into(guest_channel_access::table).values(rows).on_conflict_do_nothing().execute(conn).await.map(drop)
}

/// Takes back every channel a guest was given in a workspace (they leave
/// it: a later invite gives only its own channels).
pub async fn revoke_guest_channels(conn: &mut AsyncPgConnection, ws: WorkspaceId, user: UserId) -> QueryResult<usize> {
    diesel::delete(
        guest_channel_access::table.filter(guest_channel_access::workspace_id.eq(ws)).filter(guest_channel_access::user_id.eq(user)),
    )
    .execute(conn)
    .await
}

pub async fn guest_channels(conn: &mut AsyncPgConnection, ws: WorkspaceId, user: UserId) -> QueryResult<Vec<ChannelId>> {
    guest_channel_access::table
        .filter(guest_channel_access::workspace_id.eq(ws))
        .filter(guest_channel_access::user_id.eq(user))
        .select(guest_channel_access::channel_id)
        .load(conn)
        .await
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = join_requests, check_for_backend(diesel::pg::Pg))]
pub struct JoinRequest {
    pub id: JoinRequestId,
    pub workspace_id: WorkspaceId,
    pub user_id: UserId,
    pub status: JoinRequestStatus,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

/// The user's pending request, created if there is none.
pub async fn request_to_join(conn: &mut AsyncPgConnection, ws: WorkspaceId, user: UserId) -> QueryResult<JoinRequest> {
    diesel::insert_into(join_requests::table)
        .values((join_requests::id.eq(JoinRequestId::new()), join_requests::workspace_id.eq(ws), join_requests::user_id.eq(user)))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    join_requests::table
        .filter(join_requests::workspace_id.eq(ws))
        .filter(join_requests::user_id.eq(user))
        .filter(join_requests::status.eq(JoinRequestStatus::Pending))
        .select(JoinRequest::as_select())
        .first(conn)
        .await
}

pub async fn pending_requests(conn: &mut AsyncPgConnection, ws: WorkspaceId) -> QueryResult<Vec<(JoinRequest, String, String)>> {
    join_requests::table
        .inner_join(users::table)
        .filter(join_requests::workspace_id.eq(ws))
        .filter(join_requests::status.eq(JoinRequestStatus::Pending))
        .order(join_requests::created_at.asc())
        .select((JoinRequest::as_select(), users::name, users::email))
        .load(conn)
        .await
}

/// Decides a pending request (locked): None when there is no such pending one.
pub async fn decide_request(
    conn: &mut AsyncPgConnection,
    ws: WorkspaceId,
    id: JoinRequestId,
    by: UserId,
    approve: bool,
) -> QueryResult<Option<JoinRequest>> {
    diesel::update(
        join_requests::table
            .find(id)
            .filter(join_requests::workspace_id.eq(ws))
            .filter(join_requests::status.eq(JoinRequestStatus::Pending)),
    )
    .set((
        join_requests::status.eq(if approve { JoinRequestStatus::Approved } else { JoinRequestStatus::Rejected }),
        join_requests::decided_by.eq(by),
        join_requests::decided_at.eq(diesel::dsl::now),
    ))
    .returning(JoinRequest::as_returning())
    .get_result(conn)
    .await
    .optional()
}

pub async fn update(conn: &mut AsyncPgConnection, ws: WorkspaceId, name: &str, join_policy: JoinPolicy) -> QueryResult<Workspace> {
    diesel::update(workspaces::table.find(ws))
        .set((workspaces::name.eq(name), workspaces::join_policy.eq(join_policy)))
        .returning(Workspace::as_returning())
        .get_result(conn)
        .await
}
