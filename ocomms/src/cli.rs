//! The `ocomms` command line (the `ocomms` binary is this and nothing
//! else; the multi-process e2e tests run it through a copy of that binary).

use std::time::Duration;

use ocomms_runtime::config::Env;

use crate::topology::{self, Node};

const USAGE_TEMPLATE: &str = "usage: ocomms <command>

commands:
  up        run the gateway (port 3000) and every service (gRPC 50051-50056)
            in one process
  up --replicas N
            run every service and the gateway as separate processes, N of
            each (gateways on 3000, 3001, ...; a service's replica i on its
            port + 100 i), as the Helm chart deploys them; needs REDIS_URL
            and AMQP_URL. A replica that exits is started again.
  serve <auth|messaging|presence|files|scheduler|notify|gateway>
            run one part on its own (what each Kubernetes pod runs)
  migrate   create and migrate every service's database, then exit
{JOBS}
  vapid-keys
            print a new VAPID key pair for web push (VAPID_PUBLIC_KEY,
            VAPID_PRIVATE_KEY), to put in the environment
  help      show this text

Configuration comes from the environment; see README.md (DATABASE_URL,
REDIS_URL, GATEWAY_ADDR, <SERVICE>_GRPC_ADDR, SERVICE_TOKEN, ...).";

fn usage() -> String {
    USAGE_TEMPLATE.replace("{JOBS}", crate::jobs::USAGE)
}

/// Runs the command in `args` (the program name first).
pub async fn run(args: Vec<String>) -> anyhow::Result<()> {
    let command = args.get(1).cloned().unwrap_or_default();
    let rest = &args[args.len().min(2)..];
    match (command.as_str(), rest) {
        ("up", []) => up().await,
        ("up", [flag, n]) if flag == "--replicas" => match n.parse::<usize>() {
            Ok(n) if (1..=9).contains(&n) => up_replicas(n).await,
            _ => usage_error("--replicas takes a number from 1 to 9"),
        },
        ("serve", [part]) => {
            ocomms_runtime::telemetry::init();
            ocomms_runtime::metrics::install();
            let out = serve(part, Env::from_process()).await;
            let _ = tokio::task::spawn_blocking(ocomms_runtime::telemetry::flush).await;
            out
        }
        ("migrate", []) => {
            ocomms_runtime::telemetry::init();
            crate::migrate(&Env::from_process()).await
        }
        ("jobs", args) => {
            let done = crate::jobs::run(&Env::from_process(), args, &mut std::io::stdout()).await;
            match done {
                Err(e) if e.downcast_ref::<crate::jobs::Usage>().is_some() => usage_error(&e.to_string()),
                other => other,
            }
        }
        ("vapid-keys", []) => {
            let (public, private) = svc_notify::push::generate_vapid_keys();
            println!("VAPID_PUBLIC_KEY={public}\nVAPID_PRIVATE_KEY={private}");
            Ok(())
        }
        ("help" | "-h" | "--help", _) => {
            println!("{}", usage());
            Ok(())
        }
        (other, _) => usage_error(&format!("unknown command or arguments: {other:?} {rest:?}")),
    }
}

fn usage_error(what: &str) -> anyhow::Result<()> {
    eprintln!("{what}\n\n{}", usage());
    std::process::exit(2);
}

/// One part on its own, until SIGTERM.
async fn serve(part: &str, env: Env) -> anyhow::Result<()> {
    use ocomms_runtime::run_service;
    match part {
        "auth" => run_service!(svc_auth, env).await,
        "messaging" => run_service!(svc_messaging, env).await,
        "presence" => run_service!(svc_presence, env).await,
        "files" => run_service!(svc_files, env).await,
        "scheduler" => run_service!(svc_scheduler, env).await,
        "notify" => run_service!(svc_notify, env).await,
        "gateway" => ocomms_gateway::run(env, ocomms_runtime::grpc::shutdown_signal()).await,
        other => usage_error(&format!("no part named {other:?}")),
    }
}

async fn up() -> anyhow::Result<()> {
    ocomms_runtime::telemetry::init();
    let stack = crate::start(&Env::from_process()).await?;
    println!("OComms is up.");
    println!("  gateway    http://{}  (web client /, REST /api/*, WebSocket /api/ws, OpenAPI /api/openapi.json)", stack.gateway);
    for (name, addr) in &stack.services {
        println!("  {name:<10} grpc://{addr}  (health + reflection)");
    }
    print_fallbacks(&stack.fallbacks);
    let out = stack.run_until(ocomms_runtime::grpc::shutdown_signal()).await;
    // The last spans go out before the process does.
    let _ = tokio::task::spawn_blocking(ocomms_runtime::telemetry::flush).await;
    out
}

