//! svc-presence configuration: the shared variables of
//! `ocomms_runtime::service` (`PRESENCE_DATABASE_URL`, `PRESENCE_GRPC_ADDR`, …).

use ocomms_runtime::config::Env;
use ocomms_runtime::service::ServiceConfig;

#[derive(Debug, Clone)]
pub struct Config {
    pub common: ServiceConfig,
    /// `PRESENCE_TTL_SECS`: a status not refreshed for this long reads as
    /// offline (default 300; clients refresh with `presence:setActive`).
    pub ttl_secs: u64,
}

impl Config {
    pub fn from_env(env: &mut Env) -> Self {
        Self { common: ServiceConfig::from_env(env, "presence"), ttl_secs: env.parse("PRESENCE_TTL_SECS", 300) }
    }
}
