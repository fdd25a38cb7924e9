//! Black-box tools for OComms: a whole stack on free ports with fresh
//! databases ([`TestStack`]), an HTTP client ([`Api`]) and a WebSocket
//! client ([`Socket`]) that speak the public contract, used by the e2e
//! tests and by the load generator (`src/bin/loadgen.rs`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub use ocomms::Stack;

/// Options for a test stack.
#[derive(Default, Clone)]
pub struct StackOptions {
    /// Fan events out through Redis (a fresh key prefix per stack).
    pub redis: bool,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// Run jobs through the in-process exchange instead of RabbitMQ.
    pub local_jobs: bool,
}

/// The whole system on free ports, each service on a fresh database.
pub struct TestStack {
    pub stack: Stack,
    pub base: String,
    /// The environment it was started with (to start more gateways).
    pub env: HashMap<String, String>,
    databases: Databases,
}

/// A stack's databases: dropped by [`TestStack::stop`], or with the stack
/// when a test fails before it stops (a failed test leaves none behind).
/// The topology tests hold theirs in one too.
#[derive(Default)]
pub struct Databases(Vec<String>);

impl Databases {
    pub fn push(&mut self, url: String) {
        self.0.push(url);
    }

    /// Drops them now (and reports a failure), instead of when dropped.
    pub async fn drop_now(mut self) -> anyhow::Result<()> {
        ocomms_runtime::testing::drop_databases(std::mem::take(&mut self.0)).await
    }
}

impl Drop for Databases {
    fn drop(&mut self) {
        ocomms_runtime::testing::drop_databases_now(std::mem::take(&mut self.0));
    }
}

impl TestStack {
    pub async fn start(opts: StackOptions) -> anyhow::Result<Self> {
        ocomms_runtime::telemetry::init_for_tests();
        let base_url = ocomms_runtime::testing::base_url();
        let mut env: HashMap<String, String> = HashMap::new();
        // Dropped again if the stack fails to start.
        let mut databases = Databases(Vec::new());
        let migrations = [
            ("auth", svc_migrations::AUTH),
            ("messaging", svc_migrations::MESSAGING),
            ("presence", svc_migrations::PRESENCE),
            ("files", svc_migrations::FILES),
            ("scheduler", svc_migrations::SCHEDULER),
            ("notify", svc_migrations::NOTIFY),
        ];
        for (name, m) in migrations {
            let url = ocomms_runtime::db::test_database(&base_url, name, m).await?;
            let up = name.to_ascii_uppercase();
            env.insert(format!("{up}_DATABASE_URL"), url.clone());
            env.insert(format!("{up}_GRPC_ADDR"), "127.0.0.1:0".into());
            databases.0.push(url);
        }
        env.insert("GATEWAY_ADDR".into(), "127.0.0.1:0".into());
        let uploads = std::env::temp_dir().join(format!("ocomms-e2e-{}", uuid::Uuid::new_v4().simple()));
        env.insert("UPLOAD_DIR".into(), uploads.to_string_lossy().into_owned());
        env.insert("DB_POOL_SIZE".into(), "8".into());
        env.insert("SERVICE_TOKEN".into(), ocomms_runtime::testing::SERVICE_TOKEN.into());
        // Tests drive many requests from one address; the rate-limit test
        // turns limits back on.
        env.insert("RATE_LIMIT_ENABLED".into(), "false".into());
        env.insert("TWO_FACTOR_KEY".into(), "S2V5IGZvciB0ZXN0cyBvbmx5LCBuZXZlciBwcm9kISE=".into());
        if !opts.local_jobs {
            env.insert("AMQP_URL".into(), ocomms_runtime::testing::amqp_url());
        }
        env.insert("AMQP_PREFIX".into(), format!("ocomms-e2e-{}", uuid::Uuid::new_v4().simple()));
        env.insert("AMQP_EPHEMERAL".into(), "true".into());
        if opts.redis {
            env.insert("REDIS_URL".into(), ocomms_runtime::testing::redis_url());
            env.insert("REDIS_PREFIX".into(), format!("ocomms-e2e-{}", uuid::Uuid::new_v4().simple()));
        }
        env.extend(opts.env);
        let stack = ocomms::start(&ocomms_runtime::config::Env::from_map(env.clone())).await?;
        let base = format!("http://{}", stack.gateway);
        Ok(Self { stack, base, env, databases })
    }

    pub fn api(&self) -> Api {
        Api::new(&self.base)
    }

    pub fn service(&self, name: &str) -> SocketAddr {
        self.stack.services.iter().find(|(n, _)| *n == name).map(|(_, a)| *a).unwrap_or_else(|| panic!("no service {name}"))
    }

