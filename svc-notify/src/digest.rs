//! Unread mentions and DMs by email, batched (seed 6.2).
//!
//! Making a `mention` or `dm` notification also makes sure its user has a
//! row in `email_digests`. A loop takes due rows (`FOR UPDATE SKIP LOCKED`:
//! every replica works, none twice; claimed with a lease, so no lock is
//! held while other services and the mail server are asked) and, once
//! the oldest of the user's mention and DM notifications still unread and
//! never emailed has waited `EMAIL_DIGEST_DELAY_SECS` (the time to read it
//! live), sends one email listing all of them and marks them emailed. A user
//! active in the workspace of one of them (an open client) gets no email:
//! those are marked as seen by the digest instead. The row then waits for
//! the user's interval (`digest_minutes`, default 15; 0 turns emails off)
//! if more is pending, or rests (due at infinity) until a new notification
//! makes it due again. Everything is in PostgreSQL: a restart
//! loses nothing; a crash between the SMTP answer and the commit can send
//! one email twice (the lease runs out and another replica sends it),
//! never none.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use ocomms_runtime::db::Pool;
use ocomms_runtime::ids::{UserId, WorkspaceId};

use crate::domain::{NotificationId, NotificationKind};

use crate::mail::Mailer;
use crate::push::Presence;

/// The interval when a user chose none.
pub const DEFAULT_MINUTES: i32 = 15;
/// Most notifications listed in one email.
const MAX_ITEMS: i64 = 50;

#[derive(Clone)]
pub struct Digest {
    pub pool: Pool,
    pub mailer: Mailer,
    pub presence: Presence,
    pub auth: ocomms_proto::auth::v1::auth_service_client::AuthServiceClient<tonic::transport::Channel>,
    pub messaging: ocomms_proto::messaging::v1::messaging_service_client::MessagingServiceClient<tonic::transport::Channel>,
    pub service_token: String,
    /// How long a notification may stay unread before it is emailed.
    pub delay: Duration,
    /// How often due digests are looked for.
    pub tick: Duration,
    pub public_url: String,
}

/// Kinds that are emailed.
const KINDS: [NotificationKind; 2] = NotificationKind::EMAILED;

/// Makes sure `user` has a digest pending (inside the transaction that
/// inserts their notification); the loop works out when it is really due.
pub async fn schedule(conn: &mut AsyncPgConnection, user: UserId) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO email_digests (user_id, due_at)
         SELECT $1, now()
         WHERE COALESCE((SELECT digest_minutes FROM email_settings WHERE user_id = $1), $2) > 0
         -- Due now (the loop keeps to the user's interval). Waits for a
         -- digest being finished (its row is locked), then applies.
         ON CONFLICT (user_id) DO UPDATE SET due_at = LEAST(email_digests.due_at, now())",
    )
    .bind::<SqlUuid, _>(user)
    .bind::<Integer, _>(DEFAULT_MINUTES)
    .execute(conn)
    .await
    .map(drop)
}

#[derive(QueryableByName)]
struct Due {
    #[diesel(sql_type = SqlUuid)]
    user_id: UserId,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    last_sent_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Integer)]
    minutes: i32,
}

#[derive(QueryableByName)]
struct Item {
    #[diesel(sql_type = SqlUuid)]
    id: NotificationId,
    #[diesel(sql_type = Text)]
    #[diesel(column_name = type_)]
    kind: NotificationKind,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    data: serde_json::Value,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    workspace_id: Option<WorkspaceId>,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Nullable<Text>)]
    body: Option<String>,
}

#[derive(QueryableByName)]
struct Next {
    #[diesel(sql_type = Nullable<Timestamptz>)]
    at: Option<DateTime<Utc>>,
}

impl Digest {
    pub fn start(self) {
        tokio::spawn(async move {
            loop {
                loop {
                    match self.one().await {
                        Ok(true) => continue,
                        Ok(false) => break,
                        Err(e) => {
                            tracing::warn!(error = format!("{e:#}"), "email digest failed; retrying");
                            break;
                        }
                    }
                }
                tokio::time::sleep(self.tick).await;
            }
        });
    }

