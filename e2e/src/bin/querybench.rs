//! Query benchmark: history pages and search over a large message set.
//!
//! Starts a whole stack on fresh databases (like the e2e tests), creates a
//! user and a workspace through the API, then bulk-loads `--channels`
//! channels of `--per-channel` messages straight into svc-messaging's
//! database (generated text from a fixed vocabulary, plus a rare word at
//! known places and a Japanese phrase in 1 message in 500 at random), and
//! times REST calls through the gateway: latest page, `before=`, `after=`
//! pages, searches, unread counts. Prints
//! p50/p99 per query. Bounded: `--iterations` calls per query.
//!
//! ```text
//! cargo run --release -p ocomms-e2e --bin querybench -- --channels 100 --per-channel 10000 --iterations 200
//! ```

use std::time::{Duration, Instant};

use anyhow::Context;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use ocomms_e2e::{StackOptions, TestStack};

fn arg(name: &str, default: u64) -> anyhow::Result<u64> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == name) {
        Some(i) => Ok(args.get(i + 1).with_context(|| format!("{name} needs a value"))?.parse()?),
        None => Ok(default),
    }
}

const WORDS: &str = "the release deploy plan meeting review design budget customer ticket server database latency error retry \
queue schedule roadmap launch sprint feedback coffee lunch friday monday update status report metrics dashboard alert \
incident backup migration index cache query search thread channel message invite workspace owner admin member guest \
guest policy token session password secure audit export import archive draft note bookmark reaction emoji pin";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let channels = arg("--channels", 100)?;
    let per_channel = arg("--per-channel", 10_000)?;
    let iterations = arg("--iterations", 200)?;
    anyhow::ensure!(channels >= 1 && per_channel >= 100 && iterations >= 10 && iterations <= 10_000, "bad sizes");
    let t = TestStack::start(StackOptions { redis: false, env: vec![("DB_POOL_SIZE".into(), "16".into())], ..Default::default() }).await?;
    let api = t.api();
    let owner = api.sign_up("Bench").await?;
    let ws = api.workspace(&owner).await?;
    let db = t.env.get("MESSAGING_DATABASE_URL").context("messaging db")?.clone();
    let mut conn = AsyncPgConnection::establish(&db).await?;
    // Someone else wrote the history (every message is unread for the
    // reader until they read it; every send moves its author's mark).
    let writer = uuid::Uuid::new_v4();
    let words: Vec<String> = WORDS.split_whitespace().map(|w| format!("'{w}'")).collect();
    let started = Instant::now();
    eprintln!("loading {} messages…", channels * per_channel);
    diesel::sql_query(format!(
        "INSERT INTO channels (id, workspace_id, name, created_by, last_seq)
         SELECT gen_random_uuid(), '{ws}', 'bench-' || g, '{}', {per_channel} FROM generate_series(1, {channels}) g",
        owner.id
    ))
    .execute(&mut conn)
    .await?;
    diesel::sql_query(format!(
        "INSERT INTO channel_members (channel_id, user_id, workspace_id) SELECT id, '{}', '{ws}' FROM channels",
        owner.id
    ))
    .execute(&mut conn)
    .await?;
    for g in 1..=channels {
        diesel::sql_query(format!(
            "INSERT INTO messages (id, workspace_id, channel_id, author_id, content, sequence, created_at, updated_at)
             SELECT gen_random_uuid(), '{ws}', c.id, '{author}',
                    (SELECT string_agg((ARRAY[{words}])[1 + floor(random() * {n})::int], ' ') FROM generate_series(1, 6 + (s % 7)))
                    || CASE WHEN s % 10000 = 7 THEN ' zebraquartz' ELSE '' END
                    || CASE WHEN random() < 0.002 THEN ' 東京で会議があります' ELSE '' END,
                    s, now() - ({per_channel} - s) * interval '1 minute', now() - ({per_channel} - s) * interval '1 minute'
               FROM channels c, generate_series(1, {per_channel}) s
              WHERE c.name = 'bench-{g}'",
            author = writer,
            words = words.join(","),
            n = words.len(),
        ))
        .execute(&mut conn)
        .await?;
        if g % 10 == 0 {
            eprintln!("  {g}/{channels} channels");
        }
    }
    diesel::sql_query("ANALYZE messages").execute(&mut conn).await?;
    let loaded = started.elapsed();
    let total: i64 = ocomms_runtime::db::count(&mut conn, "SELECT count(*) AS n FROM messages").await?;
    let size: i64 = ocomms_runtime::db::count(&mut conn, "SELECT pg_total_relation_size('messages') AS n").await?;
    eprintln!("loaded {total} messages in {:.0}s ({} MiB with indexes)", loaded.as_secs_f64(), size / (1 << 20));
    let chans = api.get(&format!("/api/workspaces/{ws}/channels"), &owner.token).await.expect(200);
    let ids: Vec<String> =
        chans["channels"].as_array().context("channels")?.iter().filter_map(|c| c["id"].as_str().map(str::to_owned)).collect();

    println!(
        "data set: {total} messages in {channels} channels of {per_channel}, one workspace; the reader is in every channel; messages table {} MiB with indexes",
        size / (1 << 20)
    );
    println!("| query | p50 ms | p99 ms | results (last call) |");
    println!("|---|---|---|---|");
    let seq = |i: u64| 1 + (i * 7919) % per_channel;
    let queries: Vec<(&str, Box<dyn Fn(u64) -> String>)> = vec![
        ("history: latest 50", Box::new(|i| format!("/api/channels/{}/messages?limit=50", ids[(i as usize) % ids.len()]))),
        (
            "history: 50 before a random sequence",
            Box::new(|i| format!("/api/channels/{}/messages?limit=50&before={}", ids[(i as usize) % ids.len()], seq(i) + 50)),
        ),
        (
            "history: 50 after a random sequence (resume)",
            Box::new(|i| format!("/api/channels/{}/messages?limit=50&after={}", ids[(i as usize) % ids.len()], seq(i))),
        ),
        ("unread counts: every channel unread (capped at 1000 each)", Box::new(|_| format!("/api/workspaces/{ws}/unread"))),
        ("search: common word `deploy`", Box::new(|_| format!("/api/workspaces/{ws}/search?q=deploy"))),
        ("search: rare word `zebraquartz`", Box::new(|_| format!("/api/workspaces/{ws}/search?q=zebraquartz"))),
        ("search: two words `budget latency`", Box::new(|_| format!("/api/workspaces/{ws}/search?q=budget%20latency"))),
        ("search: partial word `atenc`", Box::new(|_| format!("/api/workspaces/{ws}/search?q=atenc"))),
        ("search: Japanese `会議`", Box::new(|_| format!("/api/workspaces/{ws}/search?q=%E4%BC%9A%E8%AD%B0"))),
        ("search: `deploy in:#bench-7`", Box::new(|_| format!("/api/workspaces/{ws}/search?q=deploy%20in:%23bench-7"))),
        (
            "search: `zebraquartz after:` last week",
            Box::new(|_| {
                let d = (chrono::Utc::now() - chrono::Duration::days(7)).format("%Y-%m-%d");
                format!("/api/workspaces/{ws}/search?q=zebraquartz%20after:{d}")
            }),
        ),
    ];
    for (name, path) in &queries {
        let mut times = Vec::with_capacity(iterations as usize);
        let mut last = 0;
        for i in 0..iterations {
            let p = path(i);
            let t0 = Instant::now();
            let r = api.get(&p, &owner.token).await;
            times.push(t0.elapsed());
            anyhow::ensure!(r.status.is_success(), "{name}: {} {}", r.status, r.body);
            last = r.body["messages"]
                .as_array()
                .or_else(|| r.body["results"].as_array())
                .or_else(|| r.body["channels"].as_array())
                .map(Vec::len)
                .unwrap_or(0);
        }
        times.sort();
        let pct = |p: f64| times[((times.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0;
        println!("| {name} | {:.2} | {:.2} | {last} |", pct(0.5), pct(0.99));
    }
    // The common case: everything read.
    for id in &ids {
        let r = api.post(&format!("/api/channels/{id}/read"), &owner.token, serde_json::json!({ "sequence": per_channel })).await;
        anyhow::ensure!(r.status.is_success(), "read: {}", r.body);
    }
    let mut times = Vec::new();
    for _ in 0..iterations {
        let t0 = Instant::now();
        let r = api.get(&format!("/api/workspaces/{ws}/unread"), &owner.token).await;
        times.push(t0.elapsed());
        anyhow::ensure!(r.status.is_success(), "unread");
    }
    times.sort();
    let pct = |p: f64| times[((times.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0;
    println!("| unread counts: every channel read | {:.2} | {:.2} | 0 |", pct(0.5), pct(0.99));
    drop(conn);
    tokio::time::timeout(Duration::from_secs(60), t.stop()).await??;
    Ok(())
}
