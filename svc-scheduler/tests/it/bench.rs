//! Many scheduled messages due at once, written straight into the table,
//! sent through real svc-messaging and RabbitMQ: each exactly once. In the
//! suite it runs with 300 (a debug build); `scripts/bench-scheduler.sh`
//! runs it in release with 10,000 (`SCHEDULER_BENCH_MESSAGES`) and prints
//! how late the last one was sent and the CPU spent by this process
//! (svc-auth, svc-messaging and svc-scheduler run in it) and by PostgreSQL.

use std::time::Instant;

use diesel_async::RunQueryDsl;

use crate::helpers::*;

/// CPU seconds (user + system) of the processes whose command name is
/// `comm`, or of this process when `None`.
fn cpu_secs(comm: Option<&str>) -> f64 {
    let tick = 100.0; // USER_HZ on Linux
    let read = |pid: &str| -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let (name, rest) = stat.split_once(") ")?;
        if let Some(c) = comm
            && !name.ends_with(&format!("({c}"))
        {
            return None;
        }
        let f: Vec<&str> = rest.split_whitespace().collect();
        Some((f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / tick)
    };
    match comm {
        None => read("self").unwrap_or(0.0),
        Some(_) => std::fs::read_dir("/proc")
            .map(|d| d.filter_map(Result::ok).filter_map(|e| read(&e.file_name().to_string_lossy())).sum())
            .unwrap_or(0.0),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn many_messages_due_at_once_are_each_sent_once() {
    let n: i64 = std::env::var("SCHEDULER_BENCH_MESSAGES").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let app = app().await;
    let (ann_id, ann) = user(&app, "ann").await;
    let (ws, general) = team(&app, &ann, &[]).await;
    let mut conn = db(&app.scheduler.database_url).await;
    diesel::sql_query(format!(
        "INSERT INTO scheduled_messages (id, workspace_id, author_id, channel_id, content, scheduled_for, timezone)
         SELECT gen_random_uuid(), '{ws}', '{ann_id}', '{general}', 'bench ' || i,
                date_trunc('second', now()) + interval '5 seconds' + (i % 60) * interval '1 second' / 60, 'UTC'
           FROM generate_series(1, {n}) AS i"
    ))
    .execute(&mut conn)
    .await
    .expect("rows");
    diesel::sql_query("NOTIFY ocomms_scheduler_wake").execute(&mut conn).await.expect("notify");
    let (cpu0, pg0, t0) = (cpu_secs(None), cpu_secs(Some("postgres")), Instant::now());
    let sent = wait_count(&app.scheduler.database_url, "SELECT count(*) AS n FROM scheduled_messages WHERE status = 'sent'", n, 600).await;
    let (cpu, pg, wall) = (cpu_secs(None) - cpu0, cpu_secs(Some("postgres")) - pg0, t0.elapsed());
    assert_eq!(sent, n);
    #[derive(diesel::QueryableByName)]
    struct Late {
        #[diesel(sql_type = diesel::sql_types::Double)]
        p50: f64,
        #[diesel(sql_type = diesel::sql_types::Double)]
        max: f64,
        #[diesel(sql_type = diesel::sql_types::Double)]
        due_span: f64,
    }
    let late: Late = diesel::sql_query(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM updated_at - scheduled_for))::float8 AS p50,
                max(extract(epoch FROM updated_at - scheduled_for))::float8 AS max,
                extract(epoch FROM max(scheduled_for) - min(scheduled_for))::float8 AS due_span
           FROM scheduled_messages",
    )
    .get_result(&mut conn)
    .await
    .expect("lateness");
    let mut chat = db(&app.messaging.database_url).await;
    assert_eq!(count(&mut chat, "SELECT count(*) AS n FROM messages WHERE content LIKE 'bench %'").await, n, "each sent once");
    println!(
        "BENCH scheduler: {n} messages due within {:.1} s; sent after their time: p50 {:.2} s, last {:.2} s; wall {:.1} s; \
         CPU: services {cpu:.1} s + PostgreSQL {pg:.1} s = {:.2} ms per message",
        late.due_span,
        late.p50,
        late.max,
        wall.as_secs_f64(),
        (cpu + pg) * 1000.0 / n as f64
    );
}
