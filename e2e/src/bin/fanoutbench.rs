//! Fan-out and idle-socket benchmark against a running system (issue 14):
//! one public channel of `--members` users, each online on one WebSocket;
//! the owner sends `--messages` messages to it (one a second, over REST)
//! and the run reports, per message, when the first and the last member's
//! socket read its `message:new`. Then it opens `--extra` more idle
//! sockets (a second tab for that many members) and reports the process's
//! RSS per socket (`--pid`, the gateway's process).
//!
//! Accounts are written straight into the databases (`--db-prefix`: the
//! `DATABASE_URL` the system was started with; services add `_auth`,
//! `_messaging`), with sessions whose tokens only this run knows: signing
//! 10,000 users up through argon2 would take the run's whole time.
//!
//! ```text
//! bash scripts/bench-fanout.sh        # release `ocomms up` + this, on fresh databases
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use diesel::sql_types::{Array, Text, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use futures_util::{SinkExt, StreamExt};
use ocomms_e2e::Api;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn num(name: &str, default: u64) -> anyhow::Result<u64> {
    Ok(match arg(name) {
        Some(v) => v.parse().with_context(|| format!("{name}"))?,
        None => default,
    })
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

#[derive(diesel::QueryableByName)]
struct Account {
    #[diesel(sql_type = SqlUuid)]
    uid: uuid::Uuid,
    #[diesel(sql_type = Text)]
    token: String,
}

type Sink =
    futures_util::stream::SplitSink<tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>, Message>;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // reqwest's TLS needs a provider (the services install theirs with --spawn).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let base = arg("--base").context("--base URL")?;
    let prefix = arg("--db-prefix").context("--db-prefix postgres://…/name")?;
    let pid: u32 = num("--pid", 0)? as u32;
    let members = num("--members", 10_000)?;
    let extra = num("--extra", 0)?;
    let messages = num("--messages", 10)?;
    anyhow::ensure!((2..=50_000).contains(&members) && extra <= members && (1..=100).contains(&messages), "bad sizes");

    let api = Api::new(&base);
    let owner = api.sign_up("owner").await?;
    let ws = api.workspace(&owner).await?;
    let channel = api.channel(&ws, &owner, "everyone").await?;

    // N accounts with sessions, workspace members, channel members.
    let started = Instant::now();
    let mut auth = AsyncPgConnection::establish(&format!("{prefix}_auth")).await?;
    auth.batch_execute(&format!(
        "CREATE TEMP TABLE fo AS
           SELECT n, gen_random_uuid() AS uid, 'fo' || n || '-' || md5(random()::text) || md5(random()::text) AS token
             FROM generate_series(1, {members}) n;
         INSERT INTO users (id, email, email_normalized, name, email_verified, password_hash, created_at, updated_at)
           SELECT uid, 'fanout' || n || '@example.com', 'fanout' || n || '@example.com', 'Fanout ' || n, true, '!', now(), now() FROM fo;
         INSERT INTO sessions (id, user_id, token_hash, expires_at, created_at, last_seen_at)
           SELECT gen_random_uuid(), uid, encode(sha256(convert_to(token, 'UTF8')), 'hex'), now() + interval '1 day', now(), now() FROM fo;
         INSERT INTO members (id, workspace_id, user_id, role, is_guest, created_at)
           SELECT gen_random_uuid(), '{ws}', uid, 'member', false, now() FROM fo;"
    ))
    .await?;
    let accounts: Vec<Account> = diesel::sql_query("SELECT uid, token FROM fo ORDER BY n").load(&mut auth).await?;
    let mut msg_db = AsyncPgConnection::establish(&format!("{prefix}_messaging")).await?;
    let uids: Vec<uuid::Uuid> = accounts.iter().map(|a| a.uid).collect();
    diesel::sql_query(
        "INSERT INTO channel_members (channel_id, user_id, workspace_id, role, joined_at)
         SELECT $1, u, $2, 'member', now() FROM unnest($3) u",
    )
    .bind::<SqlUuid, _>(channel.parse::<uuid::Uuid>()?)
    .bind::<SqlUuid, _>(ws.parse::<uuid::Uuid>()?)
    .bind::<Array<SqlUuid>, _>(&uids)
    .execute(&mut msg_db)
    .await?;
    eprintln!("{members} accounts written in {:.1} s", started.elapsed().as_secs_f64());

    // Everyone online: one socket each.
    let rss_before = rss_kb(pid);
    let epoch = Instant::now();
    let first: Arc<Vec<AtomicU64>> = Arc::new((0..messages).map(|_| AtomicU64::new(u64::MAX)).collect());
    let last: Arc<Vec<AtomicU64>> = Arc::new((0..messages).map(|_| AtomicU64::new(0)).collect());
    let got: Arc<Vec<AtomicU64>> = Arc::new((0..messages).map(|_| AtomicU64::new(0)).collect());
    let sent_at: Arc<Vec<AtomicU64>> = Arc::new((0..messages).map(|_| AtomicU64::new(0)).collect());
    let ws_url = base.replacen("http", "ws", 1);
    let connect = |token: String| {
        let url = format!("{ws_url}/api/ws?token={token}");
        async move {
            for attempt in 0..5 {
                // Small read buffers: with tungstenite's default (128 KiB,
                // zeroed as it grows) the reader of 10,000 sockets spent
                // most of its time in memset, on the same two cores as the
                // gateway it measures.
                let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().read_buffer_size(4096);
                match tokio_tungstenite::connect_async_with_config(&url, Some(config), false).await {
                    Ok((s, _)) => return Ok(s),
                    Err(e) if attempt == 4 => return Err(anyhow::Error::from(e)),
                    Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                }
            }
            unreachable!("the loop returns")
        }
    };
    let t = Instant::now();
    let mut sinks: Vec<Sink> = Vec::new();
    let mut readers = Vec::new();
    let opened = futures_util::stream::iter(accounts.iter().map(|a| connect(a.token.clone()))).buffered(64).collect::<Vec<_>>().await;
    for s in opened {
        let (sink, mut stream) = s?.split();
        sinks.push(sink);
        let (first, last, got) = (first.clone(), last.clone(), got.clone());
        readers.push(tokio::spawn(async move {
            while let Some(Ok(msg)) = stream.next().await {
                let Message::Text(text) = msg else { continue };
                if !text.contains("message:new") {
                    continue;
                }
                let Ok(v) = serde_json::from_str::<Value>(&text) else { continue };
                let Some(n) =
                    v["data"]["message"]["content"].as_str().and_then(|c| c.strip_prefix("fo ")).and_then(|c| c.parse::<usize>().ok())
                else {
                    continue;
                };
                let now = epoch.elapsed().as_micros() as u64;
                if n < got.len() {
                    first[n].fetch_min(now, Ordering::Relaxed);
                    last[n].fetch_max(now, Ordering::Relaxed);
                    got[n].fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    eprintln!("{members} sockets open in {:.1} s", t.elapsed().as_secs_f64());
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_online = rss_kb(pid);

    let path = format!("/api/channels/{channel}/messages");
    for n in 0..messages as usize {
        sent_at[n].store(epoch.elapsed().as_micros() as u64, Ordering::Relaxed);
        api.post(&path, &owner.token, json!({ "content": format!("fo {n}") })).await.expect(201);
        let wait = Instant::now();
        while AtomicU64::load(&got[n], Ordering::Relaxed) < members && wait.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mut lasts = Vec::new();
    println!("fan-out: one channel of {members} members, all online, {messages} messages 1 at a time over REST");
    for n in 0..messages as usize {
        let s = AtomicU64::load(&sent_at[n], Ordering::Relaxed);
        let (f, l, g) = (
            AtomicU64::load(&first[n], Ordering::Relaxed),
            AtomicU64::load(&last[n], Ordering::Relaxed),
            AtomicU64::load(&got[n], Ordering::Relaxed),
        );
        let ms = |t: u64| t.saturating_sub(s) as f64 / 1000.0;
        println!("  message {n}: delivered to {g}/{members}, first after {:.1} ms, last after {:.1} ms", ms(f), ms(l));
        if g == members {
            lasts.push(ms(l));
        }
    }
    lasts.sort_by(f64::total_cmp);
    if !lasts.is_empty() {
        println!(
            "last delivery ms: p50={:.1} max={:.1} (complete fan-outs: {})",
            lasts[lasts.len() / 2],
            lasts[lasts.len() - 1],
            lasts.len()
        );
    }

    // More idle sockets: a second tab for `extra` members.
    let mut idle = Vec::new();
    if extra > 0 {
        let t = Instant::now();
        let more = futures_util::stream::iter(accounts.iter().take(extra as usize).map(|a| connect(a.token.clone())))
            .buffered(64)
            .collect::<Vec<_>>()
            .await;
        for s in more {
            idle.push(s?);
        }
        eprintln!("{extra} more sockets open in {:.1} s", t.elapsed().as_secs_f64());
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    let rss_all = rss_kb(pid);
    let sockets = members + extra;
    if pid != 0 {
        println!(
            "rss: {} MB before sockets, {} MB with {members} online, {} MB with {sockets} sockets; {:.1} KB per socket",
            rss_before / 1024,
            rss_online / 1024,
            rss_all / 1024,
            (rss_all.saturating_sub(rss_before)) as f64 / sockets as f64
        );
    }
    for mut s in sinks {
        let _ = s.close().await;
    }
    for mut s in idle {
        let _ = s.close(None).await;
    }
    for r in readers {
        r.abort();
    }
    Ok(())
}
