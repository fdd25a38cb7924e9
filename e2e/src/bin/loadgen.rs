//! Load generator for the send path (issue 14's workload): `--clients`
//! users, each on one WebSocket, in `--channels` channels of
//! clients/channels members each (every user in exactly one channel, which
//! its first member creates), sending `message:send` frames with acks over
//! their sockets at a fixed total rate (open loop: a send is written on
//! schedule whatever the earlier ones are doing).
//!
//! Phases: warm-up (sent, not counted), the measured window, then a drain
//! (up to 30 s for the window's acks and deliveries). For the window it
//! reports acked and delivered rates, errors, losses (an acked message some
//! other member never received) and duplicates, the send-to-ack latency and
//! the send-to-deliver latency (from just before the client writes the
//! frame to when another member's socket reads its `message:new`), and the
//! CPU seconds the measured processes spent: `--pid` (repeatable; the
//! OComms processes), every process named `postgres` with `--pg-cpu`, and
//! this generator itself, so CPU per message is read directly.
//!
//! ```text
//! bash scripts/bench-load.sh                 # release `ocomms up` + this, on fresh databases
//! loadgen --base http://127.0.0.1:3000 --pid 1234 --pg-cpu --rate 200 --seconds 20
//! loadgen --spawn ...                        # the stack inside this process (no CPU split)
//! ```
//! The run is bounded in count and time and stops by itself.

use std::collections::HashMap;
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
    warmup: u64,
    seconds: u64,
    pids: Vec<u32>,
    pg_cpu: bool,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut a = Args {
        base: None,
        spawn: false,
        redis: false,
        clients: 100,
        channels: 20,
        rate: 200,
        warmup: 5,
        seconds: 20,
        pids: Vec::new(),
        pg_cpu: false,
    };
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
            "--warmup" => a.warmup = val()?.parse()?,
            "--seconds" => a.seconds = val()?.parse()?,
            "--pid" => a.pids.push(val()?.parse()?),
            "--pg-cpu" => a.pg_cpu = true,
            other => anyhow::bail!("unknown flag {other}"),
        }
    }
    anyhow::ensure!(a.spawn ^ a.base.is_some(), "give exactly one of --spawn or --base URL");
    anyhow::ensure!(a.channels >= 1 && a.clients >= 2 * a.channels, "need at least two clients per channel");
    anyhow::ensure!(a.rate >= 1 && a.seconds >= 1 && a.seconds + a.warmup <= 600, "rate >= 1, 1 <= warm-up + seconds <= 600");
    Ok(a)
}

/// CPU time (user + system) of a process, in seconds; None when it is gone.
fn cpu_of(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ is 100 on Linux
}

/// CPU seconds of every live process named `postgres`, by pid.
fn postgres_cpu() -> HashMap<String, f64> {
    let mut out = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else { return out };
    for e in dir.flatten() {
        let pid = e.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "postgres")
            && let Some(cpu) = cpu_of(&pid)
        {
            out.insert(pid, cpu);
        }
    }
    out
}

struct CpuSample {
    procs: Vec<Option<f64>>,
    pg: HashMap<String, f64>,
    me: f64,
}

fn sample(args: &Args) -> CpuSample {
    CpuSample {
        procs: args.pids.iter().map(|p| cpu_of(&p.to_string())).collect(),
        pg: if args.pg_cpu { postgres_cpu() } else { HashMap::new() },
        me: cpu_of("self").unwrap_or(0.0),
    }
}

#[derive(Default)]
struct Counters {
    /// Frames written in the measured window.
    sent: AtomicU64,
    acked_ok: AtomicU64,
    acked_err: AtomicU64,
    delivered: AtomicU64,
}

/// What the run records per message number: when it was written, and
/// whether it is in the measured window.
struct Sent {
    at_us: u64,
    measured: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // reqwest's TLS needs a provider (the services install theirs with --spawn).
    let _ = rustls::crypto::ring::default_provider().install_default();
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
    let per_channel = args.clients / args.channels;
    eprintln!("setting up {} users in {} channels of {per_channel} at {base}", args.clients, args.channels);
    let owner = api.sign_up("owner").await?;
    let ws = api.workspace(&owner).await?;
    let invite = api.post(&format!("/api/workspaces/{ws}/invites"), &owner.token, json!({})).await.expect(201);
    let invite = invite["token"].as_str().context("invite token")?.to_owned();
    let mut users: Vec<User> = Vec::new();
    for chunk in (0..args.clients).collect::<Vec<_>>().chunks(8) {
        let made = futures_util::future::join_all(chunk.iter().map(|i| {
            let api = api.clone();
            let invite = invite.clone();
            async move {
                let u = api.sign_up(&format!("load{i}")).await?;
                api.post(&format!("/api/invites/{invite}/accept"), &u.token, json!({})).await.expect(200);
                anyhow::Ok(u)
            }
        }))
        .await;
        for u in made {
            users.push(u?);
        }
    }
    // User i belongs to channel i % channels; the channel's first user makes it.
    let mut channels = Vec::new();
    for c in 0..args.channels {
        channels.push(api.channel(&ws, &users[c], &format!("load-{c}")).await?);
    }
    for (i, u) in users.iter().enumerate().skip(args.channels) {
        api.join(&channels[i % args.channels], u).await?;
    }
    let members_of = |c: usize| (0..users.len()).filter(|i| i % args.channels == c).count() as u64;

