use std::time::Duration;

pub use ocomms_e2e::{Api, Socket, StackOptions, TestStack, User};
pub use serde_json::json;

pub const WAIT: Duration = Duration::from_secs(5);
/// How long "nothing arrives" is watched for.
pub const QUIET: Duration = Duration::from_millis(400);

pub async fn stack() -> TestStack {
    TestStack::start(StackOptions::default()).await.expect("stack starts")
}

/// Two users sharing a workspace and a public channel both have joined.
pub struct Room {
    pub api: Api,
    pub ann: User,
    pub bob: User,
    pub ws: String,
    pub channel: String,
}

pub async fn room(api: &Api) -> Room {
    let ann = api.sign_up("Ann").await.expect("ann");
    let bob = api.sign_up("Bob").await.expect("bob");
    let ws = api.workspace(&ann).await.expect("workspace");
    api.invite(&ws, &ann, &bob).await.expect("invite");
    let channel = api.channel(&ws, &ann, "general").await.expect("channel");
    api.join(&channel, &bob).await.expect("join");
    Room { api: api.clone(), ann, bob, ws, channel }
}

/// Stores a password-reset link with a known token for `user_id` (only
/// hashes are stored, so tests put in tokens they know), valid for
/// `valid_for` (negative: already expired).
pub async fn put_reset_token(t: &TestStack, user_id: &str, token: &str, valid_for: chrono::Duration) {
    use diesel::sql_types::{Text, Timestamptz, Uuid as SqlUuid};
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    let mut db = AsyncPgConnection::establish(&t.env["AUTH_DATABASE_URL"]).await.expect("auth database");
    let user: uuid::Uuid = user_id.parse().expect("user id");
    diesel::sql_query("INSERT INTO password_resets (token_hash, user_id, expires_at) VALUES ($1, $2, $3)")
        .bind::<Text, _>(ocomms_runtime::identity::token_hash(token))
        .bind::<SqlUuid, _>(user)
        .bind::<Timestamptz, _>(chrono::Utc::now() + valid_for)
        .execute(&mut db)
        .await
        .expect("insert a reset token");
}

/// A tiny HTTP server: `/page` is HTML with Open Graph tags, `/hop`
/// redirects to `http://localhost:<port>/secret`, everything else 404.
/// Returns its port and the paths it was asked for.
pub async fn recorder() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { continue };
            let log = log.clone();
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = vec![0u8; 8192];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).to_string();
                let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
                log.lock().map(|mut l| l.push(path.clone())).ok();
                let resp = match path.as_str() {
                    "/page" => {
                        let body = "<html><head><title>Fallback</title><meta property=\"og:title\" content=\"Release notes\">\
                                    <meta property=\"og:description\" content=\"What changed in 2.0\"></head><body>hi</body></html>";
                        format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        )
                    }
                    "/hop" => format!(
                        "HTTP/1.1 302 Found\r\nlocation: http://localhost:{port}/secret\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    ),
                    _ => "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned(),
                };
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    (port, seen)
}

pub use ocomms_runtime::testing::smtp_sink;

/// Waits up to 10 s for a kept message matching `pred`.
pub async fn mail_matching(got: &std::sync::Mutex<Vec<String>>, pred: impl Fn(&str) -> bool) -> Option<String> {
    for _ in 0..100 {
        if let Some(m) = got.lock().ok().and_then(|g| g.iter().find(|m| pred(m)).cloned()) {
            return Some(m);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}
