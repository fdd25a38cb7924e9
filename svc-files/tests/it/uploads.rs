//! Uploads: types from the bytes, limits as the stream passes them, exact
//! quotas under concurrency, re-encoding, emoji, attachments and cleanup.

use ocomms_proto::auth::v1 as auth;
use ocomms_proto::files::v1 as pb;
use ocomms_proto::messaging::v1 as m;
use ocomms_runtime::testing;

use crate::helpers::*;

/// Files under the upload directory (objects), and leftovers in its tmp/.
fn stored(app: &App) -> (usize, usize) {
    let root = app.dir.path().join("uploads");
    let mut objects = 0;
    for kind in ["attachment", "avatar", "emoji"] {
        // Thumbnails (`<id>.thumb.jpg`) go with their file.
        objects += std::fs::read_dir(root.join(kind))
            .map(|d| d.flatten().filter(|e| !e.file_name().to_string_lossy().contains(".thumb.")).count())
            .unwrap_or(0);
    }
    let tmp = std::fs::read_dir(root.join("tmp")).map(|d| d.count()).unwrap_or(0);
    (objects, tmp)
}

async fn used(app: &App, token: &str) -> i64 {
    app.client.clone().get_storage_usage(authed(token, pb::GetStorageUsageRequest {})).await.expect("usage").into_inner().used
}

