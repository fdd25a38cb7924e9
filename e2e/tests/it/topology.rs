//! The topology the Helm chart deploys, on this machine: every service and
//! the gateway as separate processes (`ocomms serve <part>`, the binary the
//! image runs), two replicas of each, sharing PostgreSQL, Redis and
//! RabbitMQ; peers balanced by `ocomms_runtime::grpc::channel`.
//!
//! Replicas are stopped the way Kubernetes stops them (SIGTERM during a
//! rolling restart) and the way crashes do (SIGKILL) while clients send,
//! retry with the same `clientMsgId` and resume by sequence, as the web
//! client does; afterwards every acknowledged message is in history exactly
//! once and every client has all of them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ocomms::topology::{Node, plan};
use reqwest::Method;
use serde_json::Value;

use crate::support::*;

/// Every part, two replicas each, as child processes on free ports.
struct Topology {
    nodes: Vec<Node>,
    /// The gateways' base URLs (`http://127.0.0.1:port`).
    gateways: Vec<String>,
    /// Each service replica's Prometheus address, by replica name.
    metrics: HashMap<String, std::net::SocketAddr>,
    /// Dropped with the topology when a test fails before it stops.
    databases: ocomms_e2e::Databases,
    dir: PathBuf,
    /// With [`Topology::start_behind_proxies`]: how the replicas reach
    /// PostgreSQL, Redis and RabbitMQ.
    outages: Option<Outages>,
    /// One topology at a time: 14 processes each, on two cores and
    /// PostgreSQL's 100 connections shared with the other tests.
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A TCP proxy in front of PostgreSQL, Redis or RabbitMQ: [`Proxy::outage`]
/// cuts every connection through it and refuses new ones for a while, as
/// the server's restart would.
struct Proxy {
    addr: std::net::SocketAddr,
    down: Arc<AtomicBool>,
    cut: tokio::sync::watch::Sender<u64>,
}

impl Proxy {
    async fn start(upstream: std::net::SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("addr");
        let down = Arc::new(AtomicBool::new(false));
        let (cut, cuts) = tokio::sync::watch::channel(0u64);
        let is_down = down.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else { continue };
                if is_down.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let mut cuts = cuts.clone();
                // Only cuts from now on end this connection.
                cuts.borrow_and_update();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cuts.changed() => {}
                    }
                });
            }
        });
        Self { addr, down, cut }
    }

    /// Every connection cut, none accepted for `secs`.
    async fn outage(&self, secs: f64) {
        self.down.store(true, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
        tokio::time::sleep(Duration::from_secs_f64(secs)).await;
        self.down.store(false, Ordering::SeqCst);
    }
}

/// `scheme://user@host:port/rest` with host:port replaced by `addr`.
fn via(url: &str, addr: std::net::SocketAddr) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let (auth, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    let userinfo = auth.rsplit_once('@').map(|(u, _)| format!("{u}@")).unwrap_or_default();
    format!("{scheme}://{userinfo}{addr}/{path}")
}

fn authority(url: &str) -> std::net::SocketAddr {
    let rest = url.split_once("://").expect("a URL").1;
    let auth = rest.split('/').next().expect("authority");
    let hostport = auth.rsplit_once('@').map_or(auth, |(_, h)| h);
    use std::net::ToSocketAddrs;
    hostport.to_socket_addrs().expect("resolves").next().expect("an address")
}

/// Proxies in front of the three servers the replicas share.
struct Outages {
    postgres: Proxy,
    redis: Proxy,
    rabbitmq: Proxy,
}

/// A free port below Linux's ephemeral range (32768 and up): the replicas'
/// own outgoing connections cannot take it between now and their bind.
fn free_addr() -> std::net::SocketAddr {
    // Never the same port twice in this process (each is only probed here).
    static GIVEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    loop {
        let port = 20_000 + (rand_u16() % 12_000);
        let mut given = GIVEN.lock().expect("ports");
        if given.contains(&port) {
            continue;
        }
        if let Ok(l) = std::net::TcpListener::bind(("127.0.0.1", port)) {
            given.push(port);
            return l.local_addr().expect("addr");
        }
    }
}

fn rand_u16() -> u16 {
    let b = uuid::Uuid::new_v4().into_bytes();
    u16::from_le_bytes([b[0], b[1]])
}

impl Topology {
    async fn start(extra: &[(&str, &str)]) -> Self {
        Self::start_with(extra, false).await
    }

    /// As [`Topology::start`], the replicas reaching PostgreSQL, Redis and
    /// RabbitMQ through proxies that can cut them off.
    async fn start_behind_proxies() -> Self {
        Self::start_with(&[], true).await
    }

