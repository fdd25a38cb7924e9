//! `ocomms.scheduler.v1.SchedulerService`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use ocomms_proto::scheduler::v1 as pb;
use ocomms_runtime::ServiceResult;
use ocomms_runtime::db::Pool;
use ocomms_runtime::identity::Identity;
use ocomms_runtime::time::rfc3339;
use tonic::Request;

pub struct SchedulerApi {
    pub pool: Pool,
    pub identity: Identity,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = SqlUuid)]
    id: uuid::Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    channel_id: Option<uuid::Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    conversation_id: Option<uuid::Uuid>,
    #[diesel(sql_type = Text)]
    content: String,
    #[diesel(sql_type = Timestamptz)]
    scheduled_for: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    timezone: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Nullable<Text>)]
    error: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
}

impl SchedulerApi {
    pub(crate) async fn list_scheduled_messages(
        &self,
        req: Request<pb::ListScheduledMessagesRequest>,
    ) -> ServiceResult<pb::ListScheduledMessagesResponse> {
        let p = self.identity.principal(req.metadata()).await?;
        let mut conn = self.pool.get().await?;
        let rows: Vec<Row> = diesel::sql_query(
            "SELECT id, channel_id, conversation_id, content, scheduled_for, timezone, status, error, created_at
               FROM scheduled_messages WHERE author_id = $1 ORDER BY scheduled_for ASC LIMIT 500",
        )
        .bind::<SqlUuid, _>(p.user_id)
        .load(&mut conn)
        .await?;
        Ok(pb::ListScheduledMessagesResponse {
            scheduled_messages: rows
                .into_iter()
                .map(|r| pb::ScheduledMessage {
                    id: r.id.to_string(),
                    channel_id: r.channel_id.map(|c| c.to_string()),
                    conversation_id: r.conversation_id.map(|c| c.to_string()),
                    content: r.content,
                    scheduled_for: rfc3339(r.scheduled_for),
                    timezone: r.timezone,
                    status: r.status,
                    error: r.error,
                    created_at: rfc3339(r.created_at),
                })
                .collect(),
        })
    }
}

ocomms_runtime::grpc_service!(pb::scheduler_service_server::SchedulerService, SchedulerApi, {
    list_scheduled_messages(pb::ListScheduledMessagesRequest) -> pb::ListScheduledMessagesResponse;
});
