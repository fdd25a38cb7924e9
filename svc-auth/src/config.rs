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
    /// `MESSAGING_GRPC_URL`: svc-messaging, asked which channels exist.
    pub messaging_url: String,
    /// `PUBLIC_URL`: where users reach the product, for links in emails.
    pub public_url: String,
    /// `TWO_FACTOR_KEY`: 32 bytes, base64, encrypting TOTP secrets at rest.
    /// Without it two-factor authentication cannot be enabled.
    pub two_factor_key: Option<[u8; 32]>,
    /// `PASSWORD_HASH_THREADS`: threads hashing and checking passwords
    /// (argon2id, 19 MiB each); 0 or unset: one per available core.
    pub password_hash_threads: usize,
    /// `PASSWORD_HASH_QUEUE`: password checks that may wait for a thread
    /// (default 64); past that, sign-ins and sign-ups answer 503 with
    /// `Retry-After: 1`.
    pub password_hash_queue: usize,
}

impl Config {
    pub fn from_env(env: &mut Env) -> Self {
        let password_hash_queue = env.parse("PASSWORD_HASH_QUEUE", crate::password::DEFAULT_QUEUE);
        if password_hash_queue == 0 {
            env.invalid("PASSWORD_HASH_QUEUE", "must be at least 1");
        }
        Self {
            common: ServiceConfig::from_env(env, "auth"),
            principal_cache_secs: env.parse("PRINCIPAL_CACHE_SECS", 5),
            notify_url: env.string("NOTIFY_GRPC_URL", "http://127.0.0.1:50056"),
            messaging_url: env.string("MESSAGING_GRPC_URL", "http://127.0.0.1:50052"),
            public_url: env.string("PUBLIC_URL", "http://localhost:3000").trim_end_matches('/').to_owned(),
            two_factor_key: two_factor_key(env),
            password_hash_threads: env.parse("PASSWORD_HASH_THREADS", 0),
            password_hash_queue: password_hash_queue.max(1),
        }
    }
}

fn two_factor_key(env: &mut Env) -> Option<[u8; 32]> {
    use base64::Engine;
    let raw = env.opt_string("TWO_FACTOR_KEY")?;
    match base64::engine::general_purpose::STANDARD.decode(raw.trim()).ok().and_then(|b| <[u8; 32]>::try_from(b).ok()) {
        Some(k) => Some(k),
        None => {
            env.invalid("TWO_FACTOR_KEY", "must be 32 bytes, base64-encoded (openssl rand -base64 32)");
            None
        }
    }
}
