//! `ocomms jobs`: the operator's view of the durable jobs that gave up
//! (see `ocomms_runtime::jobs::dead`), across every service's database:
//! list them, run them again once the cause is fixed, or discard them.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;

use anyhow::Context;
use ocomms_runtime::config::Env;
use ocomms_runtime::jobs::{Broker, dead};
use ocomms_runtime::service::{PORTS, ServiceConfig};

pub const USAGE: &str = "  jobs dead [--json]
            list the durable jobs that gave up (out of JOB_MAX_ATTEMPTS), in
            every service, oldest first (at most 1000 each); --json: all of
            them, one JSON object per line
  jobs retry <job id>... | --all
            run dead jobs again (once their cause is fixed), keeping their ids
  jobs discard <job id>... | --all
            forget dead jobs
  jobs ... --service <name>
            only that service's database (auth, messaging, files, ...)";

/// The most dead jobs listed per service.
const LIST_LIMIT: i64 = 1000;

/// A command line `ocomms jobs` does not take.
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::error::Error for Usage {}

/// Runs `ocomms jobs <args>` against the services `env` configures (only
/// their databases and RabbitMQ: any service's environment will do); what
/// it prints goes to `out` as it happens (an interrupted `retry --all`
/// has said what it sent). An error when a service's database cannot be
/// read (the others are still done) or a job id is nowhere; a [`Usage`]
/// error for arguments it does not take.
pub async fn run(env: &Env, args: &[String], out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    let names: Vec<&'static str> = match args.iter().position(|a| *a == "--service") {
        Some(i) => {
            let name = args.get(i + 1).copied().unwrap_or_default();
            let Some((known, _)) = PORTS.iter().find(|(n, _)| *n == name) else {
                return Err(
                    Usage(format!("--service takes one of auth, messaging, presence, files, scheduler, notify (not {name:?})")).into()
                );
            };
            args.drain(i..i + 2);
            vec![*known]
        }
        None => PORTS.iter().map(|(n, _)| *n).collect(),
    };
    let mut env = env.with(&HashMap::new());
    let configs: Vec<ServiceConfig> = names.iter().map(|n| ServiceConfig::from_env(&mut env, n)).collect();
    env.finish()?;
    let services: Vec<&ServiceConfig> = configs.iter().collect();
    let services = services.as_slice();
    match args.as_slice() {
        ["dead"] => list(services, false, out).await,
        ["dead", "--json"] => list(services, true, out).await,
        ["retry" | "discard", "--all"] => {
            let retry = args[0] == "retry";
            let (mut any, mut failed) = (false, Vec::new());
            // Each service's own dead jobs, in that service.
            for s in services {
                match dead_jobs(s, i64::MAX).await {
                    Ok(jobs) => {
                        let ids: BTreeSet<String> = jobs.into_iter().map(|j| j.job_id).collect();
                        any |= !ids.is_empty();
                        // Its errors name the service already.
                        if let Err(e) = act(&[*s], retry, &ids.iter().map(String::as_str).collect::<Vec<_>>(), out).await {
                            failed.push(format!("{e:#}"));
                        }
                    }
                    Err(e) => failed.push(format!("{}: {e:#}", s.name)),
                }
            }
            if !any && failed.is_empty() {
                writeln!(out, "no dead jobs")?;
            }
            anyhow::ensure!(failed.is_empty(), "{}", failed.join("; "));
            Ok(())
        }
        ["retry" | "discard", ids @ ..] if !ids.is_empty() && !ids.iter().any(|i| i.starts_with('-')) => {
            act(services, args[0] == "retry", ids, out).await
        }
        _ => Err(Usage(format!("ocomms jobs: unknown arguments {args:?}")).into()),
    }
}

async fn dead_jobs(s: &ServiceConfig, limit: i64) -> anyhow::Result<Vec<dead::DeadJob>> {
    let mut conn = connect(s).await?;
    Ok(dead::list(&mut conn, s.name, limit).await?)
}