    /// Stops the stack and drops its databases; an error if the test left
    /// a job unprocessed (ten seconds after it ended, a due job not relayed
    /// or set aside, or one waiting, failing or dead in the broker).
    pub async fn stop(self) -> anyhow::Result<()> {
        let left = ocomms_runtime::testing::jobs_left(
            &self.databases.0,
            self.env.get("AMQP_PREFIX").map_or("", String::as_str),
            self.env.get("AMQP_URL").map(String::as_str),
            &[],
        )
        .await;
        self.stop_leaving_jobs().await?;
        anyhow::ensure!(left.is_empty(), "the test left jobs unprocessed:\n  {}", left.join("\n  "));
        Ok(())
    }

    /// Stops the stack and drops its databases, whatever jobs are left
    /// (tests that stop consumers or make jobs fail on purpose).
    pub async fn stop_leaving_jobs(self) -> anyhow::Result<()> {
        let Self { stack, env, databases, .. } = self;
        stack.stop().await?;
        if let Some(dir) = env.get("UPLOAD_DIR") {
            let _ = std::fs::remove_dir_all(dir);
        }
        databases.drop_now().await
    }
}

/// Each service's migrations, for cloning test databases.
mod svc_migrations {
    pub use ocomms::migrations::*;
}

/// A signed-up user.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub email: String,
    pub token: String,
}

/// An HTTP client of the public API.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

/// A response: status, JSON body (Null when empty or not JSON), headers.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Resp {
    /// The body, after checking the status.
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.body);
        self.body
    }

    /// Checks an error answer: status and seed error code.
    pub fn expect_error(self, status: u16, code: &str) -> Value {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.body);
        assert_eq!(self.body["error"]["code"], code, "unexpected error: {}", self.body);
        assert!(self.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "error without message: {}", self.body);
        self.body
    }
}

