use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use ocomms_domain::{ChannelId, ConversationId, MessageId};
use ocomms_runtime::ids::{UserId, WorkspaceId};

use crate::domain::{self, Page};
use crate::schema::{channel_read_state, conversation_read_state, messages, pins, reactions};

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
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
    /// `[pb::Attachment]` as JSON.
    pub attachments: serde_json::Value,
    /// `[pb::LinkPreview]` as JSON.
    pub link_previews: serde_json::Value,
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
    changed(conn, parent).await?;
    diesel::update(messages::table.find(parent)).set(messages::reply_count.eq(messages::reply_count + 1)).execute(conn).await.map(drop)
}

pub use crate::domain::Target;

impl Target {
    /// Where a message lives.
    pub fn of(m: &Message) -> Option<Self> {
        match (m.channel_id, m.conversation_id) {
            (Some(c), _) => Some(Self::Channel(c)),
            (None, Some(c)) => Some(Self::Conversation(c)),
            (None, None) => None,
        }
    }
}

/// A page of history in ascending sequence order, and whether more lies
/// beyond it in the paging direction.
pub async fn page(conn: &mut AsyncPgConnection, target: Target, page: Page) -> QueryResult<(Vec<Message>, bool)> {
    let base = || {
        let q = messages::table.select(Message::as_select()).into_boxed();
        match target {
            Target::Channel(c) => q.filter(messages::channel_id.eq(c)),
            Target::Conversation(c) => q.filter(messages::conversation_id.eq(c)),
        }
    };
    let (rows, limit, descending): (Vec<Message>, u32, bool) = match page {
        Page::Latest { limit } => (base().order(messages::sequence.desc()).limit(i64::from(limit) + 1).load(conn).await?, limit, true),
        Page::Before { seq, limit } => (
            base().filter(messages::sequence.lt(seq)).order(messages::sequence.desc()).limit(i64::from(limit) + 1).load(conn).await?,
            limit,
            true,
        ),
        Page::After { seq, limit } => (
            base().filter(messages::sequence.gt(seq)).order(messages::sequence.asc()).limit(i64::from(limit) + 1).load(conn).await?,
            limit,
            false,
        ),
    };
    let (mut rows, has_more) = split_page(rows, limit);
    if descending {
        rows.reverse();
    }
    Ok((rows, has_more))
}

/// A page read as `limit + 1` rows: the first `limit`, and whether more
/// follow.
pub fn split_page<T>(mut rows: Vec<T>, limit: u32) -> (Vec<T>, bool) {
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    (rows, more)
}

