//! svc-notify configuration: the shared variables of `ocomms_runtime::service`
//! (`NOTIFY_DATABASE_URL`, `NOTIFY_GRPC_ADDR`, …) and its own.

use ocomms_runtime::config::Env;
use ocomms_runtime::service::ServiceConfig;

#[derive(Debug, Clone)]
pub struct Config {
    pub common: ServiceConfig,
    /// `SMTP_HOST`: when unset, emails are logged instead of sent.
    pub smtp_host: Option<String>,
    /// `VAPID_PUBLIC_KEY`: when unset, web push is off.
    pub vapid_public_key: Option<String>,
    /// `MESSAGING_GRPC_URL`: svc-messaging, asked whether the caller can see a channel.
    pub messaging_url: String,
}

impl Config {
    pub fn from_env(env: &mut Env) -> Self {
        Self {
            common: ServiceConfig::from_env(env, "notify"),
            smtp_host: env.opt_string("SMTP_HOST"),
            vapid_public_key: env.opt_string("VAPID_PUBLIC_KEY"),
            messaging_url: env.string("MESSAGING_GRPC_URL", "http://127.0.0.1:50052"),
        }
    }
}
