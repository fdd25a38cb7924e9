//! `ocomms.files.v1.FilesService`.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use ocomms_proto::files::v1 as pb;
use ocomms_runtime::ServiceResult;
use ocomms_runtime::db::Pool;
use ocomms_runtime::identity::Identity;
use tonic::Request;

pub struct FilesApi {
    pub pool: Pool,
    pub identity: Identity,
    pub quota_bytes: i64,
}

#[derive(QueryableByName)]
struct Used {
    #[diesel(sql_type = BigInt)]
    used_bytes: i64,
}

impl FilesApi {
    pub(crate) async fn get_storage_usage(&self, req: Request<pb::GetStorageUsageRequest>) -> ServiceResult<pb::StorageUsage> {
        let p = self.identity.principal(req.metadata()).await?;
        let mut conn = self.pool.get().await?;
        let used: Option<Used> = diesel::sql_query("SELECT used_bytes FROM user_storage WHERE user_id = $1")
            .bind::<SqlUuid, _>(p.user_id)
            .get_result(&mut conn)
            .await
            .optional()?;
        Ok(pb::StorageUsage { used: used.map(|u| u.used_bytes).unwrap_or(0), quota: self.quota_bytes })
    }
}

ocomms_runtime::grpc_service!(pb::files_service_server::FilesService, FilesApi, {
    get_storage_usage(pb::GetStorageUsageRequest) -> pb::StorageUsage;
});