    let epoch = Instant::now();
    let counters = Arc::new(Counters::default());
    let sent_log: Arc<std::sync::Mutex<HashMap<u64, Sent>>> = Arc::default();
    let deliver_lat: Arc<Mutex<Vec<u64>>> = Arc::default();
    let ack_lat: Arc<Mutex<Vec<u64>>> = Arc::default();
    let acked_numbers: Arc<std::sync::Mutex<Vec<(u64, usize)>>> = Arc::default();
    let received: Arc<std::sync::Mutex<HashMap<u64, u64>>> = Arc::default();
    let mut sinks = Vec::new();
    let mut readers = Vec::new();
    for (ui, u) in users.iter().enumerate() {
        let url = format!("{}/api/ws?token={}", base.replacen("http", "ws", 1), u.token);
        let (socket, _) = tokio_tungstenite::connect_async(url).await?;
        let (sink, mut stream) = socket.split();
        sinks.push(Arc::new(Mutex::new(sink)));
        let me = u.id.clone();
        let (counters, deliver_lat, ack_lat) = (counters.clone(), deliver_lat.clone(), ack_lat.clone());
        let (sent_log, acked_numbers, received) = (sent_log.clone(), acked_numbers.clone(), received.clone());
        let channel_index = ui % args.channels;
        readers.push(tokio::spawn(async move {
            let (mut d_local, mut a_local) = (Vec::new(), Vec::new());
            while let Some(Ok(msg)) = stream.next().await {
                let Message::Text(text) = msg else { continue };
                let Ok(v) = serde_json::from_str::<Value>(&text) else { continue };
                let now = epoch.elapsed().as_micros() as u64;
                if v["event"] == "message:new" {
                    if v["data"]["message"]["authorId"] == me.as_str() {
                        continue;
                    }
                    let Some(n) =
                        v["data"]["message"]["content"].as_str().and_then(|c| c.strip_prefix("lg ")).and_then(|c| c.parse::<u64>().ok())
                    else {
                        continue;
                    };
                    let Some((at, measured)) = sent_log.lock().ok().and_then(|l| l.get(&n).map(|s| (s.at_us, s.measured))) else {
                        continue;
                    };
                    // Copies per message over every other member: more than
                    // members - 1 is a duplicate, fewer a loss.
                    if let Ok(mut r) = received.lock() {
                        *r.entry(n).or_insert(0) += 1;
                    }
                    if !measured {
                        continue;
                    }
                    d_local.push(now.saturating_sub(at));
                    counters.delivered.fetch_add(1, Ordering::Relaxed);
                } else if let Some(n) = v.get("ack").and_then(Value::as_u64) {
                    let Some((at, measured)) = sent_log.lock().ok().and_then(|l| l.get(&n).map(|s| (s.at_us, s.measured))) else {
                        continue;
                    };
                    if !measured {
                        continue;
                    }
                    if v["ok"] == true {
                        counters.acked_ok.fetch_add(1, Ordering::Relaxed);
                        a_local.push(now.saturating_sub(at));
                        if let Ok(mut a) = acked_numbers.lock() {
                            a.push((n, channel_index));
                        }
                    } else {
                        counters.acked_err.fetch_add(1, Ordering::Relaxed);
                        if counters.acked_err.load(Ordering::Relaxed) <= 3 {
                            eprintln!("error ack: {text}");
                        }
                    }
                }
            }
            deliver_lat.lock().await.extend(d_local);
            ack_lat.lock().await.extend(a_local);
        }));
    }
    eprintln!("sending {} msg/s: {} s warm-up, {} s measured", args.rate, args.warmup, args.seconds);
    let warm_total = args.rate * args.warmup;
    let total = args.rate * (args.warmup + args.seconds);
    let interval = Duration::from_secs_f64(1.0 / args.rate as f64);
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut before = None;
    let mut window_start = Instant::now();
    for n in 0..total {
        ticker.tick().await;
        if n == warm_total {
            before = Some(sample(&args));
            window_start = Instant::now();
        }
        let measured = n >= warm_total;
        let i = (n as usize) % users.len();
        let sink = sinks[i].clone();
        let channel = channels[i % args.channels].clone();
        let (counters, sent_log) = (counters.clone(), sent_log.clone());
        tokio::spawn(async move {
            let frame =
                json!({ "event": "message:send", "data": { "channelId": channel, "content": format!("lg {n}") }, "ack": n }).to_string();
            let mut sink = sink.lock().await;
            if let Ok(mut l) = sent_log.lock() {
                l.insert(n, Sent { at_us: epoch.elapsed().as_micros() as u64, measured });
            }
            if measured {
                counters.sent.fetch_add(1, Ordering::Relaxed);
            }
            if sink.send(Message::Text(frame.into())).await.is_err() && measured {
                counters.acked_err.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    let send_secs = window_start.elapsed().as_secs_f64();
    // The window's CPU is read when its sends and their deliveries are done
    // (or 30 s passed): all the work the window's messages caused.
    let drain = Instant::now();
    let expected_deliveries = |c: &Counters| c.acked_ok.load(Ordering::Relaxed) * (per_channel as u64 - 1);
    while (counters.acked_ok.load(Ordering::Relaxed) + counters.acked_err.load(Ordering::Relaxed) < args.rate * args.seconds
        || counters.delivered.load(Ordering::Relaxed) < expected_deliveries(&counters))
        && drain.elapsed() < Duration::from_secs(30)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let window_secs = window_start.elapsed().as_secs_f64();
    let after = sample(&args);
    tokio::time::sleep(Duration::from_millis(500)).await;
    for s in &sinks {
        let _ = s.lock().await.close().await;
    }
    for r in readers {
        let _ = tokio::time::timeout(Duration::from_secs(5), r).await;
    }

    // Losses and duplicates over the measured window's acked messages.
    let received = received.lock().map(|r| r.clone()).unwrap_or_default();
    let (mut lost, mut dup) = (0u64, 0u64);
    for (n, c) in acked_numbers.lock().map(|a| a.clone()).unwrap_or_default() {
        let want = members_of(c) - 1;
        let got = received.get(&n).copied().unwrap_or(0);
        lost += want.saturating_sub(got);
        dup += got.saturating_sub(want);
    }

    let pct = |v: &mut Vec<u64>, p: f64| {
        v.sort_unstable();
        v.get(((v.len() as f64 - 1.0) * p).round() as usize).map(|us| *us as f64 / 1000.0).unwrap_or(f64::NAN)
    };
    let mut d = deliver_lat.lock().await.clone();
    let mut a = ack_lat.lock().await.clone();
    let ok = counters.acked_ok.load(Ordering::Relaxed);
    let err = counters.acked_err.load(Ordering::Relaxed);
    let sent = counters.sent.load(Ordering::Relaxed);
    println!(
        "workload: {} clients, {} channels of {per_channel}, offered {}/s, warm-up {} s, window {} s",
        args.clients, args.channels, args.rate, args.warmup, args.seconds
    );
    println!("window: sent={sent} acked_ok={ok} errors={err} unacked={}", sent.saturating_sub(ok + err));
    println!("acked_rate={:.1}/s (sending took {send_secs:.1} s, window incl. drain {window_secs:.1} s)", ok as f64 / send_secs);
    println!(
        "deliveries={} ({:.1}/s) lost={lost} duplicates={dup}",
        counters.delivered.load(Ordering::Relaxed),
        counters.delivered.load(Ordering::Relaxed) as f64 / window_secs
    );
    println!(
        "send_to_ack_ms p50={:.2} p90={:.2} p99={:.2} max={:.2}",
        pct(&mut a, 0.5),
        pct(&mut a, 0.9),
        pct(&mut a, 0.99),
        pct(&mut a, 1.0)
    );
    println!(
        "send_to_deliver_ms p50={:.2} p90={:.2} p99={:.2} max={:.2}",
        pct(&mut d, 0.5),
        pct(&mut d, 0.9),
        pct(&mut d, 0.99),
        pct(&mut d, 1.0)
    );
    if let Some(before) = before {
        let procs: f64 = before.procs.iter().zip(&after.procs).map(|(b, a)| a.unwrap_or(0.0) - b.unwrap_or(0.0)).sum();
        // Backends alive at both ends (pooled connections are).
        let pg: f64 = after.pg.iter().filter_map(|(pid, a)| before.pg.get(pid).map(|b| a - b)).sum();
        let me = after.me - before.me;
        let per = |s: f64| if ok == 0 { f64::NAN } else { s * 1000.0 / ok as f64 };
        println!(
            "cpu_s: ocomms={procs:.2} ({:.0} %) postgres={pg:.2} ({:.0} %) loadgen={me:.2} ({:.0} %) over {window_secs:.1} s",
            procs * 100.0 / window_secs,
            pg * 100.0 / window_secs,
            me * 100.0 / window_secs
        );
        println!("cpu_ms_per_message: ocomms={:.3} postgres={:.3} together={:.3}", per(procs), per(pg), per(procs + pg));
    }
    if let Some(s) = stack {
        s.stop().await?;
    }
    Ok(())
}