    /// Handles one due digest; false when none is due. Three steps, so
    /// that no lock is held while other services and the mail server are
    /// asked: claim the row (a 10-minute lease: if this process dies, another
    /// takes it over), gather and send without a transaction, then finish in
    /// one short transaction.
    async fn one(&self) -> anyhow::Result<bool> {
        let mut conn = self.pool.get().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let due: Option<Due> = diesel::sql_query(
            "UPDATE email_digests d SET due_at = now() + interval '10 minutes'
             FROM (SELECT user_id FROM email_digests WHERE due_at <= now() ORDER BY due_at LIMIT 1 FOR UPDATE SKIP LOCKED) c
             WHERE d.user_id = c.user_id
             RETURNING d.user_id, d.last_sent_at,
                       COALESCE((SELECT digest_minutes FROM email_settings s WHERE s.user_id = d.user_id), $1) AS minutes",
        )
        .bind::<Integer, _>(DEFAULT_MINUTES)
        .get_result(&mut conn)
        .await
        .optional()?;
        let Some(due) = due else { return Ok(false) };
        let delay = self.delay.as_secs_f64();
        // Once the oldest has waited long enough, all of them go in one email.
        let ripe: Next = diesel::sql_query(
            "SELECT min(created_at) AS at FROM notifications
             WHERE user_id = $1 AND NOT is_read AND emailed_at IS NULL AND type = ANY($2)
               AND created_at <= now() - make_interval(secs => $3)",
        )
        .bind::<SqlUuid, _>(due.user_id)
        .bind::<Array<Text>, _>(&KINDS[..])
        .bind::<diesel::sql_types::Double, _>(delay)
        .get_result(&mut conn)
        .await?;
        let mut handled: Vec<NotificationId> = Vec::new();
        let mut sent = false;
        // At most one email per interval: until then nothing is gathered,
        // and the finish below sets the row to the interval's end.
        let waiting = due.last_sent_at.is_some_and(|t| t + chrono::Duration::minutes(due.minutes.into()) > Utc::now());
        if due.minutes > 0 && ripe.at.is_some() && !waiting {
            let items: Vec<Item> = diesel::sql_query(
                "SELECT id, type AS type_, data, workspace_id, title, body FROM notifications
                 WHERE user_id = $1 AND NOT is_read AND emailed_at IS NULL AND type = ANY($2)
                 ORDER BY created_at LIMIT $3",
            )
            .bind::<SqlUuid, _>(due.user_id)
            .bind::<Array<Text>, _>(&KINDS[..])
            .bind::<diesel::sql_types::BigInt, _>(MAX_ITEMS)
            .load(&mut conn)
            .await?;
            handled = items.iter().map(|i| i.id).collect();
            let mut workspaces: Vec<WorkspaceId> = items.iter().filter_map(|i| i.workspace_id).collect();
            workspaces.sort();
            workspaces.dedup();
            let mut active = false;
            for ws in workspaces {
                match self.presence.active(due.user_id, Some(ws)).await {
                    Ok(a) => active |= a,
                    Err(e) => return backoff(&mut conn, due.user_id, &e).await,
                }
            }
            // Only what is still unread where it was said (read on another
            // device, or no longer visible: dropped).
            let items = self.still_unread(due.user_id, items).await;
            if !active && !items.is_empty() {
                let to = match self.email_of(due.user_id).await {
                    Ok(to) => to,
                    Err(e) => return backoff(&mut conn, due.user_id, &e).await,
                };
                if let Some(to) = to {
                    match self.mailer.send(&to, &subject(items.len()), &self.text(&items)).await {
                        Ok(_) => sent = true,
                        // An address no server will take: these are dropped, not retried.
                        Err(e) if e.code == ocomms_runtime::ErrorCode::Validation => {
                            tracing::warn!(user = %due.user_id, error = %e.message, "digest email not sent: bad address");
                        }
                        Err(e) => return backoff(&mut conn, due.user_id, &anyhow::anyhow!("{}", e.message)).await,
                    }
                }
            }
        }
        let last_sent = if sent { Some(Utc::now()) } else { due.last_sent_at };
        let (user, minutes) = (due.user_id, due.minutes);
        conn.transaction::<(), anyhow::Error, _>(async move |conn| {
            diesel::sql_query("UPDATE notifications SET emailed_at = now() WHERE id = ANY($1)")
                .bind::<Array<SqlUuid>, _>(handled)
                .execute(conn)
                .await?;
            // What is still pending decides when to look again. A mention
            // committed after this read waits for this transaction (its
            // upsert meets the row this one changes) and then makes it due:
            // none is lost.
            let next: Next = diesel::sql_query(
                "SELECT min(created_at) + make_interval(secs => $3) AS at FROM notifications
                 WHERE user_id = $1 AND NOT is_read AND emailed_at IS NULL AND type = ANY($2)",
            )
            .bind::<SqlUuid, _>(user)
            .bind::<Array<Text>, _>(&KINDS[..])
            .bind::<diesel::sql_types::Double, _>(delay)
            .get_result(conn)
            .await?;
            // Nothing pending (or emails off): the row rests, keeping when
            // the last email went, until a new notification wakes it.
            let at = next.at.filter(|_| minutes > 0).map(|at| {
                let earliest = last_sent.map(|t| t + chrono::Duration::minutes(minutes.into()));
                earliest.map_or(at, |e| e.max(at))
            });
            diesel::sql_query("UPDATE email_digests SET due_at = COALESCE($2, 'infinity'), last_sent_at = $3 WHERE user_id = $1")
                .bind::<SqlUuid, _>(user)
                .bind::<Nullable<Timestamptz>, _>(at)
                .bind::<Nullable<Timestamptz>, _>(last_sent)
                .execute(conn)
                .await?;
            Ok(())
        })
        .await?;
        Ok(true)
    }

