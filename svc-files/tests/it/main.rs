//! svc-files against real PostgreSQL and svc-auth.

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use ocomms_proto::files::v1 as pb;
use ocomms_proto::files::v1::files_service_client::FilesServiceClient;
use ocomms_runtime::events::Bus;
use ocomms_runtime::testing::{self, authed};

#[tokio::test(flavor = "multi_thread")]
async fn storage_usage_is_per_user_with_the_configured_quota() {
    let bus = Bus::local();
    let auth = svc_auth::testing::spawn(bus.clone()).await.expect("auth");
    let files = testing::spawn_service("files", svc_files::MIGRATIONS, &auth.url(), move |common, l, s| {
        svc_files::serve(svc_files::Config { common, quota_bytes: 5_000, s3_bucket: None, upload_dir: "unused".into() }, bus, l, s)
    })
    .await
    .expect("files");
    let mut c = FilesServiceClient::connect(files.url()).await.expect("connect");
    let (ann_id, ann) = svc_auth::testing::user(&auth, "ann").await.expect("ann");
    let (_, bob) = svc_auth::testing::user(&auth, "bob").await.expect("bob");
    let u = c.get_storage_usage(authed(&ann, pb::GetStorageUsageRequest {})).await.expect("usage").into_inner();
    assert_eq!((u.used, u.quota), (0, 5_000));
    let mut conn = AsyncPgConnection::establish(&files.database_url).await.expect("db");
    diesel::sql_query(format!("INSERT INTO user_storage (user_id, used_bytes) VALUES ('{ann_id}', 1234)"))
        .execute(&mut conn)
        .await
        .expect("row");
    assert_eq!(c.get_storage_usage(authed(&ann, pb::GetStorageUsageRequest {})).await.expect("usage").into_inner().used, 1234);
    assert_eq!(c.get_storage_usage(authed(&bob, pb::GetStorageUsageRequest {})).await.expect("usage").into_inner().used, 0);
    let err = c.get_storage_usage(pb::GetStorageUsageRequest {}).await.expect_err("anonymous");
    assert_eq!(err.code(), tonic::Code::Unauthenticated);
}