fn print_fallbacks(fallbacks: &[String]) {
    if fallbacks.is_empty() {
        println!("fallbacks: none");
    } else {
        println!("fallbacks in force:");
        for f in fallbacks {
            println!("  - {f}");
        }
    }
}

/// `up --replicas N`: migrate, then every part as N child processes,
/// restarted when they exit, stopped with SIGTERM when we are.
async fn up_replicas(replicas: usize) -> anyhow::Result<()> {
    ocomms_runtime::telemetry::init();
    let env = Env::from_process();
    let shared = topology::shared_env(&env)?;
    let env = env.with(&shared.iter().cloned().collect());
    crate::migrate(&env).await?;
    let base = |var: &str, default: std::net::SocketAddr| -> anyhow::Result<std::net::SocketAddr> {
        env.opt_string(var).map_or(Ok(default), |v| v.parse().map_err(|_| anyhow::anyhow!("{var}: not an address like 127.0.0.1:3000")))
    };
    let mut bases = std::collections::HashMap::new();
    for part in topology::PARTS {
        let addr = if part == "gateway" {
            base("GATEWAY_ADDR", ([127, 0, 0, 1], 3000).into())?
        } else {
            let var = format!("{}_GRPC_ADDR", part.to_ascii_uppercase());
            base(&var, ([127, 0, 0, 1], ocomms_runtime::service::default_port(part)).into())?
        };
        bases.insert(part, addr);
    }
    let shifted = |mut a: std::net::SocketAddr, by: usize| -> anyhow::Result<std::net::SocketAddr> {
        let port = u16::try_from(by).ok().and_then(|by| a.port().checked_add(by));
        a.set_port(port.ok_or_else(|| anyhow::anyhow!("port {} + {by} is past 65535", a.port()))?);
        Ok(a)
    };
    for part in topology::PARTS {
        let step = if part == "gateway" { 1 } else { 100 };
        shifted(bases[part], step * (replicas - 1))?;
    }
    let mut plan = topology::plan(replicas, |part, i| {
        let step = if part == "gateway" { 1 } else { 100 };
        shifted(bases[part], step * i).unwrap_or(bases[part])
    });
    // A metrics address in the environment: replica i serves on its port + i.
    for r in &mut plan {
        let var = format!("{}_METRICS_ADDR", r.part.to_ascii_uppercase());
        if let Some(v) = env.opt_string(&var) {
            let a: std::net::SocketAddr = v.parse().map_err(|_| anyhow::anyhow!("{var}: not an address"))?;
            r.env.push((var, shifted(a, r.index)?.to_string()));
        }
    }
    let exe = std::env::current_exe()?;
    let mut nodes: Vec<Node> = plan.into_iter().map(|r| Node::new(&exe, r, shared.clone(), None)).collect();
    for node in &mut nodes {
        node.start()?;
    }
    for node in &mut nodes {
        // A port taken at that moment (5005x lies in Linux's ephemeral
        // range) is retried, as a Deployment restarts a failed pod.
        let mut attempts = 0;
        while let Err(e) = node.ready(Duration::from_secs(120)).await {
            attempts += 1;
            anyhow::ensure!(attempts < 5 && node.exited().is_some(), "{e:#}");
            eprintln!("{e:#}; starting it again");
            tokio::time::sleep(Duration::from_secs(1)).await;
            node.start()?;
        }
    }
    println!("OComms is up: {replicas} replicas of each part, each its own process.");
    for node in &nodes {
        let r = &node.replica;
        let what = if r.part == "gateway" { format!("http://{}", r.addr) } else { format!("grpc://{}", r.addr) };
        println!("  {:<12} {what:<28} pid {}", r.name(), node.pid().unwrap_or_default());
    }
    let shutdown = ocomms_runtime::grpc::shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
        for node in &mut nodes {
            if let Some(status) = node.exited() {
                eprintln!("{} exited ({status}); starting it again", node.replica.name());
                tokio::time::sleep(Duration::from_secs(1)).await;
                node.start()?;
            }
        }
    }
    // Like a rollout's end: every replica at once, each with its grace.
    let stops = nodes.iter_mut().map(|n| n.terminate(Duration::from_secs(30)));
    for out in futures_util::future::join_all(stops).await {
        out?;
    }
    Ok(())
}
