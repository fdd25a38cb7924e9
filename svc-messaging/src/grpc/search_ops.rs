//! Search over what the caller can see.

use ocomms_domain::{ChannelId, ConversationId};
use ocomms_proto::auth::v1::ListMembersRequest;
use ocomms_proto::messaging::v1 as pb;
use ocomms_runtime::ids::{self, UserId, WorkspaceId};
use ocomms_runtime::{ServiceError, ServiceResult};
use tonic::Request;

use super::{MessagingApi, messages_pb};
use crate::domain;
use crate::policy;
use crate::store::messages::{self as store, SearchFilter};
use crate::store::{channels, conversations};
use ocomms_runtime::identity::caller;

impl MessagingApi {
    pub(crate) async fn search(&self, req: Request<pb::SearchRequest>) -> ServiceResult<pb::SearchResponse> {
        let p = caller(&req)?;
        let r = req.get_ref();
        let ws: WorkspaceId = ids::parse("workspaceId", &r.workspace_id)?;
        // Tenancy first: another workspace answers 404 whatever the query.
        let m = self.access.membership(req.metadata(), &p, ws).await?;
        let q = domain::search_query(&r.q)?;
        let limit = i64::from(domain::SEARCH_PAGE.of(r.limit)?);
        let mut conn = self.conn().await?;
        // Visible: public channels and one's private ones (a guest: only
        // their channels), and one's conversations.
        let visible = channels::visible(&mut conn, ws, p.user_id).await?;
        let mut chans: Vec<(ChannelId, String)> =
            visible.into_iter().filter(|(c, member, _)| policy::channel_listed(&m, c, *member)).map(|(c, _, _)| (c.id, c.name)).collect();
        let mut convs: Vec<ConversationId> = if m.is_guest {
            Vec::new()
        } else {
            conversations::for_user(&mut conn, ws, p.user_id).await?.into_iter().map(|c| c.id).collect()
        };
        if let Some(name) = &q.in_channel {
            chans.retain(|(_, n)| n == name);
            convs.clear();
        }
        drop(conn);
        let from: Option<UserId> = match &q.from {
            None => None,
            Some(handle) => {
                let req = self.access.identity.forward(req.metadata(), ListMembersRequest { workspace_id: ws.to_string() });
                let members = self.access.identity.auth_client().list_members(req).await.map_err(ServiceError::from)?.into_inner().members;
                match members.iter().find(|mm| domain::handles(&mm.name, &mm.email).contains(handle) || mm.user_id == *handle) {
                    Some(mm) => mm.user_id.parse().ok(),
                    // Nobody by that name: nothing from them.
                    None => return Ok(pb::SearchResponse { results: Vec::new() }),
                }
            }
        };
        if chans.is_empty() && convs.is_empty() {
            return Ok(pb::SearchResponse { results: Vec::new() });
        }
        let ids: Vec<ChannelId> = chans.iter().map(|(id, _)| *id).collect();
        let mut conn = self.conn().await?;
        let hits = store::search(
            &mut conn,
            SearchFilter {
                workspace_id: ws,
                channels: &ids,
                conversations: &convs,
                text: &q.text,
                from,
                before: q.before.and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc()),
                after: q.after.and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc()),
                limit,
            },
        )
        .await?;
        let rows: Vec<_> = hits.iter().map(|h| h.message.clone()).collect();
        let encoded = messages_pb(&mut conn, &rows).await?;
        let results = hits
            .iter()
            .zip(encoded)
            .map(|(h, msg)| pb::SearchResult {
                highlight: domain::highlight(&h.message.content, &q.text),
                rank: h.rank,
                channel_name: h.message.channel_id.and_then(|c| chans.iter().find(|(id, _)| *id == c).map(|(_, n)| n.clone())),
                message: Some(msg),
            })
            .collect();
        Ok(pb::SearchResponse { results })
    }
}
