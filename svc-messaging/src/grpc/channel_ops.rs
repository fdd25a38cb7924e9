//! Channels: create, list, read, join, leave, update, members, pins.

use chrono::Utc;
use diesel_async::AsyncConnection;
use ocomms_domain::ChannelId;
use ocomms_proto::auth::v1::GetMembershipRequest;
use ocomms_proto::messaging::v1 as pb;
use ocomms_runtime::identity::Principal;
use ocomms_runtime::ids::{self, UserId, WorkspaceId};

use crate::domain::CategoryId;
use crate::policy;
use ocomms_runtime::{ErrorCode, OrTaken, ServiceError, ServiceResult};
use tonic::Request;
use tonic::metadata::MetadataMap;

use super::{MessagingApi, Place, messages_pb};
use crate::convert;
use crate::domain;
use crate::store::channels::{self, Channel};
use crate::store::messages::{self as store, Target};
use ocomms_runtime::identity::caller;

impl MessagingApi {
    async fn channel_place(&self, meta: &MetadataMap, p: &Principal, id: &str) -> ServiceResult<Place> {
        let id: ChannelId = ids::parse("channelId", id)?;
        self.place(meta, p, Target::Channel(id)).await
    }

    /// The channel as the caller sees it, fresh from the database.
    async fn channel_view(&self, p: &Principal, id: ChannelId) -> ServiceResult<pb::Channel> {
        let mut conn = self.conn().await?;
        let c = channels::get(&mut conn, id).await?.ok_or_else(|| ServiceError::not_found("channel"))?;
        let is_member = channels::is_member(&mut conn, id, p.user_id).await?;
        let count = channels::member_count(&mut conn, id).await?;
        let unread = if is_member {
            store::channel_unread(&mut conn, c.workspace_id, p.user_id)
                .await?
                .into_iter()
                .find(|(x, _, _)| *x == id)
                .map(|(_, n, _)| n)
                .unwrap_or(0)
        } else {
            0
        };
        Ok(convert::channel_pb(&c, is_member, count, unread))
    }

    pub(crate) async fn create_channel(&self, req: Request<pb::CreateChannelRequest>) -> ServiceResult<pb::Channel> {
        let p = caller(&req)?;
        let r = req.get_ref();
        let ws: WorkspaceId = ids::parse("workspaceId", &r.workspace_id)?;
        let name = domain::channel_name(&r.name)?;
        let description = domain::description(r.description.as_deref())?;
        let category: Option<CategoryId> = ids::parse_opt("categoryId", r.category_id.as_deref())?;
        let m = self.access.membership(req.metadata(), &p, ws).await?;
        policy::check_not_guest(&m, "create channels")?;
        if let Some(cat) = category {
            let mut conn = self.conn().await?;
            if !channels::category(&mut conn, ws, cat).await? {
                return Err(ServiceError::validation("categoryId", "no such category in this workspace"));
            }
        }
        let channel = Channel {
            id: ChannelId::new(),
            workspace_id: ws,
            name,
            description,
            is_private: r.is_private,
            is_archived: false,
            category_id: category,
            created_by: p.user_id,
            created_at: Utc::now(),
            last_seq: 0,
            topic: None,
        };
        let mut conn = self.conn().await?;
        let c = channel.clone();
        let user = p.user_id;
        conn.transaction::<_, ServiceError, _>(async move |conn| {
            channels::insert(conn, &c).await.or_taken("name", "a channel with this name already exists")?;
            channels::add_member(conn, &c, user).await?;
            Ok(())
        })
        .await?;
        Ok(convert::channel_pb(&channel, true, 1, 0))
    }

    pub(crate) async fn list_channels(&self, req: Request<pb::ListChannelsRequest>) -> ServiceResult<pb::ListChannelsResponse> {
        let p = caller(&req)?;
        let ws: WorkspaceId = ids::parse("workspaceId", &req.get_ref().workspace_id)?;
        let m = self.access.membership(req.metadata(), &p, ws).await?;
        let mut conn = self.conn().await?;
        if m.is_guest {
            // Their granted channels become memberships, once (see `place`).
            for id in &m.guest_channel_ids {
                if let Some(c) = channels::get(&mut conn, *id).await?.filter(|c| c.workspace_id == ws) {
                    channels::redeem_guest_grant(&mut conn, &c, p.user_id).await?;
                }
            }
        }
        let rows = channels::visible(&mut conn, ws, p.user_id).await?;
        let unread = store::channel_unread(&mut conn, ws, p.user_id).await?;
        let channels = rows
            .iter()
            .filter(|(c, member, _)| policy::channel_listed(&m, c, *member))
            .map(|(c, member, n)| {
                let u = unread.iter().find(|(id, _, _)| *id == c.id).map(|(_, n, _)| *n).unwrap_or(0);
                convert::channel_pb(c, *member, *n, u)
            })
            .collect();
        Ok(pb::ListChannelsResponse { channels })
    }

