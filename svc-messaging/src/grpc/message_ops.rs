//! Messages: send, history, edit, delete, threads, reactions.

use chrono::Utc;
use diesel_async::AsyncConnection;
use ocomms_domain::MentionKind;
use ocomms_domain::MessageId;
use ocomms_proto::messaging::v1 as pb;
use ocomms_runtime::ids::{self, UserId};
use ocomms_runtime::{ErrorCode, ServiceError, ServiceResult};
use tonic::Request;

use ocomms_proto::messaging::v1::jobs::{MESSAGE_DELETED, MESSAGE_LINKS};

use super::{MessagingApi, messages_pb, one_message_pb, target_of};
use crate::domain;
use crate::policy;
use crate::store::messages::{self as store, Message, Target};
use ocomms_runtime::identity::caller;

impl MessagingApi {
    pub(crate) async fn send_message(&self, req: Request<pb::SendMessageRequest>) -> ServiceResult<pb::Message> {
        let p = caller(&req)?;
        let r = req.get_ref();
        let target = target_of(r.channel_id.as_deref(), r.conversation_id.as_deref())?;
        let content = domain::content(&r.content, !r.attachment_ids.is_empty())?;
        let client_msg_id = domain::client_msg_id(r.client_msg_id.as_deref())?;
        // `scheduled:<id>` belongs to svc-scheduler's sends (exactly once).
        let scheduled = client_msg_id.as_deref().is_some_and(|c| c.starts_with("scheduled:"));
        if scheduled && !ocomms_runtime::identity::has_service_credential(req.metadata(), self.access.identity.service_token()) {
            return Err(ServiceError::validation("clientMsgId", "the prefix scheduled: is reserved"));
        }
        let parent_id: Option<MessageId> = ids::parse_opt("parentId", r.parent_id.as_deref())?;

        // The scheduler's retry of a send that already happened gets the
        // message back even if the author lost access since: it was sent,
        // exactly once (svc-scheduler must not mark it failed).
        if scheduled {
            let mut conn = self.conn().await?;
            if let Some(cid) = &client_msg_id
                && let Some(existing) = store::by_client_id(&mut conn, p.user_id, cid).await?
                && Target::of(&existing) == Some(target)
            {
                return one_message_pb(&mut conn, &existing).await;
            }
        }

        let place = self.place(req.metadata(), &p, target).await?;
        if let Err(e) = place.check_can_post() {
            if e.code == ErrorCode::GuestLocked {
                // Seed 5.8: the refusal is also announced on the guest's sockets.
                let (_, where_) = place.describe();
                self.publish(
                    vec![p.user_id],
                    "guest:locked",
                    serde_json::json!({ "channelId": where_["id"], "workspaceId": place.workspace_id }),
                )
                .await;
            }
            return Err(e);
        }

        // A retried send with attachments finds its first attempt before
        // claiming the files again; other retries meet the unique index
        // when writing (and are answered below), saving a round trip.
        if !r.attachment_ids.is_empty()
            && let Some(cid) = &client_msg_id
        {
            let mut conn = self.conn().await?;
            if let Some(existing) = store::by_client_id(&mut conn, p.user_id, cid).await? {
                return self.earlier_send(&mut conn, existing, target).await;
            }
        }
        let tokens = domain::mentions(&content);
        let mentioned = if tokens.is_empty() { Vec::new() } else { self.resolve_mentions(req.metadata(), &p, &place, &tokens).await? };
        let (channel_id, conversation_id, channel_name) = match (&place.channel, &place.conversation) {
            (Some(c), _) => (Some(c.id.to_string()), None, Some(c.name.clone())),
            (_, Some(c)) => (None, Some(c.id.to_string()), None),
            _ => (None, None, None),
        };
        let job_base = pb::MessageMentionedJob {
            workspace_id: place.workspace_id.to_string(),
            channel_id,
            conversation_id,
            channel_name,
            restricted: place.channel.as_ref().is_none_or(|c| c.is_private),
            author_id: p.user_id.to_string(),
            author_name: p.name.clone(),
            excerpt: content.chars().take(200).collect::<String>(),
            ..Default::default()
        };
        let id = match r.message_id.as_deref() {
            None => MessageId::new(),
            Some(raw) if ocomms_runtime::identity::has_service_credential(req.metadata(), self.access.identity.service_token()) => {
                ids::parse("messageId", raw)?
            }
            Some(_) => return Err(ServiceError::validation("messageId", "set by the server")),
        };
        let attachments = self.claim_attachments(&p, id, place.workspace_id, &r.attachment_ids).await?;
        let mut conn = self.conn().await?;
        let now = Utc::now();
        let (channel_id, conversation_id) = match target {
            Target::Channel(c) => (Some(c), None),
            Target::Conversation(c) => (None, Some(c)),
        };
        let draft = Message {
            id,
            workspace_id: place.workspace_id,
            channel_id,
            conversation_id,
            author_id: p.user_id,
            content,
            parent_id,
            sequence: 0,
            reply_count: 0,
            is_deleted: false,
            client_msg_id: client_msg_id.clone(),
            created_at: now,
            updated_at: now,
            edited_at: None,
            attachments,
            link_previews: serde_json::json!([]),
        };
        let claimed = !r.attachment_ids.is_empty();
        let urls = domain::links(&draft.content);
        // A plain channel message is one statement; anything that also
        // writes a thread, mentions or jobs (a DM always tells the other
        // participants) runs in a transaction with it.
        let plain = parent_id.is_none() && mentioned.is_empty() && urls.is_empty() && matches!(target, Target::Channel(_));
        let inserted = if plain {
            write_message(&mut conn, draft, target, &[], &job_base, Vec::new()).await
        } else {
            conn.transaction::<_, ServiceError, _>(async move |conn| write_message(conn, draft, target, &mentioned, &job_base, urls).await)
                .await
        };
        let (message, parent) = match inserted {
            Ok(v) => v,
            // The same send raced itself, or was retried: answer with the
            // message that won.
            Err(e) if e.code == ErrorCode::Conflict && client_msg_id.is_some() => {
                let cid = client_msg_id.as_deref().unwrap_or_default();
                match store::by_client_id(&mut conn, p.user_id, cid).await? {
                    Some(won) => return self.earlier_send(&mut conn, won, target).await,
                    None => {
                        if claimed {
                            self.release_files(&mut conn, id).await;
                        }
                        return Err(e);
                    }
                }
            }
            Err(e) => {
                if claimed {
                    // The files were claimed for a message that does not
                    // exist: svc-files releases them to expire.
                    self.release_files(&mut conn, id).await;
                }
                return Err(e);
            }
        };
        if !plain {
            self.relay.wake();
        }
        let thread = match &parent {
            Some(pm) => Some(store::thread_participants(&mut conn, pm).await?),
            None => None,
        };
        // Who is told, read now that the message is committed: the place's
        // members at publish time.
        let store::Audience { members: recipients, unread } = store::audience(&mut conn, target, p.user_id).await?;
        drop(conn);
        let out = crate::convert::message_pb(&message, Vec::new());
        let (kind, where_) = place.describe();
        let mut data = serde_json::json!({ "message": out });
        data[kind] = where_;
        self.publish(recipients.clone(), "message:new", data).await;
        self.push_unread(target, unread);
        if let (Some(pm), Some(mut participants)) = (parent, thread) {
            // Only those who may see the place now: someone who replied once
            // and has since left or been removed hears nothing more.
            participants.retain(|u| recipients.contains(u));
            self.publish(participants, "thread:newReply", serde_json::json!({ "parentId": pm.id, "reply": out })).await;
        }
        Ok(out)
    }

