//! The gateway as its own process (see `ocomms_gateway::config` for its
//! variables).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    ocomms_runtime::telemetry::init();
    let mut env = ocomms_runtime::config::Env::from_process();
    let config = ocomms_gateway::Config::from_env(&mut env);
    env.finish()?;
    let bus = match &config.redis_url {
        Some(url) => ocomms_runtime::events::Bus::redis(url, &config.redis_prefix).await?,
        None => ocomms_runtime::events::Bus::local(),
    };
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    ocomms_gateway::serve(config, bus, listener, ocomms_runtime::grpc::shutdown_signal()).await
}
