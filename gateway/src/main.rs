//! The gateway as its own process (see `ocomms_gateway::config` for its
//! variables).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    ocomms_runtime::telemetry::init();
    ocomms_runtime::metrics::install();
    let env = ocomms_runtime::config::Env::from_process();
    let out = ocomms_gateway::run(env, ocomms_runtime::grpc::shutdown_signal()).await;
    let _ = tokio::task::spawn_blocking(ocomms_runtime::telemetry::flush).await;
    out
}
