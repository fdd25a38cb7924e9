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
    /// `NOTIFY_GRPC_URL`: svc-notify, which delivers email.
    pub notify_url: String,
    /// `PUBLIC_URL`: where users reach the product, for links in emails.
    pub public_url: String,
}

impl Config {
    pub fn from_env(env: &mut Env) -> Self {
        Self {
            common: ServiceConfig::from_env(env, "auth"),
            principal_cache_secs: env.parse("PRINCIPAL_CACHE_SECS", 5),
            notify_url: env.string("NOTIFY_GRPC_URL", "http://127.0.0.1:50056"),
            public_url: env.string("PUBLIC_URL", "http://localhost:3000").trim_end_matches('/').to_owned(),
        }
    }
}