#[tokio::test(flavor = "multi_thread")]
async fn types_come_from_the_bytes_and_refused_uploads_leave_nothing() {
    let app = app_with(Backend::Local, 1_000_000, 3600).await;
    let (_, ann) = user(&app, "ann").await;
    let image = png(64, 48);
    let ok = upload(&app, &ann, start("attachment", "../../report.pdf"), &image, 1000).await.expect("a png named .pdf").file.expect("file");
    assert_eq!((ok.mime_type.as_str(), ok.filename.as_str(), ok.size), ("image/png", "report.pdf", image.len() as i64));
    assert_eq!(ok.url, format!("/api/files/{}", ok.id));
    assert_eq!(ok.thumbnail_url, Some(format!("/api/files/{}/thumbnail", ok.id)));
    assert_eq!(used(&app, &ann).await, image.len() as i64);

    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".to_vec();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("attachment", svg, "INVALID_FILE_TYPE"),
        ("attachment", b"just some text, not a file we take".to_vec(), "INVALID_FILE_TYPE"),
        ("avatar", pdf(2000), "INVALID_FILE_TYPE"),
        ("attachment", pdf(1_000_000 - image.len() + 1), "QUOTA_EXCEEDED"),
        ("attachment", png_header(100_000, 100_000), "VALIDATION_ERROR"),
        ("attachment", Vec::new(), "INVALID_FILE_TYPE"),
    ];
    for (kind, bytes, want) in cases {
        let e = upload(&app, &ann, start(kind, "f"), &bytes, 64 * 1024).await.expect_err(want);
        assert_eq!(code(&e), want, "{kind}: {e:?}");
    }
    // A stream that ends without saying it is complete (the client went
    // away mid-upload) stores nothing, whatever its kind.
    for kind in ["attachment", "avatar"] {
        let e = send(&app, &ann, start(kind, "cut.png"), &png(300, 300), 1000, false).await.expect_err("cut off");
        assert_eq!(code(&e), "VALIDATION_ERROR", "{kind}");
    }
    // Over a kind's limit: refused as the stream passes it.
    let e =
        upload(&app, &ann, pb::UploadStart { workspace_id: None, ..start("avatar", "a.png") }, &pdf(10), 10).await.expect_err("pdf avatar");
    assert_eq!(code(&e), "INVALID_FILE_TYPE");
    let big = app_with(Backend::Local, 100 * 1024 * 1024, 3600).await;
    let (_, bob) = user(&big, "bob").await;
    let e = upload(&big, &bob, start("attachment", "big.pdf"), &pdf(25 * 1024 * 1024 + 1), 1024 * 1024).await.expect_err("25 MB + 1");
    assert_eq!(code(&e), "FILE_TOO_LARGE");
    assert_eq!(used(&big, &bob).await, 0);
    assert_eq!(stored(&big), (0, 0), "nothing left behind");

    assert_eq!(used(&app, &ann).await, image.len() as i64, "refusals count nothing");
    assert_eq!(stored(&app), (1, 0), "only the accepted upload is stored");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_uploads_never_overshoot_the_quota() {
    let app = app_with(Backend::Local, 1_000_000, 3600).await;
    let (_, ann) = user(&app, "ann").await;
    let body = pdf(300_000);
    let tries = (0..8).map(|i| {
        let (app, ann, body) = (&app, &ann, &body);
        async move { upload(app, ann, start("attachment", &format!("{i}.pdf")), body, 32 * 1024).await }
    });
    let results = futures_util::future::join_all(tries).await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 3, "exactly what fits: {results:?}");
    assert!(results.iter().filter_map(|r| r.as_ref().err()).all(|e| code(e) == "QUOTA_EXCEEDED"));
    assert_eq!(used(&app, &ann).await, 900_000);
    assert_eq!(stored(&app), (3, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn avatars_are_reencoded_without_exif_and_emoji_belong_to_admins() {
    let app = app_with(Backend::Local, 10_000_000, 0).await;
    let (ann_id, ann) = user(&app, "ann").await;
    let (_, bob) = user(&app, "bob").await;
    let ws = svc_auth::testing::workspace(&app.auth, &ann).await.expect("workspace");
    svc_auth::testing::invite(&app.auth, &ws, &ann, &bob).await.expect("invite");

    let photo = jpeg_with_gps(900, 600);
    assert!(photo.windows(11).any(|w| w == b"SECRET-HOME"));
    let avatar = upload(&app, &ann, pb::UploadStart { workspace_id: Some(ws.clone()), ..start("avatar", "me.jpg") }, &photo, 8192)
        .await
        .expect("avatar")
        .file
        .expect("file");
    assert_eq!(avatar.mime_type, "image/png");
    let (info, bytes) =
        download(&app, &bob, pb::DownloadRequest { file_id: avatar.id.clone(), ..Default::default() }).await.expect("a member reads it");
    assert_eq!(info.mime_type, "image/png");
    assert!(!bytes.windows(11).any(|w| w == b"SECRET-HOME"), "EXIF and GPS are gone");
    let decoded = image::load_from_memory(&bytes).expect("an image");
    assert_eq!((decoded.width(), decoded.height()), (512, 341), "at most 512 px");
    let profile = svc_auth::testing::client(&app.auth)
        .await
        .expect("auth")
        .get_profile(authed(&bob, auth::GetProfileRequest { workspace_id: ws.clone(), user_id: Some(ann_id.clone()) }))
        .await
        .expect("profile")
        .into_inner();
    assert_eq!(profile.avatar_url.as_deref(), Some(avatar.url.as_str()), "the profile points at it");

    let emoji = pb::UploadStart { workspace_id: Some(ws.clone()), emoji_name: Some("Party".into()), ..start("emoji", "party.png") };
    let e = upload(&app, &bob, emoji.clone(), &png(32, 32), 4096).await.expect_err("bob is no admin");
    assert_eq!(code(&e), "FORBIDDEN");
    let before_emoji = used(&app, &ann).await;
    let made = upload(&app, &ann, emoji.clone(), &png(300, 200), 4096).await.expect("ann adds it").emoji.expect("emoji");
    assert!(used(&app, &ann).await > before_emoji);
    assert_eq!(made.name, "party");
    let e = upload(&app, &ann, emoji, &png(32, 32), 4096).await.expect_err("same name");
    assert_eq!(code(&e), "CONFLICT");
    let bad = pb::UploadStart { workspace_id: Some(ws.clone()), emoji_name: Some("no way".into()), ..start("emoji", "x.png") };
    assert_eq!(code(&upload(&app, &ann, bad, &png(8, 8), 4096).await.expect_err("bad name")), "VALIDATION_ERROR");
    let mut c = app.client.clone();
    let list = c.list_emoji(authed(&bob, pb::ListEmojiRequest { workspace_id: ws.clone() })).await.expect("list").into_inner();
    assert_eq!(list.emoji.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), vec!["party"]);
    let e = c.delete_emoji(authed(&bob, pb::DeleteEmojiRequest { workspace_id: ws.clone(), name: "party".into() })).await.expect_err("bob");
    assert_eq!(code(&e), "FORBIDDEN");
    c.delete_emoji(authed(&ann, pb::DeleteEmojiRequest { workspace_id: ws.clone(), name: "party".into() })).await.expect("ann");
    assert!(
        c.list_emoji(authed(&ann, pb::ListEmojiRequest { workspace_id: ws.clone() })).await.expect("list").into_inner().emoji.is_empty()
    );
    // Its image goes and the quota is credited.
    let credited = testing::eventually(10, || {
        let app = &app;
        let ann = &ann;
        async move { (used(app, ann).await == before_emoji).then_some(()) }
    })
    .await;
    assert!(credited.is_some(), "the emoji's image was removed and credited");
}

#[tokio::test(flavor = "multi_thread")]
async fn attachments_are_claimed_once_readable_by_who_sees_the_message_and_removed_with_it() {
    let app = app_with(Backend::Local, 10_000_000, 1).await;
    let (_, ann) = user(&app, "ann").await;
    let (_, bob) = user(&app, "bob").await;
    let (_, eve) = user(&app, "eve").await;
    let ws = svc_auth::testing::workspace(&app.auth, &ann).await.expect("workspace");
    svc_auth::testing::invite(&app.auth, &ws, &ann, &bob).await.expect("invite");
    let mut chat = app.chat.clone();
    let channel = chat
        .create_channel(authed(&ann, m::CreateChannelRequest { workspace_id: ws.clone(), name: "general".into(), ..Default::default() }))
        .await
        .expect("channel")
        .into_inner()
        .id;
    chat.join_channel(authed(&bob, m::JoinChannelRequest { channel_id: channel.clone() })).await.expect("join");

    let f = upload(&app, &ann, start("attachment", "plan.pdf"), &pdf(70_000), 16 * 1024).await.expect("upload").file.expect("file");
    let get = |id: &str| pb::DownloadRequest { file_id: id.to_owned(), ..Default::default() };
    assert_eq!(code(&download(&app, &bob, get(&f.id)).await.expect_err("not attached yet")), "NOT_FOUND");
    // Bob cannot send Ann's upload.
    let steal = m::SendMessageRequest {
        channel_id: Some(channel.clone()),
        content: "mine".into(),
        attachment_ids: vec![f.id.clone()],
        ..Default::default()
    };
    assert_eq!(code(&chat.send_message(authed(&bob, steal)).await.expect_err("not his")), "NOT_FOUND");
    let send = m::SendMessageRequest {
        channel_id: Some(channel.clone()),
        content: String::new(),
        attachment_ids: vec![f.id.clone()],
        ..Default::default()
    };
    let msg = chat.send_message(authed(&ann, send.clone())).await.expect("a message of just a file").into_inner();
    assert_eq!(msg.attachments.len(), 1);
    assert_eq!((msg.attachments[0].filename.as_str(), msg.attachments[0].mime_type.as_str()), ("plan.pdf", "application/pdf"));
    assert_eq!(code(&chat.send_message(authed(&ann, send)).await.expect_err("claimed once")), "NOT_FOUND");
    let history = chat
        .list_messages(authed(&bob, m::ListMessagesRequest { channel_id: Some(channel.clone()), ..Default::default() }))
        .await
        .expect("history")
        .into_inner();
    assert_eq!(history.messages.last().map(|m| m.attachments.len()), Some(1), "history carries it");

    let (info, bytes) = download(&app, &bob, get(&f.id)).await.expect("bob sees the message");
    assert_eq!((info.size, bytes.len()), (70_000, 70_000));
    let (part, bytes) =
        download(&app, &bob, pb::DownloadRequest { range_start: Some(100), range_end: Some(199), ..get(&f.id) }).await.expect("range");
    assert_eq!((part.start, part.end, part.partial, bytes.len()), (100, 199, true, 100));
    assert_eq!(code(&download(&app, &eve, get(&f.id)).await.expect_err("an outsider")), "NOT_FOUND");

    // Deleted with its message: unreadable at once, removed a second later.
    chat.delete_message(authed(&ann, m::DeleteMessageRequest { message_id: msg.id.clone() })).await.expect("delete");
    let gone = testing::eventually(10, || {
        let app = &app;
        let (ann, f) = (&ann, &f);
        async move {
            let ann_reads = download(app, ann, pb::DownloadRequest { file_id: f.id.clone(), ..Default::default() }).await;
            (ann_reads.is_err() && used(app, ann).await == 0).then_some(())
        }
    })
    .await;
    assert!(gone.is_some(), "the file went with its message and the quota was credited");
    assert_eq!(stored(&app), (0, 0));

    // An upload never attached goes too.
    upload(&app, &ann, start("attachment", "draft.pdf"), &pdf(5_000), 4096).await.expect("upload");
    // The object goes first, then the row and the credit commit together.
    let cleaned = testing::eventually(10, || {
        let (app, ann) = (&app, &ann);
        async move { (stored(app).0 == 0 && used(app, ann).await == 0).then_some(()) }
    })
    .await;
    assert!(cleaned.is_some(), "unattached uploads are removed and credited");
}

#[tokio::test(flavor = "multi_thread")]
async fn image_attachments_get_a_thumbnail_off_the_request_path() {
    let app = app().await;
    let (_, ann) = user(&app, "ann").await;
    let f = upload(&app, &ann, start("attachment", "wide.png"), &png(1200, 800), 64 * 1024).await.expect("upload").file.expect("file");
    let thumb = testing::eventually(20, || {
        let app = &app;
        let (ann, id) = (&ann, f.id.clone());
        async move {
            let (info, bytes) =
                download(app, ann, pb::DownloadRequest { file_id: id, thumbnail: true, ..Default::default() }).await.ok()?;
            (info.mime_type == "image/jpeg").then_some(bytes)
        }
    })
    .await
    .expect("a thumbnail is made");
    let img = image::load_from_memory(&thumb).expect("decodes");
    assert_eq!((img.width(), img.height()), (400, 267), "1200×800 fits in 400×400");
}