    async fn start_with(extra: &[(&str, &str)], proxied: bool) -> Self {
        let turn = ONE_AT_A_TIME.lock().await;
        ocomms_runtime::telemetry::init_for_tests();
        // The test's own HTTP clients (the replicas install theirs).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let base = ocomms_runtime::testing::base_url();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let dir = std::env::temp_dir().join(format!("ocomms-topology-{id}"));
        std::fs::create_dir_all(dir.join("uploads")).expect("temp dir");
        let mut shared: Vec<(String, String)> = Vec::new();
        let mut databases = ocomms_e2e::Databases::default();
        for (name, m) in [
            ("auth", ocomms::migrations::AUTH),
            ("messaging", ocomms::migrations::MESSAGING),
            ("presence", ocomms::migrations::PRESENCE),
            ("files", ocomms::migrations::FILES),
            ("scheduler", ocomms::migrations::SCHEDULER),
            ("notify", ocomms::migrations::NOTIFY),
        ] {
            let url = ocomms_runtime::db::test_database(&base, name, m).await.expect("database");
            shared.push((format!("{}_DATABASE_URL", name.to_ascii_uppercase()), url.clone()));
            databases.push(url);
        }
        for (k, v) in [
            ("REDIS_URL", ocomms_runtime::testing::redis_url()),
            ("REDIS_PREFIX", format!("ocomms-topo-{id}")),
            ("AMQP_URL", ocomms_runtime::testing::amqp_url()),
            ("AMQP_PREFIX", format!("ocomms-topo-{id}")),
            ("AMQP_EPHEMERAL", "true".into()),
            ("SERVICE_TOKEN", ocomms_runtime::testing::SERVICE_TOKEN.into()),
            ("TWO_FACTOR_KEY", "S2V5IGZvciB0ZXN0cyBvbmx5LCBuZXZlciBwcm9kISE=".into()),
            ("UPLOAD_DIR", dir.join("uploads").to_string_lossy().into_owned()),
            ("DB_POOL_SIZE", "3".into()),
            ("SHUTDOWN_DRAIN_SECS", "2".into()),
            ("RATE_LIMIT_ENABLED", "false".into()),
            ("RUST_LOG", "warn,ocomms_runtime::grpc=info".into()),
            ("LOG_FORMAT", "text".into()),
        ] {
            shared.push((k.to_owned(), v));
        }
        for (k, v) in extra {
            shared.retain(|(n, _)| n != k);
            shared.push(((*k).to_owned(), (*v).to_owned()));
        }
        let outages = if proxied {
            let o = Outages {
                postgres: Proxy::start(authority(&base)).await,
                redis: Proxy::start(authority(&ocomms_runtime::testing::redis_url())).await,
                rabbitmq: Proxy::start(authority(&ocomms_runtime::testing::amqp_url())).await,
            };
            for (k, v) in &mut shared {
                let proxy = match k.as_str() {
                    k if k.ends_with("_DATABASE_URL") => &o.postgres,
                    "REDIS_URL" => &o.redis,
                    "AMQP_URL" => &o.rabbitmq,
                    _ => continue,
                };
                *v = via(v, proxy.addr);
            }
            Some(o)
        } else {
            None
        };
        let exe = PathBuf::from(env!("CARGO_BIN_EXE_ocomms-node"));
        let mut metrics = HashMap::new();
        let mut nodes: Vec<Node> = plan(2, |_, _| free_addr())
            .into_iter()
            .map(|mut r| {
                if r.part != "gateway" {
                    let m = free_addr();
                    r.env.push((format!("{}_METRICS_ADDR", r.part.to_ascii_uppercase()), m.to_string()));
                    metrics.insert(r.name(), m);
                }
                r.env.push(("OTEL_SERVICE_NAME".to_owned(), format!("ocomms-{}", r.part)));
                let log = dir.join(format!("{}.log", r.name()));
                Node::new(&exe, r, shared.clone(), Some(log))
            })
            .collect();
        for n in &mut nodes {
            n.start().expect("replica starts");
        }
        let began = Instant::now();
        for n in &mut nodes {
            if let Err(e) = n.ready(Duration::from_secs(60)).await {
                panic!("{e:#}\n{}", logs(&dir));
            }
        }
        eprintln!("topology: 14 replicas ready in {} ms", began.elapsed().as_millis());
        let gateways = nodes.iter().filter(|n| n.replica.part == "gateway").map(|n| format!("http://{}", n.replica.addr)).collect();
        Self { nodes, gateways, metrics, databases, dir, outages, _turn: turn }
    }

    fn api(&self, i: usize) -> Api {
        Api::new(&self.gateways[i % self.gateways.len()])
    }

    fn node(&mut self, name: &str) -> &mut Node {
        self.nodes.iter_mut().find(|n| n.replica.name() == name).unwrap_or_else(|| panic!("no replica {name}"))
    }

    fn names(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.replica.name()).collect()
    }

    /// Prometheus text of one service replica.
    async fn metrics_of(&self, name: &str) -> String {
        let addr = self.metrics[name];
        reqwest::get(format!("http://{addr}/metrics")).await.expect("metrics").text().await.expect("text")
    }

    async fn stop(mut self) {
        let stops = self.nodes.iter_mut().map(|n| n.terminate(Duration::from_secs(20)));
        let _ = futures_util::future::join_all(stops).await;
        let _ = std::mem::take(&mut self.databases).drop_now().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Every replica's log, for a failure's message.
fn logs(dir: &std::path::Path) -> String {
    let mut out = String::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.path().extension().is_some_and(|x| x == "log") {
                let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(15).collect();
                out.push_str(&format!("--- {}\n", e.file_name().to_string_lossy()));
                // How it began (an error at start is at the top) and how it ended.
                for l in text.lines().take(5) {
                    out.push_str(l);
                    out.push('\n');
                }
                out.push_str("…\n");
                for l in tail.into_iter().rev() {
                    out.push_str(l);
                    out.push('\n');
                }
            }
        }
    }
    out
}

