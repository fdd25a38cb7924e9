//! svc-scheduler configuration: the shared variables of
//! `ocomms_runtime::service` (`SCHEDULER_DATABASE_URL`, `SCHEDULER_GRPC_ADDR`, …).

use ocomms_runtime::config::Env;
use ocomms_runtime::service::ServiceConfig;

#[derive(Debug, Clone)]
pub struct Config {
    pub common: ServiceConfig,
}

impl Config {
    pub fn from_env(env: &mut Env) -> Self {
        Self { common: ServiceConfig::from_env(env, "scheduler") }
    }
}
