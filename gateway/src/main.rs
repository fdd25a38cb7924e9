//! The gateway as its own process (see `ocomms_gateway::config` for its
//! variables).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    ocomms_runtime::telemetry::init();
    ocomms_runtime::metrics::install();
    let mut env = ocomms_runtime::config::Env::from_process();
    let config = ocomms_gateway::Config::from_env(&mut env);
    env.finish()?;
    let bus = ocomms_runtime::events::Bus::connect(config.redis_url.as_deref(), &config.redis_prefix).await?;
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let out = ocomms_gateway::serve(config, bus, listener, ocomms_runtime::grpc::shutdown_signal()).await;
    let _ = tokio::task::spawn_blocking(ocomms_runtime::telemetry::flush).await;
    out
}