/// Waits, when less than 20 s of the current minute are left, for the next
/// minute (the rate limiter's windows are whole minutes).
async fn fresh_minute() {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock");
    let into = now.as_secs_f64() % 60.0;
    if into > 40.0 {
        tokio::time::sleep(Duration::from_secs_f64(60.0 - into + 0.2)).await;
    }
}

/// Sum of a Prometheus counter's samples whose labels contain `labels`.
fn counter(text: &str, name: &str, labels: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && l.contains(labels))
        .filter_map(|l| l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()))
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_replicas_of_everything_share_the_work_and_do_nothing_twice() {
    let t0 = Instant::now();
    let lap = |what: &str| eprintln!("{:>6} ms  {what}", t0.elapsed().as_millis());
    let t = Topology::start(&[("RATE_LIMIT_ENABLED", "true")]).await;
    lap("started");
    let (gw1, gw2) = (t.api(0), t.api(1));
    // Limits count per minute (fixed windows): start where a window has
    // time left, so that the counts below fall in one.
    fresh_minute().await;
    // Three sign-ups: the per-address limit (3 a minute) counts across both gateways.
    let ann = gw1.sign_up("Ann").await.expect("ann");
    let bob = gw2.sign_up("Bob").await.expect("bob");
    let cat = gw1.sign_up("Cat").await.expect("cat");
    let fourth = gw2
        .call(
            Method::POST,
            "/api/auth/sign-up/email",
            None,
            Some(json!({ "email": "dan@example.com", "password": "correct horse battery", "name": "Dan" })),
        )
        .await
        .expect("call");
    fourth.expect_error(429, "RATE_LIMIT_EXCEEDED");
    let ws = gw1.workspace(&ann).await.expect("workspace");
    gw2.invite(&ws, &ann, &bob).await.expect("invite bob");
    gw1.invite(&ws, &ann, &cat).await.expect("invite cat");
    let channel = gw2.channel(&ws, &ann, "general").await.expect("channel");
    gw1.join(&channel, &bob).await.expect("join");
    gw2.join(&channel, &cat).await.expect("join");
    let msgs = format!("/api/channels/{channel}/messages");

    lap("set up");
    // Sockets on different gateways: a message reaches each exactly once.
    let mut ann_s = Socket::connect(&t.gateways[0], &ann.token).await.expect("ann on gateway 1");
    let mut bob_s = Socket::connect(&t.gateways[1], &bob.token).await.expect("bob on gateway 2");
    let ack = ann_s.request("message:send", json!({ "channelId": channel, "content": "across processes" })).await.expect("ack");
    assert_eq!(ack["ok"], true, "{ack}");
    assert_eq!(bob_s.event("message:new", WAIT).await.expect("delivered")["message"]["id"], ack["data"]["id"]);
    bob_s.expect_no_event("message:new", QUIET).await.expect("once");

    lap("cross-gateway message");
    // Presence set through one gateway is seen through the other.
    assert_eq!(ann_s.request("presence:setAway", json!({ "workspaceId": ws })).await.expect("away")["ok"], true);
    let p = bob_s.event("presence:update", WAIT).await.expect("presence across gateways");
    assert_eq!(p["userId"], ann.id);
    let fetched = bob_s.request("presence:fetch", json!({ "workspaceId": ws, "userIds": [ann.id] })).await.expect("fetch");
    assert_eq!(fetched["data"]["presences"][0]["status"], "away", "{fetched}");

    lap("presence");
    // A mention makes one notification (one notify replica handles the job).
    gw2.post(&msgs, &ann.token, json!({ "content": "@bob look at this" })).await.expect(201);
    assert_eq!(bob_s.event("notification:new", Duration::from_secs(15)).await.expect("notified")["notification"]["type"], "mention");
    lap("mention");
    // A scheduled message fires once (two schedulers poll the same table).
    let due = ocomms_runtime::time::rfc3339(chrono::Utc::now() + chrono::Duration::seconds(2));
    gw1.post("/api/scheduled-messages", &ann.token, json!({ "channelId": channel, "content": "scheduled once", "scheduledFor": due }))
        .await
        .expect(201);
    let mut scheduled = 0;
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if let Ok(Some(f)) = bob_s.next_frame(Duration::from_millis(500)).await
            && f["event"] == "message:new"
            && f["data"]["message"]["content"] == "scheduled once"
        {
            scheduled += 1;
        }
        if scheduled > 0 && Instant::now() + Duration::from_secs(12) > deadline {
            break;
        }
    }
    assert_eq!(scheduled, 1, "delivered once");
    let history = gw2.get(&msgs, &bob.token).await.expect(200);
    let contents: Vec<&str> = history["messages"].as_array().expect("messages").iter().filter_map(|m| m["content"].as_str()).collect();
    assert_eq!(contents.iter().filter(|c| **c == "scheduled once").count(), 1, "{contents:?}");
    let notes = gw1.get("/api/notifications", &bob.token).await.expect(200);
    assert_eq!(notes["notifications"].as_array().map(Vec::len), Some(1), "one mention, one notification: {notes}");

    lap("scheduled");
    // Cat's messages count against one allowance (10 a minute) whichever
    // gateway takes them.
    fresh_minute().await;
    let mut sent = 0;
    for i in 0..14 {
        let r = t.api(i).post(&msgs, &cat.token, json!({ "content": format!("cat {i}") })).await;
        if r.status == 201 {
            sent += 1;
        } else {
            r.expect_error(429, "RATE_LIMIT_EXCEEDED");
        }
    }
    assert_eq!(sent, 10, "one allowance across both gateways");

    lap("rate limits");
    // Cat's session, known to both gateways' caches and to both replicas
    // of each service, is revoked through one gateway: refused at once
    // everywhere.
    for i in 0..4 {
        t.api(i).get(&msgs, &cat.token).await.expect(200);
    }
    gw1.post("/api/auth/sign-out", &cat.token, json!({})).await.expect(200);
    for i in 0..6 {
        t.api(i).get(&msgs, &cat.token).await.expect_error(401, "UNAUTHORIZED");
    }

    lap("revocation");
    // Each replica of messaging and auth took its share of the calls.
    for name in ["messaging-1", "messaging-2", "auth-1", "auth-2"] {
        let text = t.metrics_of(name).await;
        let calls = counter(&text, "ocomms_grpc_requests_total", "");
        assert!(calls >= 3.0, "{name} served {calls} calls");
    }
    ann_s.close().await;
    bob_s.close().await;
    t.stop().await;
}