    /// The answer to a send whose `clientMsgId` an earlier send used: that
    /// message, when it went to the same place.
    async fn earlier_send(&self, conn: &mut ocomms_runtime::db::Conn<'_>, existing: Message, target: Target) -> ServiceResult<pb::Message> {
        if Target::of(&existing) != Some(target) {
            return Err(ServiceError::conflict("this clientMsgId was already used for a message elsewhere; use a new one")
                .with_details(serde_json::json!({ "field": "clientMsgId" })));
        }
        one_message_pb(conn, &existing).await
    }

    /// Tells each member their new unread count for the place after a new
    /// message (`unread:update`), off the request path.
    fn push_unread(&self, target: Target, counts: Vec<(ocomms_runtime::ids::UserId, i64)>) {
        if counts.is_empty() {
            return;
        }
        let bus = self.bus.clone();
        tokio::spawn(async move {
            for (user, count) in counts {
                let mut data = serde_json::json!({ "count": count });
                match target {
                    Target::Channel(c) => data["channelId"] = serde_json::json!(c),
                    Target::Conversation(c) => data["conversationId"] = serde_json::json!(c),
                }
                bus.publish(ocomms_runtime::events::Event::to_users(vec![user], "unread:update", data)).await;
            }
        });
    }

    /// Who a message's `@tokens` reach (seed 5.2), most specific kind first:
    /// members by handle, `@group` members, `@here` (active members),
    /// `@channel`/`@everyone`. Never the author; in a private channel or a
    /// conversation, only people who can read it.
    async fn resolve_mentions(
        &self,
        meta: &tonic::metadata::MetadataMap,
        p: &ocomms_runtime::identity::Principal,
        place: &super::Place,
        tokens: &[String],
    ) -> ServiceResult<Vec<(ocomms_runtime::ids::UserId, MentionKind)>> {
        use ocomms_runtime::ids::UserId;
        let audience = self.audience(place.target).await?;
        let private = place.channel.as_ref().is_none_or(|c| c.is_private);
        let mut out: Vec<(UserId, MentionKind)> = Vec::new();
        let mut push = |u: UserId, kind: MentionKind| {
            if u != p.user_id && !out.iter().any(|(x, _)| *x == u) && (!private || audience.contains(&u)) {
                out.push((u, kind));
            }
        };
        let req =
            self.access.identity.forward(meta, ocomms_proto::auth::v1::ListMembersRequest { workspace_id: place.workspace_id.to_string() });
        let members = self.access.identity.auth_client().list_members(req).await.map_err(ServiceError::from)?.into_inner().members;
        // Guests see only their channels: outside the audience they are
        // never reached, whatever the channel.
        let guests: Vec<UserId> = members.iter().filter(|m| m.is_guest).filter_map(|m| m.user_id.parse().ok()).collect();
        let mut push = |u: UserId, kind: MentionKind| {
            if !(guests.contains(&u) && !audience.contains(&u)) {
                push(u, kind);
            }
        };
        for m in &members {
            if domain::handles(&m.name, &m.email).iter().any(|h| tokens.contains(h))
                && let Ok(u) = m.user_id.parse()
            {
                push(u, MentionKind::Mention);
            }
        }
        let mut conn = self.conn().await?;
        for u in crate::store::groups::members_by_handle(&mut conn, place.workspace_id, tokens).await? {
            if members.iter().any(|m| m.user_id == u.to_string()) {
                push(u, MentionKind::Group);
            }
        }
        drop(conn);
        if tokens.iter().any(|t| t == "here") {
            let ask = ocomms_proto::presence::v1::GetPresenceRequest {
                workspace_id: place.workspace_id.to_string(),
                user_ids: audience.iter().take(500).map(ToString::to_string).collect(),
            };
            match self.presence.clone().get_presence(self.access.identity.forward(meta, ask)).await {
                Ok(r) => {
                    for pr in r.into_inner().presences.iter().filter(|pr| pr.status == "active") {
                        if let Ok(u) = pr.user_id.parse() {
                            push(u, MentionKind::Here);
                        }
                    }
                }
                // Presence is ephemeral: without it, @here reaches nobody
                // rather than failing the send.
                Err(e) => tracing::warn!(code = ?e.code(), "presence unavailable for @here"),
            }
        }
        if tokens.iter().any(|t| t == "channel" || t == "everyone") {
            for u in &audience {
                push(*u, MentionKind::Channel);
            }
        }
        Ok(out)
    }

