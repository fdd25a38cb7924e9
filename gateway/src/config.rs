//! Gateway configuration, from the environment.

use std::net::SocketAddr;

use ocomms_runtime::config::Env;
use ocomms_runtime::service::{REDIS_PREFIX, REDIS_URL};

/// Where each service answers gRPC.
#[derive(Debug, Clone)]
pub struct ServiceUrls {
    pub auth: String,
    pub messaging: String,
    pub presence: String,
    pub files: String,
    pub scheduler: String,
    pub notify: String,
}

impl ServiceUrls {
    /// `<SERVICE>_GRPC_URL`, default `http://127.0.0.1:<default port>`.
    pub fn from_env(env: &mut Env) -> Self {
        let url = |env: &mut Env, name: &str| {
            let var = format!("{}_GRPC_URL", name.to_ascii_uppercase());
            let url = env.string(&var, &format!("http://127.0.0.1:{}", ocomms_runtime::service::default_port(name)));
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                env.invalid(&var, "must start with http:// or https://");
            }
            url
        };
        Self {
            auth: url(env, "auth"),
            messaging: url(env, "messaging"),
            presence: url(env, "presence"),
            files: url(env, "files"),
            scheduler: url(env, "scheduler"),
            notify: url(env, "notify"),
        }
    }

    pub fn all(&self) -> [(&'static str, &str); 6] {
        [
            ("auth", &self.auth),
            ("messaging", &self.messaging),
            ("presence", &self.presence),
            ("files", &self.files),
            ("scheduler", &self.scheduler),
            ("notify", &self.notify),
        ]
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    /// `GATEWAY_ADDR`: where REST and WebSocket listen (default `127.0.0.1:3000`).
    pub listen: SocketAddr,
    pub services: ServiceUrls,
    /// `PUBLIC_URL`: the URL users reach the gateway at, for invite links
    /// (default `http://localhost:3000`).
    pub public_url: String,
    /// `COOKIE_SECURE`: mark the session cookie `Secure` (behind TLS).
    pub cookie_secure: bool,
    /// `TRUST_PROXY`: take the client address from `X-Forwarded-For`.
    pub trust_proxy: bool,
    /// `REDIS_URL` / `REDIS_PREFIX`: the event bus (see `ocomms_runtime::events`).
    pub redis_url: Option<String>,
    pub redis_prefix: String,
    /// `WS_QUEUE_FRAMES`: frames queued per socket before it is closed as too
    /// slow (it then reconnects and resumes; default 1024).
    pub ws_queue_frames: usize,
    /// `RATE_LIMIT_ENABLED` (seed 6.5, default true): the seed's rate limits.
    pub rate_limit_enabled: bool,
}

impl Config {
    pub fn from_env(env: &mut Env) -> Self {
        let public_url = env.string("PUBLIC_URL", "http://localhost:3000").trim_end_matches('/').to_owned();
        let ws_queue_frames = env.parse("WS_QUEUE_FRAMES", 1024usize);
        if ws_queue_frames == 0 {
            env.invalid("WS_QUEUE_FRAMES", "must be at least 1");
        }
        Self {
            listen: env.parse("GATEWAY_ADDR", SocketAddr::from(([127, 0, 0, 1], 3000))),
            services: ServiceUrls::from_env(env),
            public_url,
            cookie_secure: env.flag("COOKIE_SECURE", false),
            trust_proxy: env.flag("TRUST_PROXY", false),
            redis_url: env.opt_string(REDIS_URL),
            redis_prefix: env.string(REDIS_PREFIX, "ocomms"),
            ws_queue_frames,
            rate_limit_enabled: env.flag("RATE_LIMIT_ENABLED", true),
        }
    }
}
