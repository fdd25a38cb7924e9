//! The system as the Helm chart deploys it, on one machine: every service
//! and the gateway as separate processes (`ocomms serve <part>`), several
//! replicas of each, sharing Redis, RabbitMQ and PostgreSQL.
//!
//! [`plan`] says where each replica listens and how it finds its peers
//! (every `<SERVICE>_GRPC_URL` lists all replicas, balanced by
//! `ocomms_runtime::grpc::channel`); [`Node`] runs one replica as a child
//! process and stops it the way Kubernetes does (SIGTERM) or the way a crash
//! does (SIGKILL). `ocomms up --replicas N` and the multi-process e2e tests
//! use both.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use tokio::process::{Child, Command};

use crate::SERVICES;

/// Every part a replica can be: the six services and the gateway.
pub const PARTS: [&str; 7] = ["auth", "messaging", "presence", "files", "scheduler", "notify", "gateway"];

/// One replica: what it is, where it listens, and its own variables
/// (on top of the environment every replica shares).
#[derive(Debug, Clone)]
pub struct Replica {
    pub part: &'static str,
    /// 0-based.
    pub index: usize,
    pub addr: SocketAddr,
    pub env: Vec<(String, String)>,
}

impl Replica {
    /// `messaging-2`: the name in logs and listings (1-based).
    pub fn name(&self) -> String {
        format!("{}-{}", self.part, self.index + 1)
    }
}

/// `replicas` of every part; `addr(part, index)` says where each listens.
/// Each replica's environment names where it listens and every peer
/// service's replicas.
pub fn plan(replicas: usize, mut addr: impl FnMut(&'static str, usize) -> SocketAddr) -> Vec<Replica> {
    let mut addrs: HashMap<(&'static str, usize), SocketAddr> = HashMap::new();
    for part in PARTS {
        for i in 0..replicas {
            addrs.insert((part, i), addr(part, i));
        }
    }
    let peers: Vec<(String, String)> = SERVICES
        .iter()
        .map(|svc| {
            let list: Vec<String> = (0..replicas).map(|i| format!("http://{}", addrs[&(*svc, i)])).collect();
            (format!("{}_GRPC_URL", svc.to_ascii_uppercase()), list.join(","))
        })
        .collect();
    let mut out = Vec::new();
    for part in PARTS {
        for index in 0..replicas {
            let addr = addrs[&(part, index)];
            let listen = if part == "gateway" { "GATEWAY_ADDR".to_owned() } else { format!("{}_GRPC_ADDR", part.to_ascii_uppercase()) };
            let mut env = peers.clone();
            env.push((listen, addr.to_string()));
            out.push(Replica { part, index, addr, env });
        }
    }
    out
}

/// A replica run as a child process of `exe serve <part>`.
pub struct Node {
    pub replica: Replica,
    exe: PathBuf,
    shared: Vec<(String, String)>,
    log: Option<PathBuf>,
    child: Option<Child>,
}

impl Node {
    /// `shared` is the environment every replica gets (database, Redis,
    /// RabbitMQ, secrets); `log` a file its stderr and stdout are appended
    /// to (None: inherited).
    pub fn new(exe: &Path, replica: Replica, shared: Vec<(String, String)>, log: Option<PathBuf>) -> Self {
        Self { replica, exe: exe.to_owned(), shared, log, child: None }
    }

    /// Starts the process (again, if it had stopped).
    pub fn start(&mut self) -> anyhow::Result<()> {
        let mut cmd = Command::new(&self.exe);
        cmd.arg("serve").arg(self.replica.part).envs(self.shared.iter().cloned()).envs(self.replica.env.iter().cloned());
        cmd.stdin(Stdio::null()).kill_on_drop(true);
        if let Some(path) = &self.log {
            let file =
                std::fs::OpenOptions::new().create(true).append(true).open(path).with_context(|| format!("opening {}", path.display()))?;
            cmd.stdout(file.try_clone()?).stderr(file);
        }
        let child = cmd.spawn().with_context(|| format!("starting {} ({})", self.replica.name(), self.exe.display()))?;
        self.child = Some(child);
        Ok(())
    }

    /// Waits until the replica answers: gRPC health SERVING for a service,
    /// `/api/health` for a gateway.
    pub async fn ready(&mut self, within: Duration) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                anyhow::bail!("{} exited during start: {status}", self.replica.name());
            }
            let up =
                if self.replica.part == "gateway" { http_ok(self.replica.addr).await } else { crate::serving(self.replica.addr).await };
            if up {
                return Ok(());
            }
            anyhow::ensure!(tokio::time::Instant::now() < deadline, "{} did not become ready within {within:?}", self.replica.name());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// Whether the process has exited (and how), without waiting.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.as_mut().and_then(|c| c.try_wait().ok().flatten())
    }

    /// Stops it as Kubernetes does: SIGTERM, then SIGKILL after `grace`.
    pub async fn terminate(&mut self, grace: Duration) -> anyhow::Result<Option<std::process::ExitStatus>> {
        let Some(mut child) = self.child.take() else { return Ok(None) };
        if let Some(pid) = child.id() {
            signal(pid, rustix::process::Signal::TERM);
        }
        match tokio::time::timeout(grace, child.wait()).await {
            Ok(status) => Ok(Some(status?)),
            Err(_) => {
                tracing::warn!(replica = self.replica.name(), "did not stop within its grace period: killed");
                child.kill().await?;
                Ok(Some(child.wait().await?))
            }
        }
    }

    /// Freezes it (SIGSTOP): it holds its connections and answers nothing,
    /// as a process stuck on a lock or in a long pause does.
    pub fn freeze(&self) {
        if let Some(pid) = self.pid() {
            signal(pid, rustix::process::Signal::STOP);
        }
    }

    /// Lets a frozen process go on (SIGCONT).
    pub fn thaw(&self) {
        if let Some(pid) = self.pid() {
            signal(pid, rustix::process::Signal::CONT);
        }
    }

    /// Stops it as a crash does: SIGKILL, no chance to finish anything.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill().await?;
        }
        Ok(())
    }
}

