//! svc-notify configuration: the shared variables of `ocomms_runtime::service`
//! (`NOTIFY_DATABASE_URL`, `NOTIFY_GRPC_ADDR`, …) and its own.

use ocomms_runtime::config::Env;
use ocomms_runtime::service::ServiceConfig;

/// SMTP delivery (`SMTP_HOST` set).
#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    /// `SMTP_PORT` (default 587); STARTTLS whenever the server offers it.
    pub port: u16,
    /// `SMTP_USER`, `SMTP_PASS`: credentials, when the server wants them.
    pub user: Option<String>,
    pub pass: Option<String>,
    /// `SMTP_FROM` (default `OComms <noreply@localhost>`).
    pub from: String,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub common: ServiceConfig,
    /// `SMTP_HOST`: when unset, emails are logged instead of sent.
    pub smtp_host: Option<String>,
    pub smtp: Option<SmtpConfig>,
    /// `VAPID_PUBLIC_KEY`: when unset, web push is off.
    pub vapid_public_key: Option<String>,
    /// `MESSAGING_GRPC_URL`: svc-messaging, asked whether the caller can see a channel.
    pub messaging_url: String,
}

impl Config {
    pub fn from_env(env: &mut Env) -> Self {
        let mut c = Self::read(env);
        let port = env.parse("SMTP_PORT", 587u16);
        let user = env.opt_string("SMTP_USER");
        let pass = env.opt_string("SMTP_PASS");
        let from = env.string("SMTP_FROM", "OComms <noreply@localhost>");
        if user.is_some() != pass.is_some() {
            env.invalid("SMTP_USER", "set both SMTP_USER and SMTP_PASS, or neither");
        }
        if from.parse::<lettre::message::Mailbox>().is_err() {
            env.invalid("SMTP_FROM", "must be an address, e.g. OComms <noreply@example.com>");
        }
        c.smtp = c.smtp_host.clone().map(|host| SmtpConfig { host, port, user, pass, from });
        c
    }

    fn read(env: &mut Env) -> Self {
        Self {
            common: ServiceConfig::from_env(env, "notify"),
            smtp_host: env.opt_string("SMTP_HOST"),
            smtp: None,
            vapid_public_key: env.opt_string("VAPID_PUBLIC_KEY"),
            messaging_url: env.string("MESSAGING_GRPC_URL", "http://127.0.0.1:50052"),
        }
    }
}
