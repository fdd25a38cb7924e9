//! Load generator: N WebSocket clients in M channels, sending at a fixed
//! total rate, measuring send-to-deliver latency (from just before a client
//! writes `message:send` to when another member's socket reads the
//! `message:new`), achieved messages/s and errors.
//!
//! ```text
//! cargo run --release -p ocomms-e2e --bin loadgen -- --spawn --clients 200 --channels 20 --rate 300 --seconds 20
//! cargo run --release -p ocomms-e2e --bin loadgen -- --base http://127.0.0.1:3000 ...
//! ```
//! `--spawn` starts a whole stack in this process on fresh databases (like
//! the e2e tests); `--base` targets a running system. The run is bounded in
//! count and time and stops by itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use ocomms_e2e::{Api, StackOptions, TestStack, User};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;

struct Args {
    base: Option<String>,
    spawn: bool,
    redis: bool,
    clients: usize,
    channels: usize,
    rate: u64,
    seconds: u64,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut a = Args { base: None, spawn: false, redis: false, clients: 100, channels: 10, rate: 200, seconds: 20 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--base" => a.base = Some(val()?),
            "--spawn" => a.spawn = true,
            "--redis" => a.redis = true,
            "--clients" => a.clients = val()?.parse()?,
            "--channels" => a.channels = val()?.parse()?,
            "--rate" => a.rate = val()?.parse()?,
            "--seconds" => a.seconds = val()?.parse()?,
            other => anyhow::bail!("unknown flag {other}"),
        }
    }
    anyhow::ensure!(a.spawn ^ a.base.is_some(), "give exactly one of --spawn or --base URL");
    anyhow::ensure!(a.clients >= 2 && a.channels >= 1 && a.clients >= 2 * a.channels, "need at least two clients per channel");
    anyhow::ensure!(a.rate >= 1 && a.seconds >= 1 && a.seconds <= 600, "rate >= 1, 1 <= seconds <= 600");
    Ok(a)
}

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    acked_ok: AtomicU64,
    acked_err: AtomicU64,
    delivered: AtomicU64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let stack = if args.spawn {
        Some(
            TestStack::start(StackOptions {
                redis: args.redis,
                env: vec![("DB_POOL_SIZE".into(), "32".into()), ("RATE_LIMIT_ENABLED".into(), "false".into())],
                ..Default::default()
            })
            .await?,
        )
    } else {
        None
    };
    let base = match (&stack, &args.base) {
        (Some(s), _) => s.base.clone(),
        (None, Some(b)) => b.clone(),
        (None, None) => unreachable!("checked by parse_args"),
    };
    let api = Api::new(&base);
    eprintln!("setting up {} users in {} channels at {base}", args.clients, args.channels);
    let owner = api.sign_up("owner").await?;
    let ws = api.workspace(&owner).await?;
    let invite = api.post(&format!("/api/workspaces/{ws}/invites"), &owner.token, json!({})).await.expect(201);
    let invite = invite["token"].as_str().context("invite token")?.to_owned();
    let mut channels = Vec::new();
    for i in 0..args.channels {
        channels.push(api.channel(&ws, &owner, &format!("load-{i}")).await?);
    }
    let mut users: Vec<User> = Vec::new();
    for chunk in (0..args.clients).collect::<Vec<_>>().chunks(16) {
        let made = futures_util::future::join_all(chunk.iter().map(|i| {
            let api = api.clone();
            let invite = invite.clone();
            let channel = channels[i % channels.len()].clone();
            async move {
                let u = api.sign_up(&format!("load{i}")).await?;
                api.post(&format!("/api/invites/{invite}/accept"), &u.token, json!({})).await.expect(200);
                api.join(&channel, &u).await?;
                anyhow::Ok(u)
            }
        }))
        .await;
        for u in made {
            users.push(u?);
        }
    }

    let epoch = Instant::now();
    let counters = Arc::new(Counters::default());
    let latencies: Arc<Mutex<Vec<u64>>> = Arc::default();
    let mut sinks = Vec::new();
    let mut readers = Vec::new();
    for u in &users {
        let url = format!("{}/api/ws?token={}", base.replacen("http", "ws", 1), u.token);
        let (socket, _) = tokio_tungstenite::connect_async(url).await?;
        let (sink, mut stream) = socket.split();
        sinks.push(Arc::new(Mutex::new(sink)));
        let me = u.id.clone();
        let counters = counters.clone();
        let latencies = latencies.clone();
        readers.push(tokio::spawn(async move {
            let mut local = Vec::new();
            while let Some(Ok(msg)) = stream.next().await {
                let Message::Text(text) = msg else { continue };
                let Ok(v) = serde_json::from_str::<Value>(&text) else { continue };
                if v["event"] == "message:new" {
                    if v["data"]["message"]["authorId"] == me.as_str() {
                        continue;
                    }
                    let sent_us =
                        v["data"]["message"]["content"].as_str().and_then(|c| c.strip_prefix("lg ")).and_then(|c| c.parse::<u64>().ok());
                    if let Some(us) = sent_us {
                        local.push((epoch.elapsed().as_micros() as u64).saturating_sub(us));
                        counters.delivered.fetch_add(1, Ordering::Relaxed);
                    }
                } else if v.get("ack").is_some() {
                    let c = if v["ok"] == true { &counters.acked_ok } else { &counters.acked_err };
                    c.fetch_add(1, Ordering::Relaxed);
                }
            }
            latencies.lock().await.extend(local);
        }));
    }

    eprintln!("sending {} msg/s for {} s", args.rate, args.seconds);
    let total = args.rate * args.seconds;
    let interval = Duration::from_secs_f64(1.0 / args.rate as f64);
    let start = Instant::now();
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    for n in 0..total {
        ticker.tick().await;
        let i = (n as usize) % users.len();
        let sink = sinks[i].clone();
        let channel = channels[i % channels.len()].clone();
        let counters = counters.clone();
        tokio::spawn(async move {
            let content = format!("lg {}", epoch.elapsed().as_micros());
            let frame = json!({ "event": "message:send", "data": { "channelId": channel, "content": content }, "ack": n }).to_string();
            counters.sent.fetch_add(1, Ordering::Relaxed);
            if sink.lock().await.send(Message::Text(frame.into())).await.is_err() {
                counters.acked_err.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    let send_secs = start.elapsed().as_secs_f64();
    // Let the last messages land, then close.
    let drain = Instant::now();
    while counters.acked_ok.load(Ordering::Relaxed) + counters.acked_err.load(Ordering::Relaxed) < total
        && drain.elapsed() < Duration::from_secs(30)
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let elapsed = start.elapsed().as_secs_f64();
    for s in &sinks {
        let _ = s.lock().await.close().await;
    }
    for r in readers {
        let _ = tokio::time::timeout(Duration::from_secs(5), r).await;
    }
    let mut lat = latencies.lock().await.clone();
    lat.sort_unstable();
    let pct = |p: f64| lat.get(((lat.len() as f64 - 1.0) * p).round() as usize).map(|us| *us as f64 / 1000.0).unwrap_or(f64::NAN);
    let ok = counters.acked_ok.load(Ordering::Relaxed);
    let err = counters.acked_err.load(Ordering::Relaxed);
    let per_channel = args.clients / args.channels;
    println!(
        "clients={} channels={} (~{} members each) target_rate={}/s duration={}s",
        args.clients, args.channels, per_channel, args.rate, args.seconds
    );
    println!("sent={} acked_ok={} errors={} unacked={}", counters.sent.load(Ordering::Relaxed), ok, err, total.saturating_sub(ok + err));
    println!("achieved_send_rate={:.1}/s (over {:.1}s of sending)", ok as f64 / send_secs, send_secs);
    println!(
        "deliveries={} ({:.1}/s)",
        counters.delivered.load(Ordering::Relaxed),
        counters.delivered.load(Ordering::Relaxed) as f64 / elapsed
    );
    println!("send_to_deliver_ms p50={:.2} p90={:.2} p99={:.2} max={:.2}", pct(0.5), pct(0.9), pct(0.99), pct(1.0));
    if let Some(s) = stack {
        s.stop().await?;
    }
    Ok(())
}