/// A steady load of senders and readers on the topology.
struct Load {
    /// Sends answered 5xx (a replica failed the call), as opposed to a
    /// gateway that could not be reached (restarting).
    server_errors: Arc<AtomicU64>,
    /// Messages readers heard as live events on their socket (in order or
    /// not: a gap is then filled from history, but the message itself came
    /// in real time); the rest only reached them from history.
    live: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    /// Set once every sender has stopped: readers then catch up and end.
    readers_stop: Arc<AtomicBool>,
    retries: Arc<AtomicU64>,
    /// Acknowledged sends: clientMsgId → (message id, sequence).
    acked: Arc<Mutex<HashMap<String, (String, i64)>>>,
    /// Each reader's applied sequences.
    readers: Vec<tokio::task::JoinHandle<BTreeMap<i64, String>>>,
    senders: Vec<tokio::task::JoinHandle<()>>,
    /// The longest a send took from first attempt to acknowledgement.
    worst: Arc<Mutex<Duration>>,
    /// Reconnections the readers made.
    reconnects: Arc<AtomicU64>,
}

struct Scene {
    users: Vec<User>,
    channel: String,
    gateways: Vec<String>,
}

async fn scene(t: &Topology, n: usize) -> Scene {
    let api = t.api(0);
    let mut users = Vec::new();
    for i in 0..n {
        users.push(t.api(i).sign_up(&format!("user{i}")).await.expect("sign up"));
    }
    let ws = api.workspace(&users[0]).await.expect("ws");
    let channel = api.channel(&ws, &users[0], "load").await.expect("channel");
    for u in &users[1..] {
        api.invite(&ws, &users[0], u).await.expect("invite");
        api.join(&channel, u).await.expect("join");
    }
    Scene { users, channel, gateways: t.gateways.clone() }
}

/// Sends `content` with `cid` until acknowledged, moving to the next
/// gateway after any failure (connection refused, 5xx, timeout).
async fn send_until_acked(
    scene: &Scene,
    start: usize,
    token: &str,
    body: Value,
    retries: &AtomicU64,
    server_errors: &AtomicU64,
) -> (String, i64) {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().expect("client");
    let mut i = start;
    for attempt in 0.. {
        let base = &scene.gateways[i % scene.gateways.len()];
        let r = http.post(format!("{base}/api/channels/{}/messages", scene.channel)).bearer_auth(token).json(&body).send().await;
        match r {
            Ok(r) if r.status().as_u16() == 201 => {
                let v: Value = r.json().await.unwrap_or_default();
                if let (Some(id), Some(seq)) = (v["id"].as_str(), v["sequence"].as_i64()) {
                    return (id.to_owned(), seq);
                }
            }
            Ok(r) => {
                let status = r.status();
                assert!(status.is_server_error() || status.as_u16() == 429, "a send refused for good: {status} {:?}", r.text().await);
                server_errors.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {}
        }
        assert!(attempt < 200, "a send never got through");
        retries.fetch_add(1, Ordering::Relaxed);
        i += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    unreachable!()
}

impl Load {
    /// Every user reads on a socket and sends `rate` messages a second in
    /// total; every `mention_every`th message mentions user 1.
    fn start(scene: Arc<Scene>, rate: f64, mention_every: u64) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let retries = Arc::new(AtomicU64::new(0));
        let reconnects = Arc::new(AtomicU64::new(0));
        let server_errors = Arc::new(AtomicU64::new(0));
        let live = Arc::new(AtomicU64::new(0));
        let acked = Arc::new(Mutex::new(HashMap::new()));
        let worst = Arc::new(Mutex::new(Duration::ZERO));
        let readers_stop = Arc::new(AtomicBool::new(false));
        let mut readers = Vec::new();
        for (i, u) in scene.users.iter().enumerate() {
            readers.push(tokio::spawn(reader(scene.clone(), i, u.token.clone(), readers_stop.clone(), reconnects.clone(), live.clone())));
        }
        let mut senders = Vec::new();
        let per_sender = Duration::from_secs_f64(scene.users.len() as f64 / rate);
        let counter = Arc::new(AtomicU64::new(0));
        for (i, u) in scene.users.iter().enumerate() {
            let (scene, stop, retries, acked, worst, counter, server_errors) =
                (scene.clone(), stop.clone(), retries.clone(), acked.clone(), worst.clone(), counter.clone(), server_errors.clone());
            let token = u.token.clone();
            // Users are named user0, user1, …: `@user1` mentions the second.
            let mention = "user1".to_owned();
            senders.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(per_sender);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                while !stop.load(Ordering::Relaxed) {
                    tick.tick().await;
                    let n = counter.fetch_add(1, Ordering::Relaxed) + 1;
                    let cid = format!("load-{i}-{n}");
                    let content = if n % mention_every == 0 { format!("@{mention} number {n}") } else { format!("number {n}") };
                    let began = Instant::now();
                    let body = json!({ "content": content, "clientMsgId": cid });
                    let got = send_until_acked(&scene, i, &token, body, &retries, &server_errors).await;
                    let took = began.elapsed();
                    if let Ok(mut w) = worst.lock()
                        && took > *w
                    {
                        *w = took;
                    }
                    acked.lock().expect("acked").insert(cid, got);
                }
            }));
        }
        Self { server_errors, live, stop, readers_stop, retries, acked, readers, senders, worst, reconnects }
    }

    /// Stops sending; returns every reader's view once it has caught up
    /// with `last` (the channel's last sequence).
    async fn finish(self) -> LoadResult {
        self.stop.store(true, Ordering::Relaxed);
        for s in self.senders {
            s.await.expect("sender");
        }
        self.readers_stop.store(true, Ordering::Relaxed);
        let mut views = Vec::new();
        for r in self.readers {
            views.push(r.await.expect("reader"));
        }
        let acked = self.acked.lock().expect("acked").clone();
        let worst = *self.worst.lock().expect("worst");
        LoadResult {
            acked,
            views,
            retries: self.retries.load(Ordering::Relaxed),
            server_errors: self.server_errors.load(Ordering::Relaxed),
            live: self.live.load(Ordering::Relaxed),
            reconnects: self.reconnects.load(Ordering::Relaxed),
            worst,
        }
    }
}

