//! Consumes `message.mentioned` jobs (svc-messaging's outbox, through
//! RabbitMQ): one notification per recipient (kind `mention`, `channel`,
//! `here`, `thread_reply` for a thread's participants, `dm` for the other
//! members of a conversation), unless they muted the channel or set it to
//! nothing, are in Do Not Disturb, or can no longer see the place; then
//! `notification:new` on their sockets. Each job
//! is applied once (`processed_events`), however often it is delivered.

use ocomms_domain::{ChannelId, MentionKind};

use crate::domain::NotificationKind;
use ocomms_runtime::db::Pool;
use ocomms_runtime::events::{Bus, Event};
use ocomms_runtime::ids::{UserId, WorkspaceId};
use ocomms_runtime::jobs::{self, Broker, Job};

use ocomms_proto::messaging::v1 as pb;
pub use ocomms_proto::messaging::v1::jobs::MESSAGE_MENTIONED;

/// What the consumer needs to ask about a recipient: svc-auth (their
/// status) and svc-messaging (whether they may still see the place).
#[derive(Clone)]
pub struct Auth {
    pub client: ocomms_proto::auth::v1::auth_service_client::AuthServiceClient<tonic::transport::Channel>,
    pub messaging: ocomms_proto::messaging::v1::messaging_service_client::MessagingServiceClient<tonic::transport::Channel>,
    pub service_token: String,
}

impl Auth {
    /// Whether the recipient may see the place now (they may have left or
    /// been removed since the message was sent): asked of svc-messaging on
    /// their behalf; a place they cannot see answers NOT_FOUND.
    async fn can_see(&self, channel: bool, place: &str, user: UserId) -> anyhow::Result<bool> {
        use ocomms_proto::messaging::v1 as m;
        if self.service_token.is_empty() {
            return Ok(true);
        }
        let mut client = self.messaging.clone();
        let answer = if channel {
            let req = m::GetChannelRequest { channel_id: place.to_owned() };
            client.get_channel(ocomms_runtime::identity::service_request(&self.service_token, user, req)).await.map(drop)
        } else {
            let req = m::ListMessagesRequest { conversation_id: Some(place.to_owned()), limit: Some(1), ..Default::default() };
            client.list_messages(ocomms_runtime::identity::service_request(&self.service_token, user, req)).await.map(drop)
        };
        match answer {
            Ok(()) => Ok(true),
            Err(s) if s.code() == tonic::Code::NotFound => Ok(false),
            Err(s) => Err(anyhow::anyhow!("asking svc-messaging whether a recipient sees the place: {s}")),
        }
    }

    /// Seed 5.2: a recipient in Do Not Disturb gets no notification.
    async fn in_dnd(&self, workspace: Option<WorkspaceId>, user: UserId) -> anyhow::Result<bool> {
        let Some(ws) = workspace else { return Ok(false) };
        if self.service_token.is_empty() {
            // Without SERVICE_TOKEN svc-auth cannot be asked: notify.
            return Ok(false);
        }
        let req = ocomms_runtime::identity::service_request(
            &self.service_token,
            user,
            ocomms_proto::auth::v1::GetProfileRequest { workspace_id: ws.to_string(), user_id: None },
        );
        match self.client.clone().get_profile(req).await {
            Ok(p) => Ok(p.into_inner().status.is_some_and(|s| s.dnd)),
            // No longer a member: nothing to tell them.
            Err(s) if s.code() == tonic::Code::NotFound => Ok(true),
            Err(s) => Err(anyhow::anyhow!("asking svc-auth about DND: {s}")),
        }
    }
}

pub fn start(pool: Pool, broker: &Broker, bus: Bus, auth: Auth) {
    broker.consume("notify.mentions", &[MESSAGE_MENTIONED], move |job| {
        let (pool, bus, auth) = (pool.clone(), bus.clone(), auth.clone());
        async move { handle(&pool, &bus, &auth, job).await }
    });
}

/// The job as its producer (svc-messaging) wrote it: a
/// `pb::MessageMentionedJob`. One that does not name exactly one channel or
/// conversation, a message and a workspace is refused (it ends in the dead
/// letters), never guessed at.
fn decode(job: &Job) -> anyhow::Result<pb::MessageMentionedJob> {
    let p: pb::MessageMentionedJob = job.decode()?;
    anyhow::ensure!(
        p.channel_id.is_some() != p.conversation_id.is_some(),
        "job {}: names {} of a channel and a conversation, not one",
        job.id,
        if p.channel_id.is_some() { "both" } else { "neither" }
    );
    anyhow::ensure!(!p.message_id.is_empty() && !p.workspace_id.is_empty(), "job {}: no message or workspace", job.id);
    Ok(p)
}