    pub(crate) async fn get_channel(&self, req: Request<pb::GetChannelRequest>) -> ServiceResult<pb::Channel> {
        let p = caller(&req)?;
        let place = self.channel_place(req.metadata(), &p, &req.get_ref().channel_id).await?;
        let Target::Channel(id) = place.target else { return Err(ServiceError::not_found("channel")) };
        self.channel_view(&p, id).await
    }

    pub(crate) async fn join_channel(&self, req: Request<pb::JoinChannelRequest>) -> ServiceResult<pb::Channel> {
        let p = caller(&req)?;
        let place = self.channel_place(req.metadata(), &p, &req.get_ref().channel_id).await?;
        let channel = place.channel.as_ref().ok_or_else(|| ServiceError::not_found("channel"))?;
        if !place.is_member {
            if channel.is_archived {
                return Err(ServiceError::forbidden("this channel is archived"));
            }
            let mut conn = self.conn().await?;
            channels::add_member(&mut conn, channel, p.user_id).await?;
            // Joining starts with everything before now read.
            store::mark_channel_read(&mut conn, p.user_id, channel.id, channel.last_seq).await?;
        }
        self.channel_view(&p, channel.id).await
    }

    pub(crate) async fn leave_channel(&self, req: Request<pb::LeaveChannelRequest>) -> ServiceResult<pb::LeaveChannelResponse> {
        let p = caller(&req)?;
        let place = self.channel_place(req.metadata(), &p, &req.get_ref().channel_id).await?;
        if !place.is_member {
            return Err(ServiceError::validation("channelId", "you are not a member of this channel"));
        }
        let Target::Channel(id) = place.target else { return Err(ServiceError::not_found("channel")) };
        let mut conn = self.conn().await?;
        channels::remove_member(&mut conn, id, p.user_id).await?;
        Ok(pb::LeaveChannelResponse {})
    }

    pub(crate) async fn update_channel(&self, req: Request<pb::UpdateChannelRequest>) -> ServiceResult<pb::Channel> {
        let p = caller(&req)?;
        let r = req.get_ref();
        let name = r.name.as_deref().map(domain::channel_name).transpose()?;
        let description = match &r.description {
            Some(d) => Some(domain::description(Some(d))?),
            None => None,
        };
        let place = self.channel_place(req.metadata(), &p, &r.channel_id).await?;
        policy::check_manager(&place.membership, place.channel.as_ref(), p.user_id)?;
        let mut c = place.channel.clone().ok_or_else(|| ServiceError::not_found("channel"))?;
        if c.is_archived && r.is_archived != Some(false) && (name.is_some() || description.is_some()) {
            return Err(ServiceError::forbidden("this channel is archived; unarchive it first"));
        }
        if let Some(n) = name {
            c.name = n;
        }
        if let Some(d) = description {
            c.description = d;
        }
        if let Some(a) = r.is_archived {
            c.is_archived = a;
        }
        if let Some(t) = &r.topic {
            let t = t.trim();
            if t.chars().count() > 250 {
                return Err(ServiceError::validation("topic", "must be at most 250 characters"));
            }
            c.topic = (!t.is_empty()).then(|| t.to_owned());
        }
        if let Some(cat) = &r.category_id {
            c.category_id = ids::parse_opt::<CategoryId>("categoryId", Some(cat))?;
            if let Some(id) = c.category_id {
                let mut conn = self.conn().await?;
                if !channels::category(&mut conn, c.workspace_id, id).await? {
                    return Err(ServiceError::validation("categoryId", "no such category in this workspace"));
                }
            }
        }
        let mut conn = self.conn().await?;
        channels::update(&mut conn, &c).await.or_taken("name", "a channel with this name already exists")?;
        drop(conn);
        let view = self.channel_view(&p, c.id).await?;
        let to = self.audience(place.target).await?;
        self.publish(to, "channel:updated", serde_json::json!({ "channel": view })).await;
        Ok(view)
    }