impl Api {
    pub fn new(base: &str) -> Self {
        let http = reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap_or_default();
        Self { base: base.trim_end_matches('/').to_owned(), http }
    }

    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> anyhow::Result<Resp> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await?;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Resp { status, body, headers })
    }

    /// A multipart upload: text fields first, then `file`.
    pub async fn upload(&self, path: &str, token: &str, fields: &[(&str, &str)], filename: &str, bytes: Vec<u8>) -> Resp {
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in fields {
            form = form.text((*k).to_owned(), (*v).to_owned());
        }
        form = form.part("file", reqwest::multipart::Part::bytes(bytes).file_name(filename.to_owned()));
        let resp = self.http.post(format!("{}{path}", self.base)).bearer_auth(token).multipart(form).send().await.expect("upload");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("body");
        Resp { status, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null), headers }
    }

    /// A multipart upload of a form built by the caller (any part order).
    pub async fn upload_form(&self, path: &str, token: &str, form: reqwest::multipart::Form) -> Resp {
        let resp = self.http.post(format!("{}{path}", self.base)).bearer_auth(token).multipart(form).send().await.expect("upload");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("body");
        Resp { status, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null), headers }
    }

    /// The raw bytes of a GET (downloads), with extra headers.
    pub async fn fetch(
        &self,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.expect("fetch");
        let (status, h) = (resp.status(), resp.headers().clone());
        (status, h, resp.bytes().await.expect("body").to_vec())
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.call(Method::GET, path, Some(token), None).await.expect("request")
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call(Method::POST, path, Some(token), Some(body)).await.expect("request")
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call(Method::PATCH, path, Some(token), Some(body)).await.expect("request")
    }

    pub async fn delete(&self, path: &str, token: &str) -> Resp {
        self.call(Method::DELETE, path, Some(token), None).await.expect("request")
    }

    /// Signs a new user up (a unique email per call).
    pub async fn sign_up(&self, name: &str) -> anyhow::Result<User> {
        let email = format!("{}-{}@example.com", name.to_lowercase(), &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let r = self
            .call(
                Method::POST,
                "/api/auth/sign-up/email",
                None,
                Some(json!({ "email": email, "password": "correct horse battery", "name": name })),
            )
            .await?;
        anyhow::ensure!(r.status == StatusCode::OK, "sign-up failed: {} {}", r.status, r.body);
        Ok(User {
            id: r.body["user"]["id"].as_str().context("user id")?.to_owned(),
            email,
            token: r.body["token"].as_str().context("token")?.to_owned(),
        })
    }

    /// A workspace owned by `owner`; returns its id.
    pub async fn workspace(&self, owner: &User) -> anyhow::Result<String> {
        let slug = format!("ws-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let r = self.post("/api/workspaces", &owner.token, json!({ "name": "Acme", "slug": slug })).await;
        anyhow::ensure!(r.status.as_u16() == 201, "workspace failed: {}", r.body);
        Ok(r.body["id"].as_str().context("id")?.to_owned())
    }

    /// `joiner` joins `ws` through an invite made by `admin`.
    pub async fn invite(&self, ws: &str, admin: &User, joiner: &User) -> anyhow::Result<()> {
        let inv = self.post(&format!("/api/workspaces/{ws}/invites"), &admin.token, json!({})).await;
        anyhow::ensure!(inv.status.as_u16() == 201, "invite failed: {}", inv.body);
        let token = inv.body["token"].as_str().context("token")?;
        let r = self.post(&format!("/api/invites/{token}/accept"), &joiner.token, json!({})).await;
        anyhow::ensure!(r.status.as_u16() == 200, "accept failed: {}", r.body);
        Ok(())
    }

    /// A channel in `ws` made by `creator`; returns its id.
    pub async fn channel(&self, ws: &str, creator: &User, name: &str) -> anyhow::Result<String> {
        let r = self.post(&format!("/api/workspaces/{ws}/channels"), &creator.token, json!({ "name": name })).await;
        anyhow::ensure!(r.status.as_u16() == 201, "channel failed: {}", r.body);
        Ok(r.body["id"].as_str().context("id")?.to_owned())
    }

    pub async fn join(&self, channel: &str, user: &User) -> anyhow::Result<()> {
        let r = self.post(&format!("/api/channels/{channel}/join"), &user.token, json!({})).await;
        anyhow::ensure!(r.status.as_u16() == 200, "join failed: {}", r.body);
        Ok(())
    }
}

/// A WebSocket client of `/api/ws`.
pub struct Socket {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_ack: u64,
    /// Events received while waiting for something else.
    pub backlog: Vec<Value>,
}

impl Socket {
    pub async fn connect(base: &str, token: &str) -> anyhow::Result<Self> {
        let url = format!("{}/api/ws?token={token}", base.replacen("http", "ws", 1));
        let (ws, _) = tokio_tungstenite::connect_async(url).await?;
        Ok(Self { ws, next_ack: 1, backlog: Vec::new() })
    }

    async fn next_json(&mut self, timeout: Duration) -> anyhow::Result<Option<Value>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let msg = match tokio::time::timeout(left, self.ws.next()).await {
                Err(_) => return Ok(None),
                Ok(None) => anyhow::bail!("socket closed"),
                Ok(Some(m)) => m?,
            };
            match msg {
                Message::Text(t) => return Ok(Some(serde_json::from_str(&t)?)),
                Message::Close(f) => anyhow::bail!("socket closed: {f:?}"),
                _ => continue,
            }
        }
    }

    /// Sends a frame with an ack id and returns the ack frame.
    pub async fn request(&mut self, event: &str, data: Value) -> anyhow::Result<Value> {
        let ack = self.next_ack;
        self.next_ack += 1;
        self.send_raw(&json!({ "event": event, "data": data, "ack": ack }).to_string()).await?;
        loop {
            let v = self.next_json(Duration::from_secs(10)).await?.context("no ack within 10 s")?;
            if v.get("ack") == Some(&json!(ack)) {
                return Ok(v);
            }
            self.backlog.push(v);
        }
    }

    pub async fn send_raw(&mut self, text: &str) -> anyhow::Result<()> {
        self.ws.send(Message::Text(text.into())).await?;
        Ok(())
    }

    /// The next frame of any kind, if one arrives in time.
    pub async fn next_frame(&mut self, timeout: Duration) -> anyhow::Result<Option<Value>> {
        if !self.backlog.is_empty() {
            return Ok(Some(self.backlog.remove(0)));
        }
        self.next_json(timeout).await
    }

    /// The next event named `name` (others are kept in the backlog).
    pub async fn event(&mut self, name: &str, timeout: Duration) -> anyhow::Result<Value> {
        if let Some(i) = self.backlog.iter().position(|v| v["event"] == name) {
            return Ok(self.backlog.remove(i)["data"].clone());
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let v = self.next_json(left).await?.with_context(|| format!("no {name} event in time"))?;
            if v["event"] == name {
                return Ok(v["data"].clone());
            }
            self.backlog.push(v);
        }
    }

    /// Asserts that no event named `name` arrives within `wait`.
    pub async fn expect_no_event(&mut self, name: &str, wait: Duration) -> anyhow::Result<()> {
        anyhow::ensure!(!self.backlog.iter().any(|v| v["event"] == name), "unexpected {name} in backlog");
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_json(left).await? {
                None => return Ok(()),
                Some(v) if v["event"] == name => anyhow::bail!("unexpected {name}: {v}"),
                Some(v) => self.backlog.push(v),
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}