/// Moves a reader's mark forward (never back), in a channel or conversation.
pub async fn mark_read(conn: &mut AsyncPgConnection, user: UserId, target: Target, seq: i64) -> QueryResult<()> {
    match target {
        Target::Channel(c) => mark_channel_read(conn, user, c, seq).await,
        Target::Conversation(c) => diesel::insert_into(conversation_read_state::table)
            .values((
                conversation_read_state::user_id.eq(user),
                conversation_read_state::conversation_id.eq(c),
                conversation_read_state::last_read_sequence.eq(seq),
            ))
            .on_conflict((conversation_read_state::user_id, conversation_read_state::conversation_id))
            .do_update()
            .set((
                conversation_read_state::last_read_sequence
                    .eq(diesel::dsl::sql::<BigInt>("GREATEST(conversation_read_state.last_read_sequence, excluded.last_read_sequence)")),
                conversation_read_state::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await
            .map(drop),
    }
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
            channel_read_state::last_read_sequence
                .eq(diesel::dsl::sql::<BigInt>("GREATEST(channel_read_state.last_read_sequence, excluded.last_read_sequence)")),
            channel_read_state::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Unread counts stop here (exact below; a client shows "1000+").
pub const UNREAD_CAP: i64 = 1000;

/// A new message tells each other member their new unread count
/// (`unread:update`) in places of at most this many members; clients in
/// larger ones count `message:new` themselves (see the API docs), which
/// keeps a send's cost independent of the audience size.
pub const UNREAD_PUSH_MAX: i64 = 100;

#[derive(QueryableByName)]
struct Unread {
    #[diesel(sql_type = SqlUuid)]
    id: uuid::Uuid,
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = BigInt)]
    mentions: i64,
}

/// The tables of one kind of place, for the unread queries.
struct Tables {
    /// The place column on messages, members and read state.
    col: &'static str,
    places: &'static str,
    members: &'static str,
    read_state: &'static str,
}

const CHANNEL_TABLES: Tables =
    Tables { col: "channel_id", places: "channels", members: "channel_members", read_state: "channel_read_state" };
const CONVERSATION_TABLES: Tables =
    Tables { col: "conversation_id", places: "conversations", members: "conversation_participants", read_state: "conversation_read_state" };

impl Tables {
    fn of(target: Target) -> &'static Tables {
        match target {
            Target::Channel(_) => &CHANNEL_TABLES,
            Target::Conversation(_) => &CONVERSATION_TABLES,
        }
    }

    /// One member's unread count (seed 5.4: not deleted, past the read
    /// mark, not their own), at most `cap`. Arithmetic on gap-free sequences
    /// (`last_seq`, the place's last, minus the mark) less the deleted
    /// messages past the mark, which a partial index counts: a reader's own
    /// messages never lie past their mark, because every send moves its
    /// author's mark to it in the same statement (`write_new`). `mb` is the
    /// member row, `r` their read state.
    fn count_unread(&self, last_seq: &str, cap: &str) -> String {
        let col = self.col;
        format!(
            "LEAST({cap}, GREATEST(0, {last_seq} - COALESCE(r.last_read_sequence, 0)
               - (SELECT count(*) FROM messages d
                   WHERE d.{col} = mb.{col} AND d.is_deleted AND d.sequence > COALESCE(r.last_read_sequence, 0))))"
        )
    }
}

/// Unread messages and unread mentions per place of one kind in the
/// workspace, for the places that have any. Places already read cost an
/// index probe.
async fn unread_of(conn: &mut AsyncPgConnection, t: &Tables, ws: WorkspaceId, user: UserId) -> QueryResult<Vec<(uuid::Uuid, i64, i64)>> {
    let Tables { col, places, members, read_state } = t;
    let rows: Vec<Unread> = diesel::sql_query(format!(
        "SELECT mb.{col} AS id, {count} AS n,
                (SELECT count(*) FROM message_mentions mm JOIN messages m ON m.id = mm.message_id AND NOT m.is_deleted
                   WHERE mm.user_id = mb.user_id AND mm.{col} = mb.{col}
                     AND mm.sequence > COALESCE(r.last_read_sequence, 0)) AS mentions
           FROM {members} mb
           JOIN {places} c ON c.id = mb.{col} AND c.workspace_id = $2
           LEFT JOIN {read_state} r ON r.{col} = mb.{col} AND r.user_id = mb.user_id
          WHERE mb.user_id = $1 AND c.last_seq > COALESCE(r.last_read_sequence, 0)",
        count = t.count_unread("c.last_seq", "$3"),
    ))
    .bind::<SqlUuid, _>(user)
    .bind::<SqlUuid, _>(ws)
    .bind::<BigInt, _>(UNREAD_CAP)
    .load(conn)
    .await?;
    Ok(rows.into_iter().filter(|r| r.n > 0).map(|r| (r.id, r.n, r.mentions)).collect())
}

/// Unread counts and unread mentions per channel of the workspace the user
/// belongs to.
pub async fn channel_unread(conn: &mut AsyncPgConnection, ws: WorkspaceId, user: UserId) -> QueryResult<Vec<(ChannelId, i64, i64)>> {
    Ok(unread_of(conn, &CHANNEL_TABLES, ws, user).await?.into_iter().map(|(id, n, m)| (ChannelId(id), n, m)).collect())
}

