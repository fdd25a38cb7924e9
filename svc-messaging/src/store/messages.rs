use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use ocomms_runtime::ids::{ChannelId, ConversationId, MessageId, UserId, WorkspaceId};

use crate::domain::Page;
use crate::schema::{channel_read_state, messages};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = messages, check_for_backend(diesel::pg::Pg))]
pub struct Message {
    pub id: MessageId,
    pub workspace_id: WorkspaceId,
    pub channel_id: Option<ChannelId>,
    pub conversation_id: Option<ConversationId>,
    pub author_id: UserId,
    pub content: String,
    pub parent_id: Option<MessageId>,
    pub sequence: i64,
    pub reply_count: i32,
    pub is_deleted: bool,
    pub client_msg_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
}

pub async fn insert(conn: &mut AsyncPgConnection, m: &Message) -> QueryResult<()> {
    diesel::insert_into(messages::table).values(m).execute(conn).await.map(drop)
}

pub async fn get(conn: &mut AsyncPgConnection, id: MessageId) -> QueryResult<Option<Message>> {
    messages::table.find(id).select(Message::as_select()).first(conn).await.optional()
}

/// The message an earlier attempt of the same send created.
pub async fn by_client_id(conn: &mut AsyncPgConnection, author: UserId, client_id: &str) -> QueryResult<Option<Message>> {
    messages::table
        .filter(messages::author_id.eq(author))
        .filter(messages::client_msg_id.eq(client_id))
        .select(Message::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn bump_reply_count(conn: &mut AsyncPgConnection, parent: MessageId) -> QueryResult<()> {
    diesel::update(messages::table.find(parent))
        .set(messages::reply_count.eq(messages::reply_count + 1))
        .execute(conn)
        .await
        .map(drop)
}

/// A page of a channel's history in ascending sequence order, and whether
/// more lies beyond it in the paging direction.
pub async fn channel_page(conn: &mut AsyncPgConnection, c: ChannelId, page: Page) -> QueryResult<(Vec<Message>, bool)> {
    let base = messages::table.filter(messages::channel_id.eq(c)).select(Message::as_select());
    let (mut rows, limit, descending): (Vec<Message>, u32, bool) = match page {
        Page::Latest { limit } => (base.order(messages::sequence.desc()).limit(i64::from(limit) + 1).load(conn).await?, limit, true),
        Page::Before { seq, limit } => (
            base.filter(messages::sequence.lt(seq)).order(messages::sequence.desc()).limit(i64::from(limit) + 1).load(conn).await?,
            limit,
            true,
        ),
        Page::After { seq, limit } => (
            base.filter(messages::sequence.gt(seq)).order(messages::sequence.asc()).limit(i64::from(limit) + 1).load(conn).await?,
            limit,
            false,
        ),
    };
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    if descending {
        rows.reverse();
    }
    Ok((rows, has_more))
}

/// Moves a reader's mark forward (never back).
pub async fn mark_channel_read(conn: &mut AsyncPgConnection, user: UserId, c: ChannelId, seq: i64) -> QueryResult<()> {
    diesel::insert_into(channel_read_state::table)
        .values((
            channel_read_state::user_id.eq(user),
            channel_read_state::channel_id.eq(c),
            channel_read_state::last_read_sequence.eq(seq),
        ))
        .on_conflict((channel_read_state::user_id, channel_read_state::channel_id))
        .do_update()
        .set((
            channel_read_state::last_read_sequence.eq(diesel::dsl::sql::<BigInt>("GREATEST(channel_read_state.last_read_sequence, excluded.last_read_sequence)")),
            channel_read_state::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await
        .map(drop)
}

#[derive(QueryableByName)]
struct Unread {
    #[diesel(sql_type = SqlUuid)]
    channel_id: ChannelId,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Unread messages per channel of a workspace that the user belongs to:
/// not deleted, past the read mark, not written by the user (seed 5.4).
pub async fn channel_unread(conn: &mut AsyncPgConnection, ws: WorkspaceId, user: UserId) -> QueryResult<Vec<(ChannelId, i64)>> {
    let rows: Vec<Unread> = diesel::sql_query(
        "SELECT cm.channel_id, count(m.id) AS n
           FROM channel_members cm
           LEFT JOIN channel_read_state r ON r.channel_id = cm.channel_id AND r.user_id = cm.user_id
           JOIN messages m ON m.channel_id = cm.channel_id
                          AND m.sequence > COALESCE(r.last_read_sequence, 0)
                          AND m.author_id <> cm.user_id
                          AND NOT m.is_deleted
          WHERE cm.user_id = $1 AND cm.workspace_id = $2
          GROUP BY cm.channel_id",
    )
    .bind::<SqlUuid, _>(user)
    .bind::<SqlUuid, _>(ws)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.channel_id, r.n)).collect())
}