struct LoadResult {
    acked: HashMap<String, (String, i64)>,
    views: Vec<BTreeMap<i64, String>>,
    retries: u64,
    server_errors: u64,
    live: u64,
    reconnects: u64,
    worst: Duration,
}

/// A reader as the web client is one: a socket on one gateway, moving to
/// the other when it drops; applies `message:new` by sequence and pages
/// history after the last applied one whenever it sees a gap or
/// reconnects. Runs until `stop`, then until caught up with history.
async fn reader(
    scene: Arc<Scene>,
    i: usize,
    token: String,
    stop: Arc<AtomicBool>,
    reconnects: Arc<AtomicU64>,
    live: Arc<AtomicU64>,
) -> BTreeMap<i64, String> {
    let mut applied: BTreeMap<i64, String> = BTreeMap::new();
    // Sequences heard live, ahead of what was applied when they came.
    let mut heard: std::collections::BTreeSet<i64> = std::collections::BTreeSet::new();
    let mut g = i;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().expect("client");
    let mut stopped_at: Option<Instant> = None;
    loop {
        let base = scene.gateways[g % scene.gateways.len()].clone();
        let Ok(mut sock) = Socket::connect(&base, &token).await else {
            g += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        // Catch up from history, then live.
        let mut need_catch_up = true;
        loop {
            if need_catch_up {
                if !catch_up(&http, &base, &scene.channel, &token, &mut applied).await {
                    break;
                }
                need_catch_up = false;
            }
            if stop.load(Ordering::Relaxed) {
                let at = *stopped_at.get_or_insert_with(Instant::now);
                // Caught up with the channel's end once the senders stopped.
                if catch_up(&http, &base, &scene.channel, &token, &mut applied).await && at.elapsed() > Duration::from_secs(1) {
                    sock.close().await;
                    live.fetch_add(applied.keys().filter(|s| heard.contains(s)).count() as u64, Ordering::Relaxed);
                    return applied;
                }
            }
            match sock.next_frame(Duration::from_millis(300)).await {
                Ok(Some(f)) if f["event"] == "message:new" => {
                    let m = &f["data"]["message"];
                    let (Some(seq), Some(id)) = (m["sequence"].as_i64(), m["id"].as_str()) else { continue };
                    let last = applied.keys().next_back().copied().unwrap_or(0);
                    if seq > last {
                        heard.insert(seq);
                    }
                    if seq == last + 1 {
                        applied.insert(seq, id.to_owned());
                    } else if seq > last + 1 {
                        need_catch_up = true;
                    }
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        reconnects.fetch_add(1, Ordering::Relaxed);
        g += 1;
    }
}

/// Pages history after the last applied sequence; false when the gateway
/// did not answer.
async fn catch_up(http: &reqwest::Client, base: &str, channel: &str, token: &str, applied: &mut BTreeMap<i64, String>) -> bool {
    loop {
        let last = applied.keys().next_back().copied().unwrap_or(0);
        let url = format!("{base}/api/channels/{channel}/messages?after={last}&limit=100");
        let Ok(r) = http.get(url).bearer_auth(token).send().await else { return false };
        if !r.status().is_success() {
            return false;
        }
        let Ok(page) = r.json::<Value>().await else { return false };
        for m in page["messages"].as_array().into_iter().flatten() {
            if let (Some(seq), Some(id)) = (m["sequence"].as_i64(), m["id"].as_str()) {
                applied.insert(seq, id.to_owned());
            }
        }
        if page["hasMore"] != true {
            return true;
        }
    }
}

/// The whole history of the channel, by sequence.
async fn history(api: &Api, channel: &str, token: &str) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut after = 0;
    loop {
        let page = api.get(&format!("/api/channels/{channel}/messages?after={after}&limit=100"), token).await.expect(200);
        let msgs = page["messages"].as_array().cloned().unwrap_or_default();
        if let Some(last) = msgs.last() {
            after = last["sequence"].as_i64().expect("seq");
        }
        out.extend(msgs);
        if page["hasMore"] != true {
            return out;
        }
    }
}

/// Every acknowledged message once in history, sequences 1..n without a
/// gap, every reader with exactly that history.
async fn check_exactly_once(t: &Topology, scene: &Scene, result: &LoadResult) -> Vec<Value> {
    let all = history(&t.api(1), &scene.channel, &scene.users[0].token).await;
    let seqs: Vec<i64> = all.iter().map(|m| m["sequence"].as_i64().expect("seq")).collect();
    assert_eq!(seqs, (1..=all.len() as i64).collect::<Vec<_>>(), "gap-free sequences");
    let mut by_cid: HashMap<String, usize> = HashMap::new();
    for m in &all {
        if let Some(c) = m["clientMsgId"].as_str() {
            *by_cid.entry(c.to_owned()).or_default() += 1;
        }
    }
    let dup: Vec<(&String, &usize)> = by_cid.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dup.is_empty(), "sent twice: {dup:?}");
    let ids: HashSet<&str> = all.iter().filter_map(|m| m["id"].as_str()).collect();
    for (cid, (id, _)) in &result.acked {
        assert!(ids.contains(id.as_str()), "acknowledged {cid} ({id}) is not in history");
    }
    let expected: BTreeMap<i64, String> =
        all.iter().map(|m| (m["sequence"].as_i64().expect("seq"), m["id"].as_str().expect("id").to_owned())).collect();
    for (i, view) in result.views.iter().enumerate() {
        assert!(view == &expected, "reader {i} has {} messages, history {}", view.len(), expected.len());
    }
    all
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rolling_restart_of_every_replica_under_load_loses_and_repeats_nothing() {
    let mut t = Topology::start(&[]).await;
    let scene = Arc::new(scene(&t, 6).await);
    let load = Load::start(scene.clone(), 20.0, 1_000_000);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let began = Instant::now();
    // One replica at a time, as `kubectl rollout restart` does: SIGTERM,
    // wait for it to exit, start it, wait until it is ready.
    for name in t.names() {
        let node = t.node(&name);
        let status = node.terminate(Duration::from_secs(20)).await.expect("stops");
        assert!(status.is_some_and(|s| s.success()), "{name} stopped cleanly: {status:?}");
        node.start().expect("starts again");
        node.ready(Duration::from_secs(60)).await.expect("ready again");
    }
    let restart = began.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let result = load.finish().await;
    let all = check_exactly_once(&t, &scene, &result).await;
    let delivered = (all.len() * scene.users.len()) as f64;
    println!(
        "rolling restart of 14 replicas in {:.1} s: {} messages acknowledged, {} in history, {} retried calls \
         ({} answered 5xx), {} socket reconnections, {:.1} % of deliveries live, slowest send {} ms",
        restart.as_secs_f64(),
        result.acked.len(),
        all.len(),
        result.retries,
        result.server_errors,
        result.reconnects,
        100.0 * result.live as f64 / delivered,
        result.worst.as_millis()
    );
    // Services drain before they stop: no call failed on a replica; the
    // only retries are sends to a gateway that was restarting.
    assert_eq!(result.server_errors, 0, "a restarting replica failed calls");
    assert!(result.live as f64 >= 0.8 * delivered, "real-time delivery kept up: {} of {delivered} live", result.live);
    assert!(result.acked.len() as f64 >= restart.as_secs_f64() * 20.0 * 0.5, "the load kept going during the restart");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn replicas_killed_and_servers_cut_off_under_load_lose_nothing_and_repeat_nothing() {
    let mut t = Topology::start_behind_proxies().await;
    let scene = Arc::new(scene(&t, 6).await);
    let mentioned = scene.users[1].clone();
    // `TOPOLOGY_KILL_ROUNDS` (default 1) repeats the kills and cut-offs: the
    // longer run recorded in docs/benchmarks.md.
    let rounds: usize = std::env::var("TOPOLOGY_KILL_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    let load = Load::start(scene.clone(), 20.0, 10);
    // Scheduled messages, due while replicas die.
    let api = t.api(0);
    let mut scheduled = Vec::new();
    for k in 0..6 * rounds as i64 {
        let due = ocomms_runtime::time::rfc3339(chrono::Utc::now() + chrono::Duration::seconds(3 + 4 * k));
        let content = format!("scheduled {k}");
        let body = json!({ "channelId": scene.channel, "content": content, "scheduledFor": due });
        api.post("/api/scheduled-messages", &scene.users[2].token, body).await.expect(201);
        scheduled.push(content);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    // SIGKILL a gateway and one replica of each service in turn; each comes
    // back a second later (as its Deployment would start a new pod).
    let victims = ["gateway-1", "messaging-1", "notify-2", "scheduler-1", "auth-2", "presence-1", "files-2", "messaging-2", "scheduler-2"];
    for _ in 0..rounds {
        for name in victims {
            let node = t.node(name);
            node.kill().await.expect("killed");
            tokio::time::sleep(Duration::from_secs(1)).await;
            node.start().expect("starts again");
            node.ready(Duration::from_secs(60)).await.expect("ready again");
        }
        // PostgreSQL, Redis and RabbitMQ each cut off for a few seconds
        // (every connection to them dropped, none accepted meanwhile).
        let o = t.outages.as_ref().expect("proxied");
        for (name, proxy) in [("PostgreSQL", &o.postgres), ("Redis", &o.redis), ("RabbitMQ", &o.rabbitmq)] {
            let began = Instant::now();
            proxy.outage(3.0).await;
            eprintln!("{name} cut off for {:.1} s", began.elapsed().as_secs_f64());
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let result = load.finish().await;
    let all = check_exactly_once(&t, &scene, &result).await;
    // Every scheduled message fired exactly once.
    for s in &scheduled {
        let n = all.iter().filter(|m| m["content"] == s.as_str()).count();
        assert_eq!(n, 1, "{s} fired {n} times");
    }
    // Every mention made exactly one notification.
    // (Not the mentioned user's own: nobody is notified of mentioning themselves.)
    let mentions: HashSet<String> = all
        .iter()
        .filter(|m| m["content"].as_str().is_some_and(|c| c.starts_with('@')) && m["authorId"] != mentioned.id.as_str())
        .filter_map(|m| m["id"].as_str().map(str::to_owned))
        .collect();
    let notes = ocomms_runtime::testing::eventually(20, || async {
        let l = t.api(1).get("/api/notifications?limit=200", &mentioned.token).await.expect(200);
        let list = l["notifications"].as_array().cloned().unwrap_or_default();
        (list.len() >= mentions.len()).then_some(list)
    })
    .await
    .unwrap_or_else(|| panic!("not every one of {} mentions notified\n{}", mentions.len(), logs(&t.dir)));
    let mut per_message: HashMap<String, usize> = HashMap::new();
    for n in &notes {
        let data: Value = match &n["data"] {
            Value::String(s) => serde_json::from_str(s).unwrap_or_default(),
            other => other.clone(),
        };
        if let Some(id) = data["messageId"].as_str() {
            *per_message.entry(id.to_owned()).or_default() += 1;
        }
    }
    for id in &mentions {
        assert_eq!(per_message.get(id), Some(&1), "mention {id}: {per_message:?}");
    }
    println!(
        "kill test: {} messages acknowledged ({} mentions, {} scheduled), {} retried calls ({} answered 5xx), \
         {} socket reconnections, longest a send waited {} ms",
        result.acked.len(),
        mentions.len(),
        scheduled.len(),
        result.retries,
        result.server_errors,
        result.reconnects,
        result.worst.as_millis()
    );
    t.stop().await;
}

/// An OTLP/HTTP trace receiver (protobuf bodies POSTed to `/v1/traces`, as
/// `OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf` sends them): keeps
/// (trace id, span name, service name).
async fn otlp_http_receiver() -> (std::net::SocketAddr, Arc<Mutex<Vec<(String, String, String)>>>) {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use prost::Message as _;
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let kept: Arc<Mutex<Vec<(String, String, String)>>> = Arc::default();
    let spans = kept.clone();
    tokio::spawn(async move {
        loop {
            let Ok((conn, _)) = listener.accept().await else { continue };
            let spans = spans.clone();
            tokio::spawn(async move {
                let mut conn = tokio::io::BufReader::new(conn);
                loop {
                    // One request: headers, then a Content-Length body.
                    let mut length = 0usize;
                    let mut path = String::new();
                    loop {
                        let mut line = String::new();
                        if conn.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let line = line.trim_end();
                        if line.is_empty() {
                            break;
                        }
                        if path.is_empty() {
                            path = line.split_whitespace().nth(1).unwrap_or_default().to_owned();
                        }
                        if let Some((k, v)) = line.split_once(':')
                            && k.eq_ignore_ascii_case("content-length")
                        {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0u8; length];
                    if conn.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    if path == "/v1/traces"
                        && let Ok(req) = ExportTraceServiceRequest::decode(body.as_slice())
                        && let Ok(mut kept) = spans.lock()
                    {
                        for rs in &req.resource_spans {
                            let service = rs
                                .resource
                                .iter()
                                .flat_map(|r| r.attributes.iter())
                                .find(|a| a.key == "service.name")
                                .and_then(|a| a.value.as_ref())
                                .map(|v| format!("{:?}", v.value))
                                .unwrap_or_default();
                            for ss in &rs.scope_spans {
                                for s in &ss.spans {
                                    let id: String = s.trace_id.iter().map(|b| format!("{b:02x}")).collect();
                                    kept.push((id, s.name.clone(), service.clone()));
                                }
                            }
                        }
                    }
                    let ok = "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
                    if conn.get_mut().write_all(ok.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, kept)
}

/// Across separate processes: a mention sent with a `traceparent` is one
/// trace over OTLP/HTTP (protobuf) from the gateway through svc-messaging
/// and RabbitMQ to svc-notify, and the gateway's JSON log lines for that
/// request carry its trace id.
#[tokio::test(flavor = "multi_thread")]
async fn a_mention_across_processes_is_one_trace_over_otlp_http_and_its_json_logs_name_it() {
    let (receiver, spans) = otlp_http_receiver().await;
    let endpoint = format!("http://{receiver}");
    let t = Topology::start(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_BSP_SCHEDULE_DELAY", "200"),
        ("LOG_FORMAT", "json"),
        ("RUST_LOG", "info,tower_http=debug"),
    ])
    .await;
    let Room { ann, channel, .. } = room(&t.api(0)).await;
    let trace: String = uuid::Uuid::new_v4().simple().to_string();
    let r = reqwest::Client::new()
        .post(format!("{}/api/channels/{channel}/messages", t.gateways[0]))
        .bearer_auth(&ann.token)
        .header("traceparent", format!("00-{trace}-00f067aa0ba902b7-01"))
        .json(&json!({ "content": "@bob traced across processes" }))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 201);
    let services = ocomms_runtime::testing::eventually(30, || async {
        let kept = spans.lock().expect("spans").clone();
        let mine: HashSet<String> = kept.iter().filter(|(id, _, _)| *id == trace).map(|(_, _, svc)| svc.clone()).collect();
        let names: Vec<String> = kept.iter().filter(|(id, _, _)| *id == trace).map(|(_, n, _)| n.clone()).collect();
        let done = ["gateway", "messaging", "notify"].iter().all(|p| mine.iter().any(|s| s.contains(&format!("ocomms-{p}"))))
            && names.iter().any(|n| n.contains("message.mentioned"));
        done.then_some((mine, names))
    })
    .await;
    let (services, names) = services.unwrap_or_else(|| {
        let kept = spans.lock().expect("spans").clone();
        panic!("the trace did not reach every process: {:?}", kept.iter().filter(|(id, _, _)| *id == trace).collect::<Vec<_>>())
    });
    assert!(names.iter().any(|n| n == "MessagingApi/send_message"), "{names:?}");
    eprintln!("trace {trace}: {} spans from {services:?}", names.len());
    let gateway_logs: String =
        ["gateway-1.log"].iter().map(|f| std::fs::read_to_string(t.dir.join(f)).unwrap_or_default()).collect::<Vec<_>>().join("\n");
    let line = gateway_logs
        .lines()
        .find(|l| l.contains(&format!("\"trace_id\":\"{trace}\"")))
        .unwrap_or_else(|| panic!("no JSON log line of gateway-1 names trace {trace}"));
    let parsed: Value = serde_json::from_str(line).expect("a JSON log line");
    assert_eq!(parsed["trace_id"], trace.as_str());
    t.stop().await;
}

/// The next answer to a client frame (events in between are skipped);
/// None when none comes within `wait`.
async fn next_ack(socket: &mut Socket, wait: Duration) -> Option<Value> {
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let f = socket.next_frame(left).await.expect("socket open")?;
        if f.get("ack").is_some() {
            return Some(f);
        }
    }
}

/// A socket's frames do not wait behind one another: with every svc-presence
/// replica frozen, a `presence:fetch` hangs, yet a send written after it on
/// the same socket is acknowledged and delivered meanwhile; the fetch is
/// answered once presence runs again.
#[tokio::test(flavor = "multi_thread")]
async fn a_socket_keeps_sending_and_receiving_while_one_of_its_frames_hangs() {
    let mut t = Topology::start(&[]).await;
    let Room { ann, bob, ws, channel, .. } = room(&t.api(0)).await;
    let mut ann_s = Socket::connect(&t.gateways[0], &ann.token).await.expect("ann");
    let mut bob_s = Socket::connect(&t.gateways[1], &bob.token).await.expect("bob");
    tokio::time::sleep(Duration::from_millis(500)).await;
    for name in ["presence-1", "presence-2"] {
        t.node(name).freeze();
    }
    let fetch = json!({ "event": "presence:fetch", "data": { "workspaceId": ws, "userIds": [bob.id] }, "ack": 1 });
    ann_s.send_raw(&fetch.to_string()).await.expect("write");
    let send = json!({ "event": "message:send", "data": { "channelId": channel, "content": "not stuck" }, "ack": 2 });
    ann_s.send_raw(&send.to_string()).await.expect("write");
    // The send's ack comes first (the fetch is still hanging), and Bob has
    // the message.
    let first_ack = next_ack(&mut ann_s, WAIT).await.expect("an answer while presence is frozen");
    assert_eq!(first_ack["ack"], 2, "the send was not held behind the fetch: {first_ack}");
    assert_eq!(first_ack["ok"], true);
    assert_eq!(bob_s.event("message:new", WAIT).await.expect("delivered")["message"]["content"], "not stuck");
    for name in ["presence-1", "presence-2"] {
        t.node(name).thaw();
    }
    let second = next_ack(&mut ann_s, Duration::from_secs(40)).await.expect("the fetch answered");
    assert_eq!(second["ack"], 1, "{second}");
    t.stop().await;
}