/// The same for the user's conversations in the workspace.
pub async fn conversation_unread(
    conn: &mut AsyncPgConnection,
    ws: WorkspaceId,
    user: UserId,
) -> QueryResult<Vec<(ConversationId, i64, i64)>> {
    Ok(unread_of(conn, &CONVERSATION_TABLES, ws, user).await?.into_iter().map(|(id, n, m)| (ConversationId(id), n, m)).collect())
}

/// Records who a message mentions.
pub async fn insert_mentions(conn: &mut AsyncPgConnection, m: &Message, who: &[(UserId, ocomms_domain::MentionKind)]) -> QueryResult<()> {
    use crate::schema::message_mentions as mm;
    if who.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = who
        .iter()
        .map(|(u, kind)| {
            (
                mm::message_id.eq(m.id),
                mm::user_id.eq(*u),
                mm::channel_id.eq(m.channel_id),
                mm::conversation_id.eq(m.conversation_id),
                mm::sequence.eq(m.sequence),
                mm::kind.eq(kind.as_str()),
            )
        })
        .collect();
    diesel::insert_into(mm::table).values(rows).on_conflict_do_nothing().execute(conn).await.map(drop)
}

/// Marks a message changed (the change feed): its place's change version
/// goes up by one and the message takes it. Call inside the change's
/// transaction, before touching the message: the place's row stays locked
/// until it ends, so versions become visible in order, and every path
/// locks the place before the message (sends take the sequence first), so
/// none waits for another in a cycle.
pub async fn changed(conn: &mut AsyncPgConnection, id: MessageId) -> QueryResult<()> {
    diesel::sql_query(
        "WITH m AS (SELECT channel_id, conversation_id FROM messages WHERE id = $1),
              c AS (UPDATE channels SET change_version = change_version + 1
                    WHERE id = (SELECT channel_id FROM m) RETURNING change_version),
              d AS (UPDATE conversations SET change_version = change_version + 1
                    WHERE id = (SELECT conversation_id FROM m) RETURNING change_version)
         UPDATE messages SET change_version = COALESCE((SELECT change_version FROM c), (SELECT change_version FROM d))
         WHERE id = $1",
    )
    .bind::<SqlUuid, _>(id)
    .execute(conn)
    .await
    .map(drop)
}

#[derive(QueryableByName)]
struct Changed {
    #[diesel(sql_type = SqlUuid)]
    id: MessageId,
    #[diesel(sql_type = BigInt)]
    change_version: i64,
}

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = BigInt)]
    change_version: i64,
}

/// The messages of a place changed after version `since`, in the order of
/// their latest change, at most `limit`; the version to ask from next time;
/// whether more follow (`limit` 0: only the current version). Only versions
/// visible when this began are read, so nothing committed later is skipped.
pub async fn changes_since(conn: &mut AsyncPgConnection, target: Target, since: i64, limit: i64) -> QueryResult<(Vec<Message>, i64, bool)> {
    let (table, column, place) = match target {
        Target::Channel(c) => ("channels", "channel_id", c.0),
        Target::Conversation(c) => ("conversations", "conversation_id", c.0),
    };
    let now: Version =
        diesel::sql_query(format!("SELECT change_version FROM {table} WHERE id = $1")).bind::<SqlUuid, _>(place).get_result(conn).await?;
    if limit == 0 {
        return Ok((Vec::new(), now.change_version, false));
    }
    let mut ids: Vec<Changed> = diesel::sql_query(format!(
        "SELECT id, change_version FROM messages WHERE {column} = $1 AND change_version > $2 AND change_version <= $3
         ORDER BY change_version LIMIT $4"
    ))
    .bind::<SqlUuid, _>(place)
    .bind::<BigInt, _>(since)
    .bind::<BigInt, _>(now.change_version)
    .bind::<BigInt, _>(limit + 1)
    .load(conn)
    .await?;
    let has_more = ids.len() as i64 > limit;
    ids.truncate(usize::try_from(limit).unwrap_or_default());
    let version = if has_more { ids.last().map_or(since, |c| c.change_version) } else { now.change_version };
    let wanted: Vec<MessageId> = ids.iter().map(|c| c.id).collect();
    let mut rows: Vec<Message> = messages::table.filter(messages::id.eq_any(&wanted)).select(Message::as_select()).load(conn).await?;
    rows.sort_by_key(|m| wanted.iter().position(|w| *w == m.id));
    Ok((rows, version, has_more))
}

