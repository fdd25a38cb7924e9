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

/// The application server's VAPID identity (RFC 8292).
#[derive(Clone)]
pub struct VapidConfig {
    /// base64url, uncompressed P-256 point (65 bytes).
    pub public_key: String,
    /// The key pair, from `VAPID_PRIVATE_KEY` (base64url, 32 bytes).
    pub key_pair: std::sync::Arc<web_push_native::jwt_simple::algorithms::ES256KeyPair>,
    /// `mailto:` address (or https URL) push services may contact.
    pub subject: String,
}

impl std::fmt::Debug for VapidConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VapidConfig").field("public_key", &self.public_key).field("subject", &self.subject).finish_non_exhaustive()
    }
}

impl VapidConfig {
    /// Checks the three variables together: the private key must be a
    /// P-256 scalar whose public key is the one given.
    pub fn parse(public: &str, private: &str, email: &str) -> Result<Self, String> {
        use base64::Engine as _;
        use web_push_native::jwt_simple::algorithms::{ECDSAP256PublicKeyLike as _, ES256KeyPair};
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let raw = b64.decode(private.trim().trim_end_matches('=')).map_err(|_| "VAPID_PRIVATE_KEY is not base64url".to_owned())?;
        let key_pair =
            ES256KeyPair::from_bytes(&raw).map_err(|_| "VAPID_PRIVATE_KEY is not a P-256 private key (32 bytes, base64url)".to_owned())?;
        let derived = b64.encode(key_pair.public_key().public_key().to_bytes_uncompressed());
        if derived != public.trim().trim_end_matches('=') {
            return Err("VAPID_PUBLIC_KEY is not the public key of VAPID_PRIVATE_KEY".to_owned());
        }
        let email = email.trim();
        let subject = if email.starts_with("mailto:") || email.starts_with("https://") {
            email.to_owned()
        } else if email.contains('@') {
            format!("mailto:{email}")
        } else {
            return Err("VAPID_EMAIL must be an email address, mailto: or https: URL".to_owned());
        };
        Ok(Self { public_key: derived, key_pair: std::sync::Arc::new(key_pair), subject })
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub common: ServiceConfig,
    /// `SMTP_HOST`: when unset, emails are logged instead of sent.
    pub smtp_host: Option<String>,
    pub smtp: Option<SmtpConfig>,
    /// `VAPID_PUBLIC_KEY`, `VAPID_PRIVATE_KEY`, `VAPID_EMAIL`: web push
    /// (all three, or none: push is off).
    pub vapid: Option<VapidConfig>,
    /// `PUSH_ALLOWED_HOSTS` (tests only): push endpoint hosts allowed over
    /// plain http and on private addresses.
    pub push_allowed_hosts: Vec<String>,
    /// `EMAIL_DIGEST_DELAY_SECS` (default 120): how long a mention or DM
    /// stays unread before it is emailed.
    pub email_digest_delay_secs: u64,
    /// `PUBLIC_URL`: where users open OComms, for links in emails.
    pub public_url: String,
    /// `PRESENCE_GRPC_URL`: svc-presence, asked whether a user is active
    /// (then no push).
    pub presence_url: String,
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
        let public = env.opt_string("VAPID_PUBLIC_KEY");
        let private = env.opt_string("VAPID_PRIVATE_KEY");
        let email = env.opt_string("VAPID_EMAIL");
        c.vapid = match (public, private, email) {
            (None, None, None) => None,
            (Some(public), Some(private), Some(email)) => match VapidConfig::parse(&public, &private, &email) {
                Ok(v) => Some(v),
                Err(e) => {
                    env.invalid("VAPID_PRIVATE_KEY", e);
                    None
                }
            },
            _ => {
                env.invalid("VAPID_PUBLIC_KEY", "set VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_EMAIL together, or none");
                None
            }
        };
        c
    }

    /// No SMTP, no push, the default service addresses (tests set what
    /// they need).
    pub fn new(common: ServiceConfig) -> Self {
        Self {
            common,
            smtp_host: None,
            smtp: None,
            vapid: None,
            push_allowed_hosts: Vec::new(),
            presence_url: "http://127.0.0.1:50053".into(),
            email_digest_delay_secs: 120,
            public_url: "http://localhost:3000".into(),
            messaging_url: "http://127.0.0.1:50052".into(),
        }
    }

    fn read(env: &mut Env) -> Self {
        Self {
            common: ServiceConfig::from_env(env, "notify"),
            smtp_host: env.opt_string("SMTP_HOST"),
            smtp: None,
            vapid: None,
            push_allowed_hosts: env
                .string("PUSH_ALLOWED_HOSTS", "")
                .split(',')
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
            presence_url: env.string("PRESENCE_GRPC_URL", "http://127.0.0.1:50053"),
            email_digest_delay_secs: env.parse("EMAIL_DIGEST_DELAY_SECS", 120u64),
            public_url: env.string("PUBLIC_URL", "http://localhost:3000").trim_end_matches('/').to_owned(),
            messaging_url: env.string("MESSAGING_GRPC_URL", "http://127.0.0.1:50052"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Env {
        Env::from_map(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect())
    }

    #[test]
    fn vapid_keys_come_together_and_must_be_one_pair() {
        let (public, private) = crate::push::generate_vapid_keys();
        let (other_public, _) = crate::push::generate_vapid_keys();
        let ok = VapidConfig::parse(&public, &private, "ops@example.com").expect("a valid pair");
        assert_eq!(ok.subject, "mailto:ops@example.com");
        assert!(VapidConfig::parse(&other_public, &private, "ops@example.com").is_err(), "another pair's public key");
        assert!(VapidConfig::parse(&public, "not base64!", "ops@example.com").is_err());
        assert!(VapidConfig::parse(&public, &private, "nobody").is_err());
        // Half set: push stays off and the start reports it.
        let mut e = env(&[("VAPID_PUBLIC_KEY", &public)]);
        assert!(Config::from_env(&mut e).vapid.is_none());
        assert!(e.finish().is_err());
        let mut e = env(&[("VAPID_PUBLIC_KEY", &public), ("VAPID_PRIVATE_KEY", &private), ("VAPID_EMAIL", "ops@example.com")]);
        assert!(Config::from_env(&mut e).vapid.is_some());
        assert!(e.finish().is_ok());
    }

    #[test]
    fn a_bad_smtp_sender_stops_the_start() {
        let mut e = env(&[("SMTP_HOST", "mail.example.com"), ("SMTP_FROM", "not an address")]);
        let _ = Config::from_env(&mut e);
        assert!(e.finish().is_err());
        let mut e = env(&[("SMTP_HOST", "mail.example.com"), ("SMTP_USER", "only-a-user")]);
        let _ = Config::from_env(&mut e);
        assert!(e.finish().is_err(), "SMTP_USER without SMTP_PASS");
    }
}
