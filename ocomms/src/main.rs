//! `ocomms up`: the whole system in one process. `ocomms migrate`: create
//! and migrate every service's database, then exit (a Helm hook).
//! `ocomms vapid-keys`: a key pair for web push.

const USAGE: &str = "usage: ocomms <command>

commands:
  up        run the gateway (port 3000) and every service (gRPC 50051-50056)
  migrate   create and migrate every service's database, then exit
  vapid-keys
            print a new VAPID key pair for web push (VAPID_PUBLIC_KEY,
            VAPID_PRIVATE_KEY), to put in the environment
  help      show this text

Configuration comes from the environment; see README.md (DATABASE_URL,
REDIS_URL, GATEWAY_ADDR, <SERVICE>_GRPC_ADDR, SERVICE_TOKEN, ...).";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let command = std::env::args().nth(1).unwrap_or_default();
    match command.as_str() {
        "up" => up().await,
        "migrate" => {
            ocomms_runtime::telemetry::init();
            ocomms::migrate(&ocomms_runtime::config::Env::from_process()).await
        }
        "vapid-keys" => {
            let (public, private) = svc_notify::push::generate_vapid_keys();
            println!("VAPID_PUBLIC_KEY={public}\nVAPID_PRIVATE_KEY={private}");
            Ok(())
        }
        "help" | "-h" | "--help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => {
            eprintln!("unknown command {other:?}\n\n{USAGE}");
            std::process::exit(2);
        }
    }
}

async fn up() -> anyhow::Result<()> {
    ocomms_runtime::telemetry::init();
    let stack = ocomms::start(&ocomms_runtime::config::Env::from_process()).await?;
    println!("OComms is up.");
    println!("  gateway    http://{}  (web client /, REST /api/*, WebSocket /api/ws, OpenAPI /api/openapi.json)", stack.gateway);
    for (name, addr) in &stack.services {
        println!("  {name:<10} grpc://{addr}  (health + reflection)");
    }
    if stack.fallbacks.is_empty() {
        println!("fallbacks: none");
    } else {
        println!("fallbacks in force:");
        for f in &stack.fallbacks {
            println!("  - {f}");
        }
    }
    let out = stack.run_until(ocomms_runtime::grpc::shutdown_signal()).await;
    // The last spans go out before the process does.
    let _ = tokio::task::spawn_blocking(ocomms_runtime::telemetry::flush).await;
    out
}