async fn connect(s: &ServiceConfig) -> anyhow::Result<diesel_async::AsyncPgConnection> {
    use diesel_async::AsyncConnection;
    let what = || format!("connecting to {}", ocomms_runtime::db::redact(&s.database_url));
    tokio::time::timeout(std::time::Duration::from_secs(10), diesel_async::AsyncPgConnection::establish(&s.database_url))
        .await
        .map_err(|_| anyhow::anyhow!("timed out after 10 s"))
        .with_context(what)?
        .with_context(what)
}

async fn list(services: &[&ServiceConfig], json: bool, out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    let mut failed = Vec::new();
    let mut total = 0;
    for s in services {
        let (jobs, count) = match async {
            let mut conn = connect(s).await?;
            // JSON (for tools) lists them all; text the oldest, and says so.
            let jobs = dead::list(&mut conn, s.name, if json { i64::MAX } else { LIST_LIMIT }).await?;
            let count = dead::count(&mut conn).await?;
            anyhow::Ok((jobs, count))
        }
        .await
        {
            Ok(x) => x,
            Err(e) => {
                failed.push(format!("{}: {e:#}", s.name));
                continue;
            }
        };
        total += count;
        for j in &jobs {
            if json {
                let mut v = serde_json::to_value(j)?;
                v["service"] = serde_json::Value::from(s.name);
                writeln!(out, "{v}")?;
                continue;
            }
            let place = match &j.queue {
                Some(q) => format!("queue {q}"),
                None => "outbox, in process".to_owned(),
            };
            let tries = j.failures.map(|n| format!(" after {n} attempts")).unwrap_or_default();
            writeln!(out, "{}  {}  ({}, {place})", j.job_id, j.key, s.name)?;
            writeln!(out, "    died {}{tries}: {}", j.died_at.format("%Y-%m-%d %H:%M:%S UTC"), j.last_error)?;
        }
        if count > jobs.len() as i64 && !json {
            writeln!(out, "({}: the oldest {} of {count} shown)", s.name, jobs.len())?;
        }
    }
    // A count only when every database was read: "no dead jobs" must be true.
    if !json && failed.is_empty() {
        match total {
            0 => writeln!(out, "no dead jobs")?,
            1 => writeln!(out, "1 dead job")?,
            n => writeln!(out, "{n} dead jobs")?,
        }
    }
    anyhow::ensure!(failed.is_empty(), "{}", failed.join("; "));
    Ok(())
}

/// Retries or discards each job id, wherever it rests.
async fn act(services: &[&ServiceConfig], retry: bool, ids: &[&str], out: &mut (dyn Write + Send)) -> anyhow::Result<()> {
    let mut found: HashMap<&str, usize> = ids.iter().map(|i| (*i, 0)).collect();
    let mut failed = Vec::new();
    for s in services {
        let done = async {
            let mut conn = connect(s).await?;
            // Connected to RabbitMQ only for a job that rests from one of its queues.
            let mut broker: Option<Broker> = None;
            for id in ids {
                let n = if retry {
                    if broker.is_none() && dead::find(&mut conn, s.name, id).await?.iter().any(|j| j.queue.is_some()) {
                        // (Its pool would hold the dead jobs of consumers; it runs none.)
                        let pool = ocomms_runtime::db::pool(&s.database_url, 1).await?;
                        broker = Some(s.broker(&pool).await?);
                    }
                    dead::retry(&mut conn, broker.as_ref(), s.name, id).await?
                } else {
                    dead::discard(&mut conn, s.name, id).await?
                };
                if n > 0 {
                    *found.entry(id).or_default() += n;
                    let verb = if retry { "sent back" } else { "discarded" };
                    writeln!(out, "{id}: {verb} ({}{})", s.name, if n > 1 { format!(", {n} copies") } else { String::new() })?;
                }
            }
            anyhow::Ok(())
        }
        .await;
        if let Err(e) = done {
            failed.push(format!("{}: {e:#}", s.name));
        }
    }
    let missing: Vec<&str> = ids.iter().copied().filter(|i| found.get(i) == Some(&0)).collect();
    if !missing.is_empty() {
        // "No such job" only when every database was read.
        let scope = if failed.is_empty() { "" } else { " in the services read" };
        failed.push(format!("no dead job {}{scope}", missing.join(", ")));
    }
    anyhow::ensure!(failed.is_empty(), "{}", failed.join("; "));
    Ok(())
}
