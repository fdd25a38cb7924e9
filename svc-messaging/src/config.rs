//! svc-messaging configuration: the shared variables of
//! `ocomms_runtime::service` (`MESSAGING_DATABASE_URL`, `MESSAGING_GRPC_ADDR`,
//! `AUTH_GRPC_URL`, …).

use ocomms_runtime::config::Env;
use ocomms_runtime::service::ServiceConfig;

#[derive(Debug, Clone)]
pub struct Config {
    pub common: ServiceConfig,
    /// `MEMBERSHIP_CACHE_SECS`: how long a positive workspace-membership
    /// answer from svc-auth is reused (default 5; 0 disables).
    pub membership_cache_secs: u64,
    /// `PRESENCE_GRPC_URL`: svc-presence, asked who is active for `@here`.
    pub presence_url: String,
    /// `FILES_GRPC_URL`: svc-files, which attachments are claimed from.
    pub files_url: String,
}

impl Config {
    pub fn from_env(env: &mut Env) -> Self {
        Self {
            common: ServiceConfig::from_env(env, "messaging"),
            membership_cache_secs: env.parse("MEMBERSHIP_CACHE_SECS", 5),
            presence_url: env.string("PRESENCE_GRPC_URL", "http://127.0.0.1:50053"),
            files_url: env.string("FILES_GRPC_URL", "http://127.0.0.1:50054"),
        }
    }
}