fn signal(pid: u32, sig: rustix::process::Signal) {
    if let Some(pid) = i32::try_from(pid).ok().and_then(rustix::process::Pid::from_raw) {
        let _ = rustix::process::kill_process(pid, sig);
    }
}

async fn http_ok(addr: SocketAddr) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(Ok(mut s)) = tokio::time::timeout(Duration::from_millis(500), tokio::net::TcpStream::connect(addr)).await else { return false };
    let req = format!("GET /api/health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).await.is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    matches!(tokio::time::timeout(Duration::from_secs(2), s.read_exact(&mut buf)).await, Ok(Ok(_)) if buf.starts_with(b"HTTP/1.1 200"))
}

/// The variables every replica of a multi-process run shares: the caller's,
/// plus a service credential and a two-factor key when none is set, a
/// drain before stopping (peers move away first), and small database
/// pools (replicas × parts × pool must stay under PostgreSQL's
/// `max_connections`).
pub fn shared_env(env: &ocomms_runtime::config::Env) -> anyhow::Result<Vec<(String, String)>> {
    anyhow::ensure!(
        env.opt_string("REDIS_URL").is_some() && env.opt_string("AMQP_URL").is_some(),
        "several replicas share state through Redis and jobs through RabbitMQ: set REDIS_URL and AMQP_URL \
         (for example REDIS_URL=redis://127.0.0.1:6379 AMQP_URL=amqp://guest:guest@127.0.0.1:5672/%2f)"
    );
    let mut out = Vec::new();
    if env.opt_string("SERVICE_TOKEN").is_none() {
        out.push(("SERVICE_TOKEN".to_owned(), crate::random_token()));
    }
    if env.opt_string("TWO_FACTOR_KEY").is_none() {
        out.push(("TWO_FACTOR_KEY".to_owned(), crate::local_key(&env.string("DATA_DIR", "./data"))?));
    }
    if env.opt_string("SHUTDOWN_DRAIN_SECS").is_none() {
        out.push(("SHUTDOWN_DRAIN_SECS".to_owned(), "1.5".to_owned()));
    }
    if env.opt_string("DB_POOL_SIZE").is_none() {
        out.push(("DB_POOL_SIZE".to_owned(), "4".to_owned()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_replica_lists_every_peer_replica_and_listens_on_its_own_address() {
        let mut port = 40000u16;
        let replicas = plan(2, |_, _| {
            port += 1;
            SocketAddr::from(([127, 0, 0, 1], port))
        });
        assert_eq!(replicas.len(), 14);
        let addrs: std::collections::HashSet<SocketAddr> = replicas.iter().map(|r| r.addr).collect();
        assert_eq!(addrs.len(), 14, "every replica has its own address");
        let messaging: Vec<String> = replicas.iter().filter(|r| r.part == "messaging").map(|r| format!("http://{}", r.addr)).collect();
        for r in &replicas {
            let get = |k: &str| r.env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            assert_eq!(get("MESSAGING_GRPC_URL"), Some(messaging.join(",")), "{}", r.name());
            let own = if r.part == "gateway" { "GATEWAY_ADDR".to_owned() } else { format!("{}_GRPC_ADDR", r.part.to_ascii_uppercase()) };
            assert_eq!(get(&own), Some(r.addr.to_string()));
        }
    }

    #[test]
    fn replicas_need_redis_and_rabbitmq() {
        let env = ocomms_runtime::config::Env::from_map(HashMap::from([("REDIS_URL".to_owned(), "redis://x".to_owned())]));
        let err = shared_env(&env).expect_err("no AMQP_URL");
        assert!(err.to_string().contains("AMQP_URL"), "{err}");
    }
}
