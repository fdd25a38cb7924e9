use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use ocomms_domain::ConversationId;
use ocomms_runtime::ids::{UserId, WorkspaceId};

use crate::schema::{conversation_participants, conversations};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = conversations, check_for_backend(diesel::pg::Pg))]
pub struct Conversation {
    pub id: ConversationId,
    pub workspace_id: WorkspaceId,
    pub participant_key: String,
    pub created_at: DateTime<Utc>,
    pub last_seq: i64,
}

/// The key that makes one conversation per set of participants.
pub fn participant_key(users: &[UserId]) -> String {
    let mut ids: Vec<String> = users.iter().map(ToString::to_string).collect();
    ids.sort();
    ids.dedup();
    ids.join(",")
}

pub async fn get(conn: &mut AsyncPgConnection, id: ConversationId) -> QueryResult<Option<Conversation>> {
    conversations::table.find(id).select(Conversation::as_select()).first(conn).await.optional()
}

/// The conversation of exactly `users` in `ws`, created if it does not exist.
pub async fn open(conn: &mut AsyncPgConnection, ws: WorkspaceId, users: &[UserId]) -> QueryResult<Conversation> {
    let key = participant_key(users);
    let id = ConversationId::new();
    let inserted = diesel::insert_into(conversations::table)
        .values((conversations::id.eq(id), conversations::workspace_id.eq(ws), conversations::participant_key.eq(&key)))
        .on_conflict((conversations::workspace_id, conversations::participant_key))
        .do_nothing()
        .execute(conn)
        .await?;
    let c: Conversation = if inserted == 1 {
        conversations::table.find(id).select(Conversation::as_select()).first(conn).await?
    } else {
        conversations::table
            .filter(conversations::workspace_id.eq(ws))
            .filter(conversations::participant_key.eq(&key))
            .select(Conversation::as_select())
            .first(conn)
            .await?
    };
    // Everyone named is a member of the workspace now (the caller checked):
    // someone who left it and came back takes their place again.
    let rows: Vec<_> =
        users.iter().map(|u| (conversation_participants::conversation_id.eq(c.id), conversation_participants::user_id.eq(*u))).collect();
    diesel::insert_into(conversation_participants::table).values(rows).on_conflict_do_nothing().execute(conn).await?;
    Ok(c)
}

/// Everyone the conversation was opened for, from its key: what clients
/// show, including people who have since left the workspace (they no longer
/// read or receive it: see [`participants`]).
pub fn people(c: &Conversation) -> Vec<UserId> {
    c.participant_key.split(',').filter_map(|u| u.parse().ok()).collect()
}

/// Ends the user's part in every conversation of the workspace (they left
/// or were removed from it): the others keep the conversation.
/// Only their places taken before `before` (when they left).
pub async fn remove_from_workspace(
    conn: &mut AsyncPgConnection,
    ws: WorkspaceId,
    user: UserId,
    before: DateTime<Utc>,
) -> QueryResult<usize> {
    let of_ws = conversations::table.filter(conversations::workspace_id.eq(ws)).select(conversations::id);
    diesel::delete(
        conversation_participants::table
            .filter(conversation_participants::user_id.eq(user))
            .filter(conversation_participants::joined_at.le(before))
            .filter(conversation_participants::conversation_id.eq_any(of_ws)),
    )
    .execute(conn)
    .await
}

/// Who reads and receives the conversation now.
pub async fn participants(conn: &mut AsyncPgConnection, id: ConversationId) -> QueryResult<Vec<UserId>> {
    conversation_participants::table
        .filter(conversation_participants::conversation_id.eq(id))
        .order(conversation_participants::user_id.asc())
        .select(conversation_participants::user_id)
        .load(conn)
        .await
}

/// The user's conversations in a workspace, most recently active first.
pub async fn for_user(conn: &mut AsyncPgConnection, ws: WorkspaceId, user: UserId) -> QueryResult<Vec<Conversation>> {
    let mine = conversation_participants::table
        .filter(conversation_participants::user_id.eq(user))
        .select(conversation_participants::conversation_id);
    conversations::table
        .filter(conversations::workspace_id.eq(ws))
        .filter(conversations::id.eq_any(mine))
        .order(conversations::updated_at.desc())
        .select(Conversation::as_select())
        .load(conn)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_key_per_set() {
        let (a, b) = (UserId::new(), UserId::new());
        assert_eq!(participant_key(&[a, b]), participant_key(&[b, a, b]));
        assert_ne!(participant_key(&[a, b]), participant_key(&[a]));
    }
}
