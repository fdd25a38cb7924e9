use std::io::Cursor;

use ocomms_proto::files::v1 as pb;
use ocomms_proto::files::v1::files_service_client::FilesServiceClient;
use ocomms_proto::messaging::v1::messaging_service_client::MessagingServiceClient;
use ocomms_runtime::events::Bus;
pub use ocomms_runtime::testing::authed;
use ocomms_runtime::testing::{self, Running};
use tonic::transport::Channel;

pub const S3_KEY: &str = "ocomms-test-key";
pub const S3_SECRET: &str = "ocomms-test-secret-0123456789";
pub const BUCKET: &str = "ocomms-files";

pub struct App {
    // Fields drop in order: the services first (their job checks may still
    // call svc-auth), svc-auth last.
    pub _files: Running,
    pub _messaging: Running,
    pub auth: Running,
    pub client: FilesServiceClient<Channel>,
    pub chat: MessagingServiceClient<Channel>,
    /// The local upload directory or the S3 server's root.
    pub dir: tempfile::TempDir,
}

/// Where files go in a test.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Backend {
    Local,
    S3,
}

/// An S3-compatible server that checks SigV4 signatures, on a free port.
pub async fn s3_server(root: &std::path::Path) -> String {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::server::conn::auto::Builder;
    std::fs::create_dir_all(root.join(BUCKET)).expect("bucket directory");
    let fs = s3s_fs::FileSystem::new(root).expect("s3s-fs root");
    let mut b = s3s::service::S3ServiceBuilder::new(fs);
    b.set_auth(s3s::auth::SimpleAuth::from_single(S3_KEY, S3_SECRET));
    let service = b.build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let http = Builder::new(TokioExecutor::new());
        loop {
            let Ok((sock, _)) = listener.accept().await else { continue };
            let conn = http.serve_connection(TokioIo::new(sock), service.clone()).into_owned();
            tokio::spawn(async move {
                let _ = conn.await;
            });
        }
    });
    format!("http://{addr}")
}

pub async fn app_with(backend: Backend, quota: i64, cleanup_after_secs: i64) -> App {
    let bus = Bus::local();
    let auth = svc_auth::testing::spawn(bus.clone()).await.expect("svc-auth starts");
    let dir = tempfile::tempdir().expect("tempdir");
    let files_common = testing::test_config("files", svc_files::MIGRATIONS, &auth.url()).await.expect("config");
    // svc-messaging needs svc-files' address and the other way round: bind
    // svc-files' port first.
    let files_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let files_url = format!("http://{}", files_listener.local_addr().expect("addr"));
    let mut msg_common = testing::test_config("messaging", svc_messaging::MIGRATIONS, &auth.url()).await.expect("config");
    // One exchange: svc-files consumes svc-messaging's `message.deleted`.
    msg_common.amqp_prefix = files_common.amqp_prefix.clone();
    testing::watch_jobs(&msg_common);
    let b = bus.clone();
    let fu = files_url.clone();
    let messaging = testing::spawn(msg_common.database_url.clone(), move |l, s| {
        svc_messaging::serve(
            svc_messaging::Config {
                common: msg_common,
                membership_cache_secs: 0,
                presence_url: "http://127.0.0.1:9".into(),
                files_url: fu,
            },
            b,
            l,
            s,
        )
    })
    .await
    .expect("svc-messaging starts");
    let s3 = match backend {
        Backend::Local => None,
        Backend::S3 => Some(svc_files::config::S3Config {
            bucket: BUCKET.into(),
            endpoint: Some(s3_server(dir.path()).await),
            region: "us-east-1".into(),
            access_key_id: Some(S3_KEY.into()),
            secret_access_key: Some(S3_SECRET.into()),
            force_path_style: true,
        }),
    };
    let config = svc_files::Config {
        common: files_common,
        quota_bytes: quota,
        s3,
        upload_dir: dir.path().join("uploads").to_string_lossy().into_owned(),
        cleanup_after_secs,
        messaging_url: messaging.url(),
        preview_allowed_hosts: Vec::new(),
    };
    let db = config.common.database_url.clone();
    let files = testing::spawn_on(files_listener, db, move |l, s| svc_files::serve(config, bus, l, s)).await.expect("svc-files starts");
    let client = ocomms_runtime::sized!(FilesServiceClient::connect(files.url()).await.expect("connects"));
    let chat = MessagingServiceClient::connect(messaging.url()).await.expect("connects");
    App { auth, _messaging: messaging, _files: files, client, chat, dir }
}