    pub(crate) async fn add_channel_member(&self, req: Request<pb::ChannelMemberRequest>) -> ServiceResult<pb::Channel> {
        let p = caller(&req)?;
        let r = req.get_ref();
        let target: UserId = ids::parse("userId", &r.user_id)?;
        let place = self.channel_place(req.metadata(), &p, &r.channel_id).await?;
        let channel = place.channel.clone().ok_or_else(|| ServiceError::not_found("channel"))?;
        place.check_can_post()?;
        policy::check_not_guest(&place.membership, "add members")?;
        // The person added must belong to the workspace (asked of svc-auth).
        let ask = self.access.identity.forward(
            req.metadata(),
            GetMembershipRequest { workspace_id: channel.workspace_id.to_string(), user_id: Some(target.to_string()) },
        );
        let member = self.access.identity.auth_client().get_membership(ask).await.map_err(|s| {
            let e = ServiceError::from_status(&s);
            if e.code == ErrorCode::NotFound { ServiceError::not_found("user") } else { e }
        })?;
        if member.into_inner().is_guest {
            return Err(ServiceError::forbidden("guests are given channels by their invite"));
        }
        let mut conn = self.conn().await?;
        if !channels::is_member(&mut conn, channel.id, target).await? {
            channels::add_member(&mut conn, &channel, target).await?;
            store::mark_channel_read(&mut conn, target, channel.id, channel.last_seq).await?;
        }
        drop(conn);
        let view = self.channel_view(&p, channel.id).await?;
        self.publish(vec![target], "channel:joined", serde_json::json!({ "channel": view, "addedBy": p.user_id })).await;
        Ok(view)
    }

    pub(crate) async fn remove_channel_member(&self, req: Request<pb::RemoveChannelMemberRequest>) -> ServiceResult<pb::Channel> {
        let p = caller(&req)?;
        let r = req.get_ref();
        let target: UserId = ids::parse("userId", &r.user_id)?;
        let place = self.channel_place(req.metadata(), &p, &r.channel_id).await?;
        if target != p.user_id {
            policy::check_manager(&place.membership, place.channel.as_ref(), p.user_id)?;
        }
        let Target::Channel(id) = place.target else { return Err(ServiceError::not_found("channel")) };
        let mut conn = self.conn().await?;
        if channels::remove_member(&mut conn, id, target).await? == 0 {
            return Err(ServiceError::not_found("member"));
        }
        drop(conn);
        self.publish(vec![target], "channel:left", serde_json::json!({ "channelId": id, "removedBy": p.user_id })).await;
        self.channel_view(&p, id).await
    }

    pub(crate) async fn set_pin(&self, req: Request<pb::SetPinRequest>) -> ServiceResult<pb::SetPinResponse> {
        let p = caller(&req)?;
        let r = req.get_ref();
        let place = self.channel_place(req.metadata(), &p, &r.channel_id).await?;
        place.check_can_post()?;
        let Target::Channel(channel) = place.target else { return Err(ServiceError::not_found("channel")) };
        let (m, _) = self.visible_message(req.metadata(), &p, "messageId", &r.message_id).await?;
        if m.channel_id != Some(channel) || m.is_deleted {
            return Err(ServiceError::validation("messageId", "no such message in this channel"));
        }
        let mut conn = self.conn().await?;
        let (mid, uid, pinned) = (m.id, p.user_id, r.pinned);
        diesel_async::AsyncConnection::transaction::<_, ServiceError, _>(&mut conn, async move |conn| {
            Ok(store::set_pin(conn, channel, mid, uid, pinned).await?)
        })
        .await?;
        drop(conn);
        let to = self.audience(place.target).await?;
        self.publish(to, "pin:update", serde_json::json!({ "channelId": channel, "messageId": m.id, "pinned": r.pinned, "by": p.user_id }))
            .await;
        Ok(pb::SetPinResponse { message_id: m.id.to_string(), pinned: r.pinned })
    }

