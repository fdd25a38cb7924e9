//! The same uploads against an S3-compatible server that checks
//! signatures: multipart for large files, ranges, refusals that leave no
//! object or unfinished upload, cleanup that deletes the object.

use ocomms_proto::files::v1 as pb;
use ocomms_runtime::testing;

use crate::helpers::*;

/// Objects and unfinished multipart parts in the S3 server's bucket.
fn bucket_contents(app: &App) -> (usize, usize) {
    let root = app.dir.path();
    let mut objects = 0;
    let mut walk = vec![root.join(BUCKET)];
    while let Some(dir) = walk.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                walk.push(e.path());
            } else {
                objects += 1;
            }
        }
    }
    let parts = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".upload_id"))
        .count();
    (objects, parts)
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_stores_large_files_in_parts_serves_ranges_and_cleans_up() {
    let app = app_with(Backend::S3, 100 * 1024 * 1024, 6).await;
    let (_, ann) = user(&app, "ann").await;
    // 12 MB: three parts of 5, 5 and 2 MiB-ish.
    let mut body = pdf(12 * 1024 * 1024);
    for (i, b) in body.iter_mut().enumerate().skip(16) {
        *b = (i % 251) as u8;
    }
    let f = upload(&app, &ann, start("attachment", "big.pdf"), &body, 256 * 1024).await.expect("upload").file.expect("file");
    assert_eq!(f.size, body.len() as i64);
    assert_eq!(bucket_contents(&app), (1, 0), "one object, no parts left");
    let (info, got) = download(&app, &ann, pb::DownloadRequest { file_id: f.id.clone(), ..Default::default() }).await.expect("download");
    assert_eq!(info.size, body.len() as i64);
    assert!(got == body, "the same bytes back");
    let (part, got) = download(
        &app,
        &ann,
        pb::DownloadRequest { file_id: f.id.clone(), range_start: Some(5_242_870), range_end: Some(5_242_889), ..Default::default() },
    )
    .await
    .expect("range across a part boundary");
    assert_eq!((part.start, part.end), (5_242_870, 5_242_889));
    assert_eq!(got, body[5_242_870..=5_242_889].to_vec());
    let (past, got) =
        download(&app, &ann, pb::DownloadRequest { file_id: f.id.clone(), range_start: Some(body.len() as i64), ..Default::default() })
            .await
            .expect("a range past the end is answered");
    assert!(past.start > past.end && got.is_empty());

    // Refused on the way: no object and no unfinished multipart upload.
    let e = upload(&app, &ann, start("attachment", "huge.pdf"), &pdf(26 * 1024 * 1024), 1024 * 1024).await.expect_err("too large");
    assert_eq!(code(&e), "FILE_TOO_LARGE");
    assert_eq!(bucket_contents(&app), (1, 0));

    // Never attached: removed from the bucket, quota credited.
    // The object goes first, then the row and the credit commit together.
    let cleaned = testing::eventually(30, || {
        let (app, ann) = (&app, &ann);
        async move {
            let usage = app.client.clone().get_storage_usage(authed(ann, pb::GetStorageUsageRequest {})).await.ok()?.into_inner();
            (bucket_contents(app) == (0, 0) && usage.used == 0).then_some(())
        }
    })
    .await;
    assert!(cleaned.is_some(), "the object was deleted from S3 and the quota credited");
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_refuses_requests_with_a_wrong_secret() {
    // The S3 server checks signatures: the same flow with a wrong secret fails.
    let dir = tempfile::tempdir().expect("dir");
    let endpoint = s3_server(dir.path()).await;
    let cfg = svc_files::config::S3Config {
        bucket: BUCKET.into(),
        endpoint: Some(endpoint),
        region: "us-east-1".into(),
        access_key_id: Some(S3_KEY.into()),
        secret_access_key: Some("not-the-secret".into()),
        force_path_style: true,
    };
    let storage = svc_files::storage::Storage::from_config(Some(&cfg), "unused").await.expect("client");
    assert!(storage.put("x/y", "application/pdf", pdf(100)).await.is_err(), "a bad signature is refused");
    assert_eq!(std::fs::read_dir(dir.path().join(BUCKET)).expect("bucket").count(), 0);
}