    /// The items whose place still shows them unread to the user (asked of
    /// svc-messaging on their behalf: a DM whose conversation was read, or a
    /// mention whose place has no unread mention left, is dropped; so is
    /// anything in a place they can no longer see). When svc-messaging
    /// cannot answer, every item stays.
    async fn still_unread(&self, user: UserId, items: Vec<Item>) -> Vec<Item> {
        use ocomms_proto::messaging::v1 as m;
        let mut workspaces: Vec<WorkspaceId> = items.iter().filter_map(|i| i.workspace_id).collect();
        workspaces.sort();
        workspaces.dedup();
        let mut places: std::collections::HashMap<String, (i64, i64)> = std::collections::HashMap::new();
        for ws in workspaces {
            let req =
                ocomms_runtime::identity::service_request(&self.service_token, user, m::GetUnreadRequest { workspace_id: ws.to_string() });
            match self.messaging.clone().get_unread(req).await {
                Ok(u) => {
                    let u = u.into_inner();
                    for c in u.channels.iter().chain(u.conversations.iter()) {
                        let id = c.channel_id.clone().or_else(|| c.conversation_id.clone()).unwrap_or_default();
                        places.insert(id, (c.count, c.mention_count));
                    }
                }
                Err(s) if s.code() == tonic::Code::NotFound => {}
                Err(s) => {
                    tracing::warn!(error = %s, "digest: svc-messaging did not answer; unread state not checked");
                    return items;
                }
            }
        }
        items
            .into_iter()
            .filter(|i| {
                let place = i.data["channelId"].as_str().or_else(|| i.data["conversationId"].as_str()).unwrap_or_default();
                match places.get(place) {
                    Some((count, mentions)) => {
                        if i.kind == NotificationKind::Dm {
                            *count > 0
                        } else {
                            *mentions > 0
                        }
                    }
                    None => false,
                }
            })
            .collect()
    }

    /// The user's address, from svc-auth on their behalf.
    async fn email_of(&self, user: UserId) -> anyhow::Result<Option<String>> {
        let req = ocomms_proto::auth::v1::GetUsersRequest { user_ids: vec![user.to_string()] };
        let answer = self.auth.clone().get_users(ocomms_runtime::identity::service_request(&self.service_token, user, req)).await;
        match answer {
            Ok(r) => Ok(r.into_inner().users.into_iter().find(|u| u.id == user.to_string()).map(|u| u.email)),
            // The account is gone: nothing to send.
            Err(s) if matches!(s.code(), tonic::Code::NotFound | tonic::Code::Unauthenticated) => Ok(None),
            Err(s) => Err(anyhow::anyhow!("asking svc-auth for an address: {s}")),
        }
    }

    fn text(&self, items: &[Item]) -> String {
        let mut out = format!(
            "You have {} unread in OComms while you were away:\n\n",
            if items.len() == 1 { "a message".to_owned() } else { format!("{} messages", items.len()) }
        );
        for i in items {
            let body: String = i.body.as_deref().unwrap_or_default().chars().take(300).collect();
            out.push_str(&format!("- {}\n  {}\n\n", i.title, body.replace('\n', "\n  ")));
        }
        out.push_str(&format!(
            "Open {} to read and answer them.\nYou get these emails at most every 15 minutes by default; change that or turn them off in your notification settings.\n",
            self.public_url
        ));
        out
    }
}

/// A digest that could not be sent is tried again in five minutes; the
/// others are not held up by it.
async fn backoff(conn: &mut AsyncPgConnection, user: UserId, e: &anyhow::Error) -> anyhow::Result<bool> {
    tracing::warn!(user = %user, error = format!("{e:#}"), "digest email failed; trying again in 5 minutes");
    diesel::sql_query("UPDATE email_digests SET due_at = now() + interval '5 minutes' WHERE user_id = $1")
        .bind::<SqlUuid, _>(user)
        .execute(conn)
        .await?;
    Ok(true)
}

fn subject(n: usize) -> String {
    if n == 1 { "You have an unread message in OComms".to_owned() } else { format!("You have {n} unread messages in OComms") }
}