    pub(crate) async fn typing(&self, req: Request<pb::TypingRequest>) -> ServiceResult<pb::TypingResponse> {
        let p = caller(&req)?;
        let r = req.get_ref();
        let target = target_of(r.channel_id.as_deref(), r.conversation_id.as_deref())?;
        let place = self.place(req.metadata(), &p, target).await?;
        place.check_can_post()?;
        let mut to = self.audience(target).await?;
        to.retain(|u| *u != p.user_id);
        let mut data = serde_json::json!({ "userId": p.user_id, "isTyping": r.is_typing });
        match target {
            Target::Channel(c) => data["channelId"] = serde_json::json!(c),
            Target::Conversation(c) => data["conversationId"] = serde_json::json!(c),
        }
        self.publish(to, "typing:update", data).await;
        Ok(pb::TypingResponse {})
    }

    pub(crate) async fn list_messages(&self, req: Request<pb::ListMessagesRequest>) -> ServiceResult<pb::ListMessagesResponse> {
        let p = caller(&req)?;
        let r = req.get_ref();
        let target = target_of(r.channel_id.as_deref(), r.conversation_id.as_deref())?;
        let page = domain::page(r.before, r.after, r.limit)?;
        self.place(req.metadata(), &p, target).await?;
        let mut conn = self.conn().await?;
        let (rows, has_more) = store::page(&mut conn, target, page).await?;
        Ok(pb::ListMessagesResponse { messages: messages_pb(&mut conn, &rows).await?, has_more })
    }