/// New text, and the link previews that still apply to it.
pub async fn edit(conn: &mut AsyncPgConnection, id: MessageId, content: &str, previews: &serde_json::Value) -> QueryResult<Message> {
    changed(conn, id).await?;
    diesel::update(messages::table.find(id))
        .set((
            messages::content.eq(content),
            messages::link_previews.eq(previews),
            messages::edited_at.eq(diesel::dsl::now),
            messages::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Message::as_returning())
        .get_result(conn)
        .await
}

/// Soft delete: the row keeps its sequence; its text is erased. None when
/// it was already deleted.
pub async fn soft_delete(conn: &mut AsyncPgConnection, id: MessageId) -> QueryResult<Option<Message>> {
    // The place first, then the message: every path takes them in this order.
    changed(conn, id).await?;
    diesel::update(messages::table.find(id).filter(messages::is_deleted.eq(false)))
        .set((messages::is_deleted.eq(true), messages::content.eq(""), messages::updated_at.eq(diesel::dsl::now)))
        .returning(Message::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// Stores a message's link previews unless it was deleted; the message.
pub async fn set_link_previews(conn: &mut AsyncPgConnection, id: MessageId, previews: &serde_json::Value) -> QueryResult<Option<Message>> {
    changed(conn, id).await?;
    diesel::update(messages::table.find(id).filter(messages::is_deleted.eq(false)))
        .set(messages::link_previews.eq(previews))
        .returning(Message::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// A reply was deleted: its thread counts one fewer.
pub async fn drop_reply_count(conn: &mut AsyncPgConnection, parent: MessageId) -> QueryResult<()> {
    changed(conn, parent).await?;
    diesel::update(messages::table.find(parent).filter(messages::reply_count.gt(0)))
        .set(messages::reply_count.eq(messages::reply_count - 1))
        .execute(conn)
        .await
        .map(drop)
}

/// A thread's replies, oldest first.
/// A page of a thread's replies, oldest first, past sequence `after`; and
/// whether more follow.
pub async fn replies(conn: &mut AsyncPgConnection, parent: MessageId, after: i64, limit: u32) -> QueryResult<(Vec<Message>, bool)> {
    let rows: Vec<Message> = messages::table
        .filter(messages::parent_id.eq(parent))
        .filter(messages::sequence.gt(after))
        .order(messages::sequence.asc())
        .limit(i64::from(limit) + 1)
        .select(Message::as_select())
        .load(conn)
        .await?;
    Ok(split_page(rows, limit))
}

/// Who takes part in a thread: its parent's author and every replier.
pub async fn thread_participants(conn: &mut AsyncPgConnection, parent: &Message) -> QueryResult<Vec<UserId>> {
    let mut users: Vec<UserId> =
        messages::table.filter(messages::parent_id.eq(parent.id)).select(messages::author_id).distinct().load(conn).await?;
    if !users.contains(&parent.author_id) {
        users.push(parent.author_id);
    }
    Ok(users)
}

/// Adds the reaction, or removes it when the user already reacted so.
/// Returns whether it is now present.
pub async fn toggle_reaction(conn: &mut AsyncPgConnection, message: MessageId, user: UserId, emoji: &str) -> QueryResult<bool> {
    changed(conn, message).await?;
    let removed = diesel::delete(reactions::table.find((message, emoji, user))).execute(conn).await?;
    if removed > 0 {
        return Ok(false);
    }
    diesel::insert_into(reactions::table)
        .values((reactions::message_id.eq(message), reactions::user_id.eq(user), reactions::emoji.eq(emoji)))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(true)
}

/// Reactions of these messages: (message, emoji, user), in the order given.
pub async fn reactions_of(conn: &mut AsyncPgConnection, ids: &[MessageId]) -> QueryResult<Vec<(MessageId, String, UserId)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    reactions::table
        .filter(reactions::message_id.eq_any(ids))
        .order((reactions::created_at.asc(), reactions::user_id.asc()))
        .select((reactions::message_id, reactions::emoji, reactions::user_id))
        .load(conn)
        .await
}

pub async fn set_pin(conn: &mut AsyncPgConnection, channel: ChannelId, message: MessageId, by: UserId, pinned: bool) -> QueryResult<()> {
    changed(conn, message).await?;
    if pinned {
        diesel::insert_into(pins::table)
            .values((pins::channel_id.eq(channel), pins::message_id.eq(message), pins::pinned_by.eq(by)))
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
    } else {
        diesel::delete(pins::table.find((channel, message))).execute(conn).await?;
    }
    Ok(())
}

/// A channel's pinned messages, most recently pinned first.
/// A page of a channel's pinned messages, most recently pinned first,
/// after the pin of message `before` (keyset on pin time, then message id);
/// and whether more follow.
pub async fn pinned(
    conn: &mut AsyncPgConnection,
    channel: ChannelId,
    before: Option<MessageId>,
    limit: u32,
) -> QueryResult<(Vec<Message>, bool)> {
    let mut q =
        pins::table.inner_join(messages::table).filter(pins::channel_id.eq(channel)).filter(messages::is_deleted.eq(false)).into_boxed();
    if let Some(before) = before {
        let at: Option<DateTime<Utc>> = pins::table.find((channel, before)).select(pins::created_at).first(conn).await.optional()?;
        // A cursor that is no longer pinned: nothing sensible follows it.
        let Some(at) = at else { return Ok((Vec::new(), false)) };
        q = q.filter(pins::created_at.lt(at).or(pins::created_at.eq(at).and(pins::message_id.lt(before))));
    }
    let rows: Vec<Message> = q
        .order((pins::created_at.desc(), pins::message_id.desc()))
        .limit(i64::from(limit) + 1)
        .select(Message::as_select())
        .load(conn)
        .await?;
    Ok(split_page(rows, limit))
}

/// What a search looks through and for.
pub struct SearchFilter<'a> {
    pub workspace_id: WorkspaceId,
    pub channels: &'a [ChannelId],
    pub conversations: &'a [ConversationId],
    pub text: &'a str,
    pub from: Option<UserId>,
    pub before: Option<DateTime<Utc>>,
    pub after: Option<DateTime<Utc>>,
    pub limit: i64,
}

#[derive(QueryableByName)]
pub struct Hit {
    #[diesel(embed)]
    pub message: Message,
    #[diesel(sql_type = diesel::sql_types::Double)]
    pub rank: f64,
}

/// Full-text search (GIN over `search_vector`), or a substring match
/// (trigram GIN over `content`) for partial words and scripts written
/// without spaces; best first, then newest.
pub async fn search(conn: &mut AsyncPgConnection, f: SearchFilter<'_>) -> QueryResult<Vec<Hit>> {
    use diesel::sql_types::{Array, Nullable, Text, Timestamptz};
    let like = format!("%{}%", f.text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
    // The newest SEARCH_WINDOW matches are ranked (recency first, then
    // relevance among them): cost stays bounded when a word matches a large
    // share of the workspace.
    // One channel (an `in:` filter): walk its (channel_id, sequence) index
    // newest first instead of the whole workspace's.
    let single = f.channels.len() == 1 && f.conversations.is_empty();
    let place = if single { "m.channel_id = ($2)[1]" } else { "(m.channel_id = ANY($2) OR m.conversation_id = ANY($5))" };
    let order = if single { "m.sequence DESC" } else { "m.created_at DESC" };
    // A text only in scripts written without spaces (Chinese, Japanese)
    // matches by substring alone and every match ranks alike: the newest
    // page is the answer, and the walk stops there instead of at
    // SEARCH_WINDOW (a two-character word, which no trigram serves, scans
    // ten times less).
    let window = if domain::only_cjk(f.text) { f.limit } else { SEARCH_WINDOW };
    diesel::sql_query(format!(
        "WITH candidates AS (
           SELECT m.* FROM messages m
            WHERE m.workspace_id = $1 AND NOT m.is_deleted
              AND {place}
              AND ($3 = '' OR m.search_vector @@ websearch_to_tsquery('simple', $3) OR m.content ILIKE $4)
              AND ($6::uuid IS NULL OR m.author_id = $6)
              AND ($7::timestamptz IS NULL OR m.created_at < $7)
              AND ($8::timestamptz IS NULL OR m.created_at >= $8)
            ORDER BY {order}
            LIMIT $10)
         SELECT c.id, c.workspace_id, c.channel_id, c.conversation_id, c.author_id, c.content, c.parent_id, c.sequence,
                c.reply_count, c.is_deleted, c.client_msg_id, c.created_at, c.updated_at, c.edited_at, c.attachments, c.link_previews,
                CASE WHEN $3 = '' THEN 0::float8
                     ELSE ts_rank(c.search_vector, websearch_to_tsquery('simple', $3))::float8
                          + CASE WHEN c.content ILIKE $4 THEN 0.05 ELSE 0 END END AS rank
           FROM candidates c
          ORDER BY rank DESC, c.created_at DESC
          LIMIT $9"
    ))
    .bind::<SqlUuid, _>(f.workspace_id)
    .bind::<Array<SqlUuid>, _>(f.channels)
    .bind::<Text, _>(f.text)
    .bind::<Text, _>(like)
    .bind::<Array<SqlUuid>, _>(f.conversations)
    .bind::<Nullable<SqlUuid>, _>(f.from)
    .bind::<Nullable<Timestamptz>, _>(f.before)
    .bind::<Nullable<Timestamptz>, _>(f.after)
    .bind::<BigInt, _>(f.limit)
    .bind::<BigInt, _>(window)
    .load(conn)
    .await
}

/// How many of the most recent matches a search ranks.
pub const SEARCH_WINDOW: i64 = 200;

#[derive(QueryableByName)]
struct Written {
    #[diesel(sql_type = BigInt)]
    sequence: i64,
}

/// Writes a new message in one statement (one round trip): takes the
/// place's next sequence (its row stays locked until the transaction ends,
/// so sequences commit in order and a failed send gives its number back),
/// inserts `m` with it, and moves the author's read mark to it (unread
/// counts rely on that). Atomic on its own; callers that write more run it
/// in their transaction. `m.sequence` is ignored. The new sequence, or
/// `None` when the place is gone.
pub async fn write_new(conn: &mut AsyncPgConnection, m: &Message, target: Target) -> QueryResult<Option<i64>> {
    use diesel::sql_types::{Jsonb, Text, Timestamptz};
    let Tables { col, places, read_state, .. } = Tables::of(target);
    let place = target.place_id();
    // A conversation's latest activity orders the DM list.
    let touch = if matches!(target, Target::Conversation(_)) { ", updated_at = now()" } else { "" };
    let sql = format!(
        "WITH p AS (SELECT ?::uuid AS place, ?::uuid AS author, ?::timestamptz AS at),
              s AS (UPDATE {places} SET last_seq = last_seq + 1{touch} FROM p WHERE id = p.place RETURNING last_seq),
              i AS (INSERT INTO messages (id, workspace_id, channel_id, conversation_id, author_id, content, parent_id,
                                          sequence, client_msg_id, created_at, updated_at, attachments, link_previews)
                    SELECT ?, ?, ?, ?, p.author, ?, ?, s.last_seq, ?, p.at, p.at, ?, ? FROM s, p
                    RETURNING sequence),
              rd AS (INSERT INTO {read_state} AS rs (user_id, {col}, last_read_sequence)
                     SELECT p.author, p.place, i.sequence FROM i, p
                     ON CONFLICT (user_id, {col}) DO UPDATE
                       SET last_read_sequence = GREATEST(rs.last_read_sequence, excluded.last_read_sequence), updated_at = now())
         SELECT sequence FROM i"
    );
    let rows: Vec<Written> = ocomms_runtime::db::cached_sql(&sql)
        .bind::<SqlUuid, _>(place)
        .bind::<SqlUuid, _>(m.author_id)
        .bind::<Timestamptz, _>(m.created_at)
        .bind::<SqlUuid, _>(m.id)
        .bind::<SqlUuid, _>(m.workspace_id)
        .bind::<Nullable<SqlUuid>, _>(m.channel_id)
        .bind::<Nullable<SqlUuid>, _>(m.conversation_id)
        .bind::<Text, _>(&m.content)
        .bind::<Nullable<SqlUuid>, _>(m.parent_id)
        .bind::<Nullable<Text>, _>(&m.client_msg_id)
        .bind::<Jsonb, _>(&m.attachments)
        .bind::<Jsonb, _>(&m.link_previews)
        .load(conn)
        .await?;
    Ok(rows.iter().next().map(|r| r.sequence))
}

#[derive(QueryableByName)]
struct MemberUnread {
    #[diesel(sql_type = SqlUuid)]
    user_id: UserId,
    #[diesel(sql_type = Nullable<BigInt>)]
    unread: Option<i64>,
}

/// Whom a new message tells, read after it was written (in its own
/// statement, so it sees the place as it is now, not as it was when the
/// write began waiting for the place's row).
pub struct Audience {
    /// The place's members now.
    pub members: Vec<UserId>,
    /// Each member's unread count but `author`'s, for places of at most
    /// `UNREAD_PUSH_MAX` members (empty for larger ones).
    pub unread: Vec<(UserId, i64)>,
}

/// The place's members, with their unread counts when it has at most
/// `UNREAD_PUSH_MAX` (one round trip; read marks are looked up only then).
pub async fn audience(conn: &mut AsyncPgConnection, target: Target, author: UserId) -> QueryResult<Audience> {
    let t = Tables::of(target);
    let Tables { col, places, members, read_state } = t;
    let place = target.place_id();
    let sql = format!(
        "WITH p AS (SELECT ?::uuid AS place, ?::uuid AS author, ?::bigint AS cap),
              n AS (SELECT count(*) AS members FROM {members} m, p WHERE m.{col} = p.place)
         SELECT mb.user_id,
                CASE WHEN mb.user_id <> p.author AND (SELECT members FROM n) <= {push_max} THEN
                  (SELECT {count} FROM {places} c LEFT JOIN {read_state} r ON r.{col} = c.id AND r.user_id = mb.user_id
                    WHERE c.id = p.place)
                END AS unread
           FROM p JOIN {members} mb ON mb.{col} = p.place",
        push_max = UNREAD_PUSH_MAX,
        count = t.count_unread("c.last_seq", "p.cap"),
    );
    let rows: Vec<MemberUnread> = ocomms_runtime::db::cached_sql(&sql)
        .bind::<SqlUuid, _>(place)
        .bind::<SqlUuid, _>(author)
        .bind::<BigInt, _>(UNREAD_CAP)
        .load(conn)
        .await?;
    Ok(Audience {
        members: rows.iter().map(|r| r.user_id).collect(),
        unread: rows.iter().filter_map(|r| Some((r.user_id, r.unread?))).collect(),
    })
}

/// A page of what `author` wrote in `ws`, by id (creation order), after
/// `after`: for the GDPR export.
pub async fn by_author(
    conn: &mut AsyncPgConnection,
    ws: WorkspaceId,
    author: UserId,
    after: Option<MessageId>,
    limit: i64,
) -> QueryResult<Vec<Message>> {
    let mut q = messages::table
        .filter(messages::workspace_id.eq(ws))
        .filter(messages::author_id.eq(author))
        .select(Message::as_select())
        .order(messages::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(messages::id.gt(a));
    }
    q.load(conn).await
}
