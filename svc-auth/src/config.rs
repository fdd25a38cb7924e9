//! svc-auth configuration (see `ocomms_runtime::service` for the shared
//! variables: `DATABASE_URL`, `AUTH_DATABASE_URL`, `AUTH_GRPC_ADDR`, …).

use ocomms_runtime::config::Env;
use ocomms_runtime::service::ServiceConfig;

#[derive(Debug, Clone)]
pub struct Config {
    pub common: ServiceConfig,
    /// `PRINCIPAL_CACHE_SECS`: how long other services may cache a resolved
    /// token (default 5). Revocations reach them at once over the bus.
    pub principal_cache_secs: u32,
}

impl Config {
    pub fn from_env(env: &mut Env) -> Self {
        Self { common: ServiceConfig::from_env(env, "auth"), principal_cache_secs: env.parse("PRINCIPAL_CACHE_SECS", 5) }
    }
}