    /// The change feed: messages of a place edited, deleted, reacted to,
    /// (un)pinned, replied to or given link previews after version `since`
    /// (their current state, in the order of their latest change). Without
    /// `since`, only the current version: what a client records when it
    /// loads a place.
    pub(crate) async fn list_changes(&self, req: Request<pb::ListChangesRequest>) -> ServiceResult<pb::ChangesPage> {
        let p = caller(&req)?;
        let r = req.get_ref();
        let target = target_of(r.channel_id.as_deref(), r.conversation_id.as_deref())?;
        let limit = domain::PAGE.of(r.limit)?;
        if r.since.is_some_and(|s| s < 0) {
            return Err(ServiceError::validation("since", "must not be negative"));
        }
        self.place(req.metadata(), &p, target).await?;
        let mut conn = self.conn().await?;
        let (rows, version, has_more) = match r.since {
            Some(since) => {
                let page = store::changes_since(&mut conn, target, since, i64::from(limit)).await?;
                if since > page.1 {
                    // Not a version of this place (a client's error, or a restored backup): reload.
                    return Err(ServiceError::conflict("since is ahead of this place's changes; reload the place")
                        .with_details(serde_json::json!({ "version": page.1 })));
                }
                page
            }
            None => {
                let (_, version, _) = store::changes_since(&mut conn, target, 0, 0).await?;
                (Vec::new(), version, false)
            }
        };
        Ok(pb::ChangesPage { messages: messages_pb(&mut conn, &rows).await?, version, has_more })
    }

    pub(crate) async fn edit_message(&self, req: Request<pb::EditMessageRequest>) -> ServiceResult<pb::Message> {
        let p = caller(&req)?;
        let r = req.get_ref();
        let content = domain::content(&r.content, false)?;
        let (m, place) = self.visible_message(req.metadata(), &p, "messageId", &r.message_id).await?;
        policy::check_can_edit(m.author_id, p.user_id)?;
        if m.is_deleted {
            return Err(ServiceError::not_found("message"));
        }
        place.check_can_post()?;
        let mut conn = self.conn().await?;
        // Previews of links the edit removed go; links it added get theirs.
        let links = domain::links(&content);
        let kept: Vec<pb::LinkPreview> = serde_json::from_value::<Vec<pb::LinkPreview>>(m.link_previews.clone())
            .unwrap_or_default()
            .into_iter()
            .filter(|p| links.contains(&p.url))
            .collect();
        let missing: Vec<String> = links.iter().filter(|u| !kept.iter().any(|p| &p.url == *u)).cloned().collect();
        let kept = serde_json::to_value(kept).map_err(ServiceError::internal)?;
        let (id, author) = (m.id, m.author_id);
        let edited = conn
            .transaction::<_, ServiceError, _>(async move |conn| {
                let edited = store::edit(conn, id, &content, &kept).await?;
                if !missing.is_empty() {
                    let job = pb::MessageLinksJob { message_id: id.to_string(), author_id: author.to_string(), urls: missing };
                    ocomms_runtime::jobs::enqueue_all(conn, MESSAGE_LINKS, &[job]).await.map_err(ServiceError::internal)?;
                }
                Ok(edited)
            })
            .await?;
        self.relay.wake();
        let out = one_message_pb(&mut conn, &edited).await?;
        drop(conn);
        let to = self.audience(place.target).await?;
        self.publish(to, "message:edited", serde_json::json!({ "message": out })).await;
        Ok(out)
    }

