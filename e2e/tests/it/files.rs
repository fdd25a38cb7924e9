//! Files through the gateway: real multipart uploads, downloads with the
//! headers a browser needs, attachments travelling with messages to exactly
//! their audience, avatars and custom emoji.

use std::io::Cursor;
use std::time::Duration;

use crate::support::*;

fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 77]));
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img).write_to(&mut out, image::ImageFormat::Png).expect("png");
    out.into_inner()
}

fn pdf(size: usize) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n".to_vec();
    out.resize(size, b'x');
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn attachments_reach_exactly_who_sees_the_message_and_download_safely() {
    let t = stack().await;
    let api = t.api();
    let r = room(&api).await;
    let eve = api.sign_up("Eve").await.expect("eve");
    let mut bob = Socket::connect(&t.base, &r.bob.token).await.expect("bob's socket");
    let mut ann = Socket::connect(&t.base, &r.ann.token).await.expect("ann's socket");

    let image = png(640, 480);
    let up = api.upload("/api/upload/attachment", &r.ann.token, &[], "holiday.png", image.clone()).await.expect(200);
    let id = up["id"].as_str().expect("id").to_owned();
    assert_eq!(
        (up["mimeType"].as_str(), up["filename"].as_str(), up["size"].as_i64()),
        (Some("image/png"), Some("holiday.png"), Some(image.len() as i64))
    );
    let url = up["url"].as_str().expect("url").to_owned();
    assert_eq!(url, format!("/api/files/{id}"));
    // Not attached yet: only Ann reads it.
    assert_eq!(api.fetch(&url, Some(&r.bob.token), &[]).await.0, 404);
    assert_eq!(api.fetch(&url, None, &[]).await.0, 401);
    assert_eq!(api.fetch(&url, Some(&r.ann.token), &[]).await.0, 200);

    let ack = ann.request("message:send", json!({ "channelId": r.channel, "content": "look", "attachmentIds": [id] })).await.expect("ack");
    assert_eq!(ack["ok"], true, "{ack}");
    let new = bob.event("message:new", WAIT).await.expect("message:new");
    let a = &new["message"]["attachments"][0];
    assert_eq!((a["id"].as_str(), a["filename"].as_str(), a["url"].as_str()), (Some(id.as_str()), Some("holiday.png"), Some(url.as_str())));
    assert_eq!(a["thumbnailUrl"], format!("/api/files/{id}/thumbnail"));

    let (status, headers, bytes) = api.fetch(&url, Some(&r.bob.token), &[]).await;
    assert_eq!(status, 200);
    assert!(bytes == image);
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(headers["content-security-policy"].to_str().expect("csp").contains("sandbox"));
    assert!(headers["content-disposition"].to_str().expect("cd").starts_with("inline"), "images show inline");
    let (status, headers, bytes) = api.fetch(&url, Some(&r.bob.token), &[("range", "bytes=0-9")]).await;
    assert_eq!(status, 206);
    assert_eq!(headers["content-range"], format!("bytes 0-9/{}", image.len()));
    assert_eq!(bytes, image[..10].to_vec());
    let past = format!("bytes={}-", image.len() + 10);
    assert_eq!(api.fetch(&url, Some(&r.bob.token), &[("range", &past)]).await.0, 416);
    assert_eq!(api.fetch(&url, Some(&eve.token), &[]).await.0, 404, "an outsider");
    let thumb = testing_eventually(|| async {
        let (s, h, b) = api.fetch(&format!("/api/files/{id}/thumbnail"), Some(&r.bob.token), &[]).await;
        (s == 200 && h["content-type"] == "image/jpeg").then_some(b)
    })
    .await
    .expect("a thumbnail");
    let small = image::load_from_memory(&thumb).expect("decodes");
    assert_eq!((small.width(), small.height()), (400, 300));

    // Search results carry it too.
    let found = api.get(&format!("/api/workspaces/{}/search?q=look", r.ws), &r.bob.token).await.expect(200);
    assert_eq!(found["results"][0]["message"]["attachments"][0]["id"], id.as_str(), "{found}");

    // A PDF downloads as an attachment, never inline.
    let doc = api.upload("/api/upload/attachment", &r.ann.token, &[], "spec.pdf", pdf(3000)).await.expect(200);
    let (_, headers, _) = api.fetch(doc["url"].as_str().expect("url"), Some(&r.ann.token), &[]).await;
    assert_eq!(headers["content-type"], "application/pdf");
    assert!(headers["content-disposition"].to_str().expect("cd").starts_with("attachment; filename=\"spec.pdf\""));

    // The message deleted, its file is gone for everyone.
    api.call(reqwest::Method::DELETE, &format!("/api/messages/{}", new["message"]["id"].as_str().expect("id")), Some(&r.ann.token), None)
        .await
        .expect("call")
        .expect(200);
    let gone = testing_eventually(|| async { (api.fetch(&url, Some(&r.bob.token), &[]).await.0 == 404).then_some(()) }).await;
    assert!(gone.is_some(), "a deleted message's file is not readable by URL");
    t.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread")]
async fn uploads_refuse_wrong_types_sizes_and_quotas_with_the_seed_codes() {
    let t = TestStack::start(StackOptions { env: vec![("STORAGE_QUOTA_BYTES".into(), "2000000".into())], ..Default::default() })
        .await
        .expect("stack");
    let api = t.api();
    let r = room(&api).await;
    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>".to_vec();
    api.upload("/api/upload/attachment", &r.ann.token, &[], "cat.png", svg).await.expect_error(400, "INVALID_FILE_TYPE");
    api.upload("/api/upload/avatar", &r.ann.token, &[], "me.pdf", pdf(500)).await.expect_error(400, "INVALID_FILE_TYPE");
    let mut big = png(8, 8);
    big.resize(300 * 1024, 0);
    api.upload("/api/upload/emoji", &r.ann.token, &[("workspaceId", &r.ws), ("name", "big")], "big.png", big)
        .await
        .expect_error(413, "FILE_TOO_LARGE");
    api.upload("/api/upload/attachment", &r.ann.token, &[], "a.pdf", pdf(1_500_000)).await.expect(200);
    api.upload("/api/upload/attachment", &r.ann.token, &[], "b.pdf", pdf(600_000)).await.expect_error(413, "QUOTA_EXCEEDED");
    let usage = api.get("/api/user/storage", &r.ann.token).await.expect(200);
    assert_eq!((usage["used"].as_i64(), usage["quota"].as_i64()), (Some(1_500_000), Some(2_000_000)), "refusals count nothing");
    // 25 MB is the attachment limit, whatever the quota.
    let roomy = TestStack::start(StackOptions::default()).await.expect("stack");
    let api2 = roomy.api();
    let cat = api2.sign_up("Cat").await.expect("cat");
    api2.upload("/api/upload/attachment", &cat.token, &[], "huge.pdf", pdf(25 * 1024 * 1024 + 1)).await.expect_error(413, "FILE_TOO_LARGE");
    // 5 MB is the avatar limit.
    let mut big_avatar = png(8, 8);
    big_avatar.resize(5 * 1024 * 1024 + 1, 0);
    api2.upload("/api/upload/avatar", &cat.token, &[], "me.png", big_avatar).await.expect_error(413, "FILE_TOO_LARGE");
    assert_eq!(api2.get("/api/user/storage", &cat.token).await.expect(200)["used"], 0);
    api.upload("/api/upload/attachment", &r.ann.token, &[], "none", Vec::new()).await.expect_error(400, "INVALID_FILE_TYPE");
    api.call(reqwest::Method::POST, "/api/upload/attachment", Some(&r.ann.token), Some(json!({ "file": "nope" })))
        .await
        .expect("call")
        .expect_error(400, "VALIDATION_ERROR");
    roomy.stop().await.expect("stop");
    t.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread")]
async fn avatars_point_profiles_at_them_and_admins_manage_custom_emoji() {
    let t = stack().await;
    let api = t.api();
    let r = room(&api).await;
    let avatar = api.upload("/api/upload/avatar", &r.bob.token, &[("workspaceId", &r.ws)], "me.png", png(800, 800)).await.expect(200);
    assert_eq!(avatar["mimeType"], "image/png");
    let profile = api.get(&format!("/api/workspaces/{}/members/{}/profile", r.ws, r.bob.id), &r.ann.token).await.expect(200);
    assert_eq!(profile["avatarUrl"], avatar["url"]);
    let (status, _, bytes) = api.fetch(avatar["url"].as_str().expect("url"), Some(&r.ann.token), &[]).await;
    assert_eq!(status, 200, "members of the workspace read it");
    let img = image::load_from_memory(&bytes).expect("png");
    assert_eq!((img.width(), img.height()), (512, 512));

    // The avatar's workspace after its file: refused, and nothing changed.
    let usage = api.get("/api/user/storage", &r.bob.token).await.expect(200)["used"].clone();
    let late = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(png(64, 64)).file_name("late.png"))
        .text("workspaceId", r.ws.clone());
    api.upload_form("/api/upload/avatar", &r.bob.token, late).await.expect_error(400, "VALIDATION_ERROR");
    assert_eq!(api.get("/api/user/storage", &r.bob.token).await.expect(200)["used"], usage, "nothing stored");
    let again = api.get(&format!("/api/workspaces/{}/members/{}/profile", r.ws, r.bob.id), &r.ann.token).await.expect(200);
    assert_eq!(again["avatarUrl"], avatar["url"], "the profile kept its avatar");
    // A part the form does not have, or one given twice: refused, nothing stored.
    for form in [
        reqwest::multipart::Form::new().text("colour", "red").part("file", reqwest::multipart::Part::bytes(png(64, 64)).file_name("x.png")),
        reqwest::multipart::Form::new()
            .text("workspaceId", r.ws.clone())
            .text("workspaceId", r.ws.clone())
            .part("file", reqwest::multipart::Part::bytes(png(64, 64)).file_name("x.png")),
    ] {
        api.upload_form("/api/upload/avatar", &r.bob.token, form).await.expect_error(400, "VALIDATION_ERROR");
    }
    assert_eq!(api.get("/api/user/storage", &r.bob.token).await.expect(200)["used"], usage, "nothing stored");
    // The emoji's workspace and name may come in the query string instead.
    let by_query =
        api.upload(&format!("/api/upload/emoji?workspaceId={}&name=tada", r.ws), &r.ann.token, &[], "t.png", png(32, 32)).await.expect(201);
    assert_eq!(by_query["name"], "tada");

    let fields = [("workspaceId", r.ws.as_str()), ("name", "shipit")];
    api.upload("/api/upload/emoji", &r.bob.token, &fields, "s.png", png(64, 64)).await.expect_error(403, "FORBIDDEN");
    let emoji = api.upload("/api/upload/emoji", &r.ann.token, &fields, "s.png", png(64, 64)).await.expect(201);
    assert_eq!(emoji["name"], "shipit");
    api.upload("/api/upload/emoji", &r.ann.token, &fields, "s.png", png(64, 64)).await.expect_error(409, "CONFLICT");
    let list = api.get(&format!("/api/workspaces/{}/emoji", r.ws), &r.bob.token).await.expect(200);
    assert_eq!(list["emoji"][0]["name"], "shipit");
    assert_eq!(api.fetch(emoji["url"].as_str().expect("url"), Some(&r.bob.token), &[]).await.0, 200);
    let outsider = api.sign_up("Eve").await.expect("eve");
    api.get(&format!("/api/workspaces/{}/emoji", r.ws), &outsider.token).await.expect_error(404, "NOT_FOUND");
    assert_eq!(api.fetch(emoji["url"].as_str().expect("url"), Some(&outsider.token), &[]).await.0, 404);
    api.delete(&format!("/api/workspaces/{}/emoji/shipit", r.ws), &r.bob.token).await.expect_error(403, "FORBIDDEN");
    api.delete(&format!("/api/workspaces/{}/emoji/shipit", r.ws), &r.ann.token).await.expect(200);
    let left = api.get(&format!("/api/workspaces/{}/emoji", r.ws), &r.bob.token).await.expect(200);
    assert_eq!(left["emoji"].as_array().map(|l| l.iter().map(|e| e["name"].clone()).collect::<Vec<_>>()), Some(vec![json!("tada")]));
    t.stop().await.expect("stop");
}

/// Polls for up to 10 s.
async fn testing_eventually<T, F, Fut>(mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..100 {
        if let Some(v) = check().await {
            return Some(v);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}