pub async fn app() -> App {
    app_with(Backend::Local, 50 * 1024 * 1024, 3600).await
}

/// A user: (id, token).
pub async fn user(app: &App, name: &str) -> (String, String) {
    svc_auth::testing::user(&app.auth, name).await.expect("user")
}

/// Uploads `bytes` in chunks of `chunk` bytes.
pub async fn upload(
    app: &App,
    token: &str,
    start: pb::UploadStart,
    bytes: &[u8],
    chunk: usize,
) -> Result<pb::UploadResponse, tonic::Status> {
    send(app, token, start, bytes, chunk, true).await
}

/// Uploads, ending the stream with the `finish` message or not (a client
/// that went away).
pub async fn send(
    app: &App,
    token: &str,
    start: pb::UploadStart,
    bytes: &[u8],
    chunk: usize,
    finish: bool,
) -> Result<pb::UploadResponse, tonic::Status> {
    let mut msgs = vec![pb::UploadRequest { start: Some(start), ..Default::default() }];
    msgs.extend(bytes.chunks(chunk.max(1)).map(|c| pb::UploadRequest { data: c.to_vec(), ..Default::default() }));
    if finish {
        msgs.push(pb::UploadRequest { finish: true, ..Default::default() });
    }
    app.client.clone().upload(authed(token, tokio_stream::iter(msgs))).await.map(tonic::Response::into_inner)
}

pub fn start(kind: &str, filename: &str) -> pb::UploadStart {
    pb::UploadStart { kind: kind.into(), filename: filename.into(), ..Default::default() }
}

/// Downloads a whole file (or a range): (info, bytes).
pub async fn download(app: &App, token: &str, req: pb::DownloadRequest) -> Result<(pb::DownloadInfo, Vec<u8>), tonic::Status> {
    let mut s = app.client.clone().download(authed(token, req)).await?.into_inner();
    let mut info = None;
    let mut bytes = Vec::new();
    while let Some(m) = s.message().await? {
        if let Some(i) = m.info {
            info = Some(i);
        }
        bytes.extend_from_slice(&m.data);
    }
    Ok((info.expect("info first"), bytes))
}

pub fn code(s: &tonic::Status) -> String {
    ocomms_runtime::ServiceError::from_status(s).code.as_str().to_owned()
}

/// A w×h PNG with a gradient (not all one color, so it does not compress to nothing).
pub fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x * y) % 256) as u8]));
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img).write_to(&mut out, image::ImageFormat::Png).expect("png");
    out.into_inner()
}

/// A JPEG carrying an EXIF segment with a GPS marker text.
pub fn jpeg_with_gps(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 256) as u8, 128, (y % 256) as u8]));
    let mut plain = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img).write_to(&mut plain, image::ImageFormat::Jpeg).expect("jpeg");
    let plain = plain.into_inner();
    let payload = b"Exif\0\0GPSLatitude=48.8584;GPSLongitude=2.2945;SECRET-HOME";
    let len = u16::try_from(payload.len() + 2).expect("short");
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&plain[2..]);
    out
}

/// A PNG whose header claims `w`×`h` (no pixel data: a decompression bomb's header).
pub fn png_header(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    out.extend_from_slice(&w.to_be_bytes());
    out.extend_from_slice(&h.to_be_bytes());
    out.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&[0u8; 64]);
    out
}

pub fn pdf(size: usize) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n".to_vec();
    out.resize(size, b'x');
    out
}
