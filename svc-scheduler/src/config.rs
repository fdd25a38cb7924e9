//! svc-scheduler configuration: the shared variables of
//! `ocomms_runtime::service` (`SCHEDULER_DATABASE_URL`, `SCHEDULER_GRPC_ADDR`, …).

use ocomms_runtime::config::Env;
use ocomms_runtime::service::ServiceConfig;

#[derive(Debug, Clone)]
pub struct Config {
    pub common: ServiceConfig,
    /// `AMQP_URL`: RabbitMQ for due jobs (default unset: jobs run in process).
    pub amqp_url: Option<String>,
}

impl Config {
    pub fn from_env(env: &mut Env) -> Self {
        Self { common: ServiceConfig::from_env(env, "scheduler"), amqp_url: env.opt_string("AMQP_URL") }
    }
}