async fn handle(pool: &Pool, bus: &Bus, auth: &Auth, job: Job) -> anyhow::Result<()> {
    let p = decode(&job)?;
    let is_channel = p.channel_id.is_some();
    let place = p.channel_id.clone().or_else(|| p.conversation_id.clone()).unwrap_or_default();
    let channel_id = p.channel_id.as_deref().and_then(|s| s.parse::<ChannelId>().ok());
    let author = if p.author_name.is_empty() { "Someone".to_owned() } else { p.author_name.clone() };
    let place_name = match (is_channel, &p.channel_name) {
        (true, Some(name)) => format!("#{name}"),
        _ => "a conversation".to_owned(),
    };
    let title_of = move |kind: NotificationKind| match kind {
        NotificationKind::ThreadReply => format!("{author} replied to a thread in {place_name}"),
        NotificationKind::Dm => format!("{author} sent you a message"),
        _ => format!("{author} mentioned you in {place_name}"),
    };
    let body = p.excerpt.clone();
    let workspace: Option<WorkspaceId> = p.workspace_id.parse().ok();
    // A recipient or a kind svc-messaging should never write fails the job
    // (it ends in the dead letters), rather than notifying someone wrongly.
    let all = p
        .recipients
        .iter()
        .map(|r| {
            let user: UserId = r.user_id.parse().map_err(|_| anyhow::anyhow!("job {}: bad recipient {:?}", job.id, r.user_id))?;
            let kind = MentionKind::parse(&r.kind).ok_or_else(|| anyhow::anyhow!("job {}: unknown kind {:?}", job.id, r.kind))?;
            anyhow::Ok((user, NotificationKind::from(kind)))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    // Asked before the transaction (a failure retries the whole job).
    let mut recipients = Vec::with_capacity(all.len());
    // A public channel is readable by every member of the workspace (the
    // DND check already skips those who left it); a private place is asked
    // about per recipient.
    let restricted = p.restricted;
    for (user, kind) in all {
        let ask = crate::policy::must_ask(restricted, kind);
        if !auth.in_dnd(workspace, user).await? && (!ask || auth.can_see(is_channel, &place, user).await?) {
            recipients.push((user, kind));
        }
    }
    let data = serde_json::json!({
        "messageId": p.message_id,
        "workspaceId": p.workspace_id,
        (if is_channel { "channelId" } else { "conversationId" }): place,
        "sequence": p.sequence,
        "parentId": p.parent_id,
        "authorId": p.author_id,
    });
    let mut conn = pool.get().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let made = jobs::once(&mut conn, &job.id, move |conn| {
        Box::pin(async move {
            let muted: Vec<UserId> = match channel_id {
                Some(c) => crate::store::settings::muted_in(conn, c).await?,
                None => Vec::new(),
            };
            let mut made = Vec::with_capacity(recipients.len());
            for (user, kind) in recipients {
                if muted.contains(&user) {
                    continue;
                }
                let mut d = data.clone();
                d["kind"] = serde_json::json!(kind);
                let title = title_of(kind);
                let n = crate::store::notifications::New { user, workspace, kind, title: &title, body: &body, data: &d };
                made.push((user, crate::store::notifications::insert(conn, &n).await?));
            }
            Ok(made)
        })
    })
    .await?
    .unwrap_or_default();
    for (user, n) in made {
        bus.publish(Event::to_users(vec![user], "notification:new", serde_json::json!({ "notification": n }))).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(payload: serde_json::Value) -> Job {
        Job { id: "messaging:1".into(), key: "message.mentioned".into(), payload, traceparent: None }
    }

    #[test]
    fn only_jobs_naming_one_place_are_read() {
        let ok = job(serde_json::json!({ "messageId": "m", "workspaceId": "w", "channelId": "c", "recipients": [] }));
        assert_eq!(decode(&ok).expect("a channel's").channel_id.as_deref(), Some("c"));
        let dm = job(serde_json::json!({ "messageId": "m", "workspaceId": "w", "conversationId": "d" }));
        assert_eq!(decode(&dm).expect("a conversation's").conversation_id.as_deref(), Some("d"));
        // Neither (the shape before the proto message), or both: refused.
        let old = job(serde_json::json!({ "messageId": "m", "workspaceId": "w", "channel": { "id": "c", "name": "general" } }));
        assert!(decode(&old).is_err());
        let both = job(serde_json::json!({ "messageId": "m", "workspaceId": "w", "channelId": "c", "conversationId": "d" }));
        assert!(decode(&both).is_err());
    }
}