    pub(crate) async fn delete_message(&self, req: Request<pb::DeleteMessageRequest>) -> ServiceResult<pb::Message> {
        let p = caller(&req)?;
        let (m, place) = self.visible_message(req.metadata(), &p, "messageId", &req.get_ref().message_id).await?;
        policy::check_can_delete(&place.membership, m.author_id, p.user_id)?;
        if place.channel.as_ref().is_some_and(|c| c.is_archived) {
            return Err(ServiceError::forbidden("this channel is archived"));
        }
        place.membership.check_can_post()?;
        let mut conn = self.conn().await?;
        let id = m.id;
        // Only the delete that flips the flag counts the thread down.
        let flipped = conn
            .transaction::<_, ServiceError, _>(async move |conn| {
                let d = store::soft_delete(conn, id).await?;
                if let Some(d) = &d
                    && let Some(parent) = d.parent_id
                {
                    store::drop_reply_count(conn, parent).await?;
                }
                if let Some(d) = &d
                    && d.attachments.as_array().is_some_and(|a| !a.is_empty())
                {
                    // Its files become unreadable at once and go later.
                    let job = pb::MessageDeletedJob { message_id: id.to_string() };
                    ocomms_runtime::jobs::enqueue_all(conn, MESSAGE_DELETED, &[job]).await.map_err(ServiceError::internal)?;
                }
                Ok(d)
            })
            .await?;
        self.relay.wake();
        let deleted = match flipped {
            Some(d) => d,
            None => store::get(&mut conn, m.id).await?.ok_or_else(|| ServiceError::not_found("message"))?,
        };
        let out = one_message_pb(&mut conn, &deleted).await?;
        drop(conn);
        let to = self.audience(place.target).await?;
        let mut data = serde_json::json!({ "messageId": deleted.id });
        match place.target {
            Target::Channel(c) => data["channelId"] = serde_json::json!(c),
            Target::Conversation(c) => data["conversationId"] = serde_json::json!(c),
        }
        self.publish(to, "message:deleted", data).await;
        Ok(out)
    }

    pub(crate) async fn list_replies(&self, req: Request<pb::ListRepliesRequest>) -> ServiceResult<pb::ListMessagesResponse> {
        let p = caller(&req)?;
        let r = req.get_ref();
        let limit = domain::PAGE.of(r.limit)?;
        let (m, _) = self.visible_message(req.metadata(), &p, "messageId", &r.message_id).await?;
        let mut conn = self.conn().await?;
        let (rows, has_more) = store::replies(&mut conn, m.id, r.after.unwrap_or(0), limit).await?;
        Ok(pb::ListMessagesResponse { messages: messages_pb(&mut conn, &rows).await?, has_more })
    }

    pub(crate) async fn toggle_reaction(&self, req: Request<pb::ToggleReactionRequest>) -> ServiceResult<pb::Message> {
        let p = caller(&req)?;
        let r = req.get_ref();
        let emoji = domain::emoji(&r.emoji)?;
        let (m, place) = self.visible_message(req.metadata(), &p, "messageId", &r.message_id).await?;
        if m.is_deleted {
            return Err(ServiceError::not_found("message"));
        }
        place.check_can_post()?;
        let mut conn = self.conn().await?;
        let (mid, uid) = (m.id, p.user_id);
        conn.transaction::<_, ServiceError, _>(async move |conn| Ok(store::toggle_reaction(conn, mid, uid, &emoji).await?)).await?;
        let out = one_message_pb(&mut conn, &m).await?;
        drop(conn);
        let to = self.audience(place.target).await?;
        self.publish(to, "reaction:update", serde_json::json!({ "messageId": m.id, "reactions": out.reactions })).await;
        Ok(out)
    }
}

impl MessagingApi {
    /// Attaches the sender's uploads to the message about to be sent
    /// (svc-files checks they are theirs and unattached): the attachments as
    /// the message stores them.
    async fn claim_attachments(
        &self,
        p: &ocomms_runtime::identity::Principal,
        message: MessageId,
        ws: ocomms_runtime::ids::WorkspaceId,
        ids: &[String],
    ) -> ServiceResult<serde_json::Value> {
        if ids.is_empty() {
            return Ok(serde_json::json!([]));
        }
        let req = ocomms_proto::files::v1::ClaimAttachmentsRequest {
            message_id: message.to_string(),
            workspace_id: ws.to_string(),
            file_ids: ids.to_vec(),
        };
        let token = self.access.identity.service_token();
        let files = self
            .files
            .clone()
            .claim_attachments(ocomms_runtime::identity::service_request(token, p.user_id, req))
            .await
            .map_err(|s| ServiceError::from_status(&s))?
            .into_inner()
            .files;
        let attachments: Vec<pb::Attachment> = files
            .into_iter()
            .map(|f| pb::Attachment {
                id: f.id,
                filename: f.filename,
                size: f.size,
                mime_type: f.mime_type,
                url: f.url,
                thumbnail_url: f.thumbnail_url,
            })
            .collect();
        serde_json::to_value(attachments).map_err(ServiceError::internal)
    }

