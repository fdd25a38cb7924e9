//! svc-scheduler configuration: the shared variables of
//! `ocomms_runtime::service` (`SCHEDULER_DATABASE_URL`, `SCHEDULER_GRPC_ADDR`, …)
//! and its own.

use ocomms_runtime::config::Env;
use ocomms_runtime::service::ServiceConfig;

#[derive(Debug, Clone)]
pub struct Config {
    pub common: ServiceConfig,
    /// `MESSAGING_GRPC_URL`: svc-messaging, which checks places and sends
    /// scheduled messages.
    pub messaging_url: String,
    /// `FILES_GRPC_URL`: svc-files, where scheduled attachments are claimed.
    pub files_url: String,
    /// `SCHEDULER_CRASH_AT` (tests only): kill the process at this point of
    /// the engine (`claimed`, `sent`, `marked`), to prove exactly-once.
    pub crash_at: Option<String>,
}

impl Config {
    pub fn from_env(env: &mut Env) -> Self {
        Self {
            common: ServiceConfig::from_env(env, "scheduler"),
            messaging_url: env.string("MESSAGING_GRPC_URL", "http://127.0.0.1:50052"),
            files_url: env.string("FILES_GRPC_URL", "http://127.0.0.1:50054"),
            crash_at: env.opt_string("SCHEDULER_CRASH_AT"),
        }
    }
}
