//! Consumes `message.mentioned` jobs (svc-messaging's outbox, through
//! RabbitMQ): one notification per recipient (kind `mention`, `channel`,
//! `here`, `thread_reply` for a thread's participants, `dm` for the other
//! members of a conversation), unless they muted the channel or set it to
//! nothing, are in Do Not Disturb, or can no longer see the place; then
//! `notification:new` on their sockets. Each job
//! is applied once (`processed_events`), however often it is delivered.

use diesel::sql_types::Uuid as SqlUuid;
use diesel_async::RunQueryDsl;
use ocomms_runtime::db::Pool;
use ocomms_runtime::events::{Bus, Event};
use ocomms_runtime::ids::UserId;
use ocomms_runtime::jobs::{self, Broker, Job};

pub const MESSAGE_MENTIONED: &str = "message.mentioned";

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
    async fn in_dnd(&self, workspace: Option<uuid::Uuid>, user: UserId) -> anyhow::Result<bool> {
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

#[derive(diesel::QueryableByName)]
struct Muted {
    #[diesel(sql_type = SqlUuid)]
    user_id: UserId,
}

async fn handle(pool: &Pool, bus: &Bus, auth: &Auth, job: Job) -> anyhow::Result<()> {
    let p = &job.payload;
    let channel = &p["channel"];
    let channel_id = channel["id"].as_str().and_then(|s| s.parse::<uuid::Uuid>().ok());
    let is_channel = channel.get("name").is_some();
    let author = p["authorName"].as_str().unwrap_or("Someone").to_owned();
    let place_name = match (is_channel, channel["name"].as_str()) {
        (true, Some(name)) => format!("#{name}"),
        _ => "a conversation".to_owned(),
    };
    let title_of = move |kind: &str| match kind {
        "thread_reply" => format!("{author} replied to a thread in {place_name}"),
        "dm" => format!("{author} sent you a message"),
        _ => format!("{author} mentioned you in {place_name}"),
    };
    let body = p["excerpt"].as_str().unwrap_or_default().to_owned();
    let workspace: Option<uuid::Uuid> = p["workspaceId"].as_str().and_then(|s| s.parse().ok());
    let all: Vec<(UserId, String)> = p["recipients"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|r| Some((r["userId"].as_str()?.parse().ok()?, r["kind"].as_str().unwrap_or("mention").to_owned())))
                .collect()
        })
        .unwrap_or_default();
    // Asked before the transaction (a failure retries the whole job).
    let mut recipients = Vec::with_capacity(all.len());
    let place = channel["id"].as_str().unwrap_or_default();
    // A public channel is readable by every member of the workspace (the
    // DND check already skips those who left it); a private place is asked
    // about per recipient. Jobs from before the flag existed are checked.
    let restricted = p["restricted"].as_bool().unwrap_or(true);
    for (user, kind) in all {
        // A thread's participants are asked about even in a public channel:
        // a guest taken out of it must not hear of its threads.
        let ask = restricted || kind == "thread_reply";
        if !auth.in_dnd(workspace, user).await? && (!ask || auth.can_see(is_channel, place, user).await?) {
            recipients.push((user, kind));
        }
    }
    let data = serde_json::json!({
        "messageId": p["messageId"],
        "workspaceId": p["workspaceId"],
        (if is_channel { "channelId" } else { "conversationId" }): channel["id"],
        "sequence": p["sequence"],
        "parentId": p["parentId"],
        "authorId": p["authorId"],
    });
    let mut conn = pool.get().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let made = jobs::once(&mut conn, &job.id, move |conn| {
        Box::pin(async move {
            let muted: Vec<Muted> = match channel_id {
                Some(c) => {
                    diesel::sql_query(
                        "SELECT user_id FROM channel_notification_settings WHERE channel_id = $1 AND (muted OR level = 'none')",
                    )
                    .bind::<SqlUuid, _>(c)
                    .load(conn)
                    .await?
                }
                None => Vec::new(),
            };
            let mut made = Vec::with_capacity(recipients.len());
            for (user, kind) in recipients {
                if muted.iter().any(|m| m.user_id == user) {
                    continue;
                }
                let kind = match kind.as_str() {
                    "here" => "here",
                    "channel" => "channel",
                    "thread_reply" => "thread_reply",
                    "dm" => "dm",
                    _ => "mention",
                };
                let mut d = data.clone();
                d["kind"] = serde_json::json!(kind);
                let title = title_of(kind);
                let n = crate::store::New { user, workspace, kind, title: &title, body: &body, data: &d };
                made.push((user, crate::store::insert(conn, &n).await?));
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