    /// A `message.deleted` job for a message that was never stored, so
    /// that the files claimed for it expire.
    async fn release_files(&self, conn: &mut ocomms_runtime::db::Conn<'_>, message: MessageId) {
        let job = pb::MessageDeletedJob { message_id: message.to_string() };
        if let Err(e) = ocomms_runtime::jobs::enqueue_all(conn, MESSAGE_DELETED, &[job]).await {
            tracing::warn!(error = format!("{e:#}"), message = %message, "could not release the files of a failed send");
        }
        self.relay.wake();
    }
}

/// Writes a new message and what comes with it: the thread's reply count,
/// its mentions, and the durable jobs for svc-notify (whoever is told) and
/// svc-files (link previews). In the caller's transaction unless the
/// message is plain (no parent, mentions, links, nor a conversation), when
/// `store::write_new`'s one statement is all of it.
async fn write_message(
    conn: &mut diesel_async::AsyncPgConnection,
    mut m: Message,
    target: Target,
    mentioned: &[(UserId, MentionKind)],
    job_base: &pb::MessageMentionedJob,
    urls: Vec<String>,
) -> ServiceResult<(Message, Option<Message>)> {
    // A reply goes to a top-level message of the same place (one level of
    // threads). Its row is changed after the place's row is locked, as
    // every change does.
    let parent_msg = match m.parent_id {
        None => None,
        Some(parent) => {
            let pm = store::get(conn, parent).await?;
            domain::check_reply_parent(target, pm.as_ref().map(|pm| (Target::of(pm), pm.parent_id.is_some())))?;
            pm
        }
    };
    let what = if matches!(target, Target::Channel(_)) { "channel" } else { "conversation" };
    m.sequence = store::write_new(conn, &m, target).await?.ok_or_else(|| ServiceError::not_found(what))?;
    if let Some(pm) = &parent_msg {
        store::bump_reply_count(conn, pm.id).await?;
    }
    store::insert_mentions(conn, &m, mentioned).await?;
    // Who is told besides the mentioned (seed 3.1): a thread's
    // participants of a reply, the other members of a DM (for a message,
    // not a thread reply). A mention wins over these; the author is never
    // told.
    let mut told: Vec<(UserId, MentionKind)> = mentioned.to_vec();
    let mut others = Vec::new();
    if let Some(pm) = &parent_msg {
        others.extend(store::thread_participants(conn, pm).await?.into_iter().map(|u| (u, MentionKind::ThreadReply)));
    }
    // A reply in a DM's thread tells the thread's participants only.
    if let Target::Conversation(c) = target
        && parent_msg.is_none()
    {
        others.extend(crate::store::conversations::participants(conn, c).await?.into_iter().map(|u| (u, MentionKind::Dm)));
    }
    for (u, kind) in others {
        if u != m.author_id && !told.iter().any(|(t, _)| *t == u) {
            told.push((u, kind));
        }
    }
    if !told.is_empty() {
        // Durable: committed with the message, relayed to svc-notify.
        let job = pb::MessageMentionedJob {
            message_id: m.id.to_string(),
            sequence: m.sequence,
            parent_id: m.parent_id.map(|p| p.to_string()),
            recipients: told.iter().map(|(u, kind)| pb::MentionRecipient { user_id: u.to_string(), kind: kind.to_string() }).collect(),
            ..job_base.clone()
        };
        ocomms_runtime::jobs::enqueue_all(conn, crate::MESSAGE_MENTIONED, &[job]).await.map_err(ServiceError::internal)?;
    }
    if !urls.is_empty() {
        // svc-files fetches their previews.
        let job = pb::MessageLinksJob { message_id: m.id.to_string(), author_id: m.author_id.to_string(), urls };
        ocomms_runtime::jobs::enqueue_all(conn, MESSAGE_LINKS, &[job]).await.map_err(ServiceError::internal)?;
    }
    Ok((m, parent_msg))
}
