use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use ocomms_domain::ChannelId;
use ocomms_runtime::ids::{UserId, WorkspaceId};

use crate::domain::CategoryId;
use crate::schema::{channel_members, channels, guest_grants_used};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = channels, check_for_backend(diesel::pg::Pg))]
pub struct Channel {
    pub id: ChannelId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub description: Option<String>,
    pub is_private: bool,
    pub is_archived: bool,
    pub category_id: Option<CategoryId>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub last_seq: i64,
    pub topic: Option<String>,
}

pub async fn insert(conn: &mut AsyncPgConnection, c: &Channel) -> QueryResult<()> {
    diesel::insert_into(channels::table).values(c).execute(conn).await.map(drop)
}

pub async fn get(conn: &mut AsyncPgConnection, id: ChannelId) -> QueryResult<Option<Channel>> {
    channels::table.find(id).select(Channel::as_select()).first(conn).await.optional()
}

/// Adds a member; already being one is fine.
pub async fn add_member(conn: &mut AsyncPgConnection, c: &Channel, user: UserId) -> QueryResult<()> {
    diesel::insert_into(channel_members::table)
        .values((channel_members::channel_id.eq(c.id), channel_members::user_id.eq(user), channel_members::workspace_id.eq(c.workspace_id)))
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(drop)
}

pub async fn remove_member(conn: &mut AsyncPgConnection, c: ChannelId, user: UserId) -> QueryResult<usize> {
    diesel::delete(channel_members::table.find((c, user))).execute(conn).await
}

/// A channel and whether `user` belongs to it, in one round trip.
pub async fn get_for(conn: &mut AsyncPgConnection, id: ChannelId, user: UserId) -> QueryResult<Option<(Channel, bool)>> {
    channels::table
        .find(id)
        .select((Channel::as_select(), diesel::dsl::exists(channel_members::table.find((id, user)))))
        .first(conn)
        .await
        .optional()
}

pub async fn is_member(conn: &mut AsyncPgConnection, c: ChannelId, user: UserId) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(channel_members::table.find((c, user)))).get_result(conn).await
}

pub async fn member_ids(conn: &mut AsyncPgConnection, c: ChannelId) -> QueryResult<Vec<UserId>> {
    channel_members::table.filter(channel_members::channel_id.eq(c)).select(channel_members::user_id).load(conn).await
}

pub async fn member_count(conn: &mut AsyncPgConnection, c: ChannelId) -> QueryResult<i64> {
    channel_members::table.filter(channel_members::channel_id.eq(c)).count().get_result(conn).await
}

/// What the caller sees in a workspace: public channels and the private
/// ones they belong to, with their membership flag and member counts.
pub async fn visible(conn: &mut AsyncPgConnection, ws: WorkspaceId, user: UserId) -> QueryResult<Vec<(Channel, bool, i64)>> {
    let mine: Vec<ChannelId> = channel_members::table
        .filter(channel_members::user_id.eq(user))
        .filter(channel_members::workspace_id.eq(ws))
        .select(channel_members::channel_id)
        .load(conn)
        .await?;
    let list: Vec<Channel> = channels::table
        .filter(channels::workspace_id.eq(ws))
        .filter(channels::is_private.eq(false).or(channels::id.eq_any(&mine)))
        .order(channels::name.asc())
        .select(Channel::as_select())
        .load(conn)
        .await?;
    let ids: Vec<ChannelId> = list.iter().map(|c| c.id).collect();
    let counts: Vec<(ChannelId, i64)> = channel_members::table
        .filter(channel_members::channel_id.eq_any(&ids))
        .group_by(channel_members::channel_id)
        .select((channel_members::channel_id, diesel::dsl::count_star()))
        .load(conn)
        .await?;
    Ok(list
        .into_iter()
        .map(|c| {
            let n = counts.iter().find(|(id, _)| *id == c.id).map(|(_, n)| *n).unwrap_or(0);
            let member = mine.contains(&c.id);
            (c, member, n)
        })
        .collect())
}

pub async fn update(conn: &mut AsyncPgConnection, c: &Channel) -> QueryResult<()> {
    diesel::update(channels::table.find(c.id))
        .set((
            channels::name.eq(&c.name),
            channels::description.eq(&c.description),
            channels::is_archived.eq(c.is_archived),
            channels::topic.eq(&c.topic),
            channels::category_id.eq(c.category_id),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Removes the user from every channel of the workspace they joined before
/// `before` (when they left it: a later return keeps its new memberships),
/// and forgets which guest grants they used there (a later invite starts
/// afresh).
pub async fn remove_from_workspace(
    conn: &mut AsyncPgConnection,
    ws: WorkspaceId,
    user: UserId,
    before: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::delete(
        guest_grants_used::table
            .filter(guest_grants_used::workspace_id.eq(ws))
            .filter(guest_grants_used::user_id.eq(user))
            .filter(guest_grants_used::created_at.le(before)),
    )
    .execute(conn)
    .await?;
    diesel::delete(
        channel_members::table
            .filter(channel_members::workspace_id.eq(ws))
            .filter(channel_members::user_id.eq(user))
            .filter(channel_members::joined_at.le(before)),
    )
    .execute(conn)
    .await
}

/// Applies a guest's grant of channel `c` once: the first time it makes
/// them a member (true); afterwards it does nothing (false), so a guest
/// removed from a granted channel stays out of it.
pub async fn redeem_guest_grant(conn: &mut AsyncPgConnection, c: &Channel, user: UserId) -> QueryResult<bool> {
    use diesel_async::AsyncConnection;
    let c = c.clone();
    conn.transaction::<_, diesel::result::Error, _>(async move |conn| {
        let fresh = diesel::insert_into(guest_grants_used::table)
            .values((
                guest_grants_used::user_id.eq(user),
                guest_grants_used::channel_id.eq(c.id),
                guest_grants_used::workspace_id.eq(c.workspace_id),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        if fresh == 1 {
            add_member(conn, &c, user).await?;
            // Joined with nothing read: the history so far counts as unread.
            super::messages::mark_channel_read(conn, user, c.id, 0).await?;
        }
        Ok(fresh == 1)
    })
    .await
}

/// A category of the workspace, if it exists.
pub async fn category(conn: &mut AsyncPgConnection, ws: WorkspaceId, id: CategoryId) -> QueryResult<bool> {
    use crate::schema::channel_categories as cc;
    diesel::select(diesel::dsl::exists(cc::table.filter(cc::id.eq(id)).filter(cc::workspace_id.eq(ws)))).get_result(conn).await
}

pub async fn create_category(conn: &mut AsyncPgConnection, ws: WorkspaceId, name: &str, position: i32) -> QueryResult<CategoryId> {
    use crate::schema::channel_categories as cc;
    diesel::insert_into(cc::table)
        .values((cc::id.eq(CategoryId::new()), cc::workspace_id.eq(ws), cc::name.eq(name), cc::position.eq(position)))
        .returning(cc::id)
        .get_result(conn)
        .await
}

pub async fn categories(conn: &mut AsyncPgConnection, ws: WorkspaceId) -> QueryResult<Vec<(CategoryId, String, i32)>> {
    use crate::schema::channel_categories as cc;
    cc::table
        .filter(cc::workspace_id.eq(ws))
        .order((cc::position.asc(), cc::name.asc()))
        .select((cc::id, cc::name, cc::position))
        .load(conn)
        .await
}