    pub(crate) async fn list_pins(&self, req: Request<pb::ListPinsRequest>) -> ServiceResult<pb::ListMessagesResponse> {
        let p = caller(&req)?;
        let r = req.get_ref();
        let limit = crate::domain::PAGE.of(r.limit)?;
        let before: Option<ocomms_domain::MessageId> = ids::parse_opt("before", r.before.as_deref())?;
        let place = self.channel_place(req.metadata(), &p, &r.channel_id).await?;
        let Target::Channel(channel) = place.target else { return Err(ServiceError::not_found("channel")) };
        let mut conn = self.conn().await?;
        let (rows, has_more) = store::pinned(&mut conn, channel, before, limit).await?;
        Ok(pb::ListMessagesResponse { messages: messages_pb(&mut conn, &rows).await?, has_more })
    }
}

impl MessagingApi {
    /// Internal (service credential, svc-auth): the user left or was removed
    /// from the workspace; what they had there before ends now.
    pub(crate) async fn remove_workspace_member(
        &self,
        req: Request<pb::RemoveWorkspaceMemberRequest>,
    ) -> ServiceResult<pb::RemoveWorkspaceMemberResponse> {
        if ocomms_runtime::identity::service_principal(req.metadata(), self.access.identity.service_token())?.is_none() {
            return Err(ServiceError::forbidden("internal call"));
        }
        let r = req.get_ref();
        let ws: WorkspaceId = ids::parse("workspaceId", &r.workspace_id)?;
        let user: UserId = ids::parse("userId", &r.user_id)?;
        let removed_at = ocomms_runtime::time::parse("removedAt", &r.removed_at)?;
        crate::remove_workspace_member(&self.pool, &self.access, ws, user, removed_at).await.map_err(ServiceError::internal)?;
        Ok(pb::RemoveWorkspaceMemberResponse {})
    }

    /// Internal (service credential): which ids are channels of the workspace.
    pub(crate) async fn filter_channels(&self, req: Request<pb::FilterChannelsRequest>) -> ServiceResult<pb::FilterChannelsResponse> {
        let Some(asker) = ocomms_runtime::identity::service_principal(req.metadata(), self.access.identity.service_token())? else {
            return Err(ServiceError::forbidden("internal call"));
        };
        let r = req.get_ref();
        let ws: WorkspaceId = ids::parse("workspaceId", &r.workspace_id)?;
        let wanted = r.channel_ids.iter().map(|c| ids::parse::<ChannelId>("channelIds", c)).collect::<ServiceResult<Vec<_>>>()?;
        let mut conn = self.conn().await?;
        let mut found = Vec::new();
        for id in wanted {
            // A private channel counts only for someone in it: nobody can
            // hand out access to a channel they cannot see.
            if let Some(c) = channels::get(&mut conn, id).await?.filter(|c| c.workspace_id == ws)
                && (!c.is_private || channels::is_member(&mut conn, c.id, asker.user_id).await?)
            {
                found.push(id.to_string());
            }
        }
        Ok(pb::FilterChannelsResponse { channel_ids: found })
    }
}

impl MessagingApi {
    pub(crate) async fn create_category(&self, req: Request<pb::CreateCategoryRequest>) -> ServiceResult<pb::Category> {
        let p = caller(&req)?;
        let r = req.get_ref();
        let ws: WorkspaceId = ids::parse("workspaceId", &r.workspace_id)?;
        let m = self.access.membership(req.metadata(), &p, ws).await?;
        let name = r.name.trim();
        if name.is_empty() || name.chars().count() > 80 {
            return Err(ServiceError::validation("name", "must be 1-80 characters"));
        }
        policy::check_admin(&m, "create categories")?;
        let position = r.position.unwrap_or(0);
        let mut conn = self.conn().await?;
        let id = channels::create_category(&mut conn, ws, name, position).await?;
        Ok(convert::category(id, ws, name.to_owned(), position))
    }

    pub(crate) async fn list_categories(&self, req: Request<pb::ListCategoriesRequest>) -> ServiceResult<pb::ListCategoriesResponse> {
        let p = caller(&req)?;
        let ws: WorkspaceId = ids::parse("workspaceId", &req.get_ref().workspace_id)?;
        self.access.membership(req.metadata(), &p, ws).await?;
        let mut conn = self.conn().await?;
        let list = channels::categories(&mut conn, ws).await?;
        Ok(pb::ListCategoriesResponse {
            categories: list.into_iter().map(|(id, name, position)| convert::category(id, ws, name, position)).collect(),
        })
    }
}
