//! Gateway configuration, from the environment.

use std::net::SocketAddr;

use ocomms_runtime::config::Env;
use ocomms_runtime::service::{REDIS_PREFIX, REDIS_URL, SERVICE_TOKEN};

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
    /// `ALLOWED_ORIGINS` (seed 6.5): comma-separated origins
    /// (`https://chat.example.com`) whose pages may open a socket
    /// authenticated by the session cookie, besides the gateway's own origin
    /// (the request's `Host`, or `PUBLIC_URL`), which is always allowed.
    /// Unset: the same origin only. Stored lowercase, without a trailing `/`.
    pub allowed_origins: Vec<String>,
    /// `SERVICE_TOKEN`: presented to svc-auth on sign-up, sign-in and
    /// password-reset requests, so that it believes the client address and
    /// user agent the gateway took from the connection. It names no user.
    pub service_token: String,
    /// `WEB_DIR`: the built web client served at `/` (default `web/dist`,
    /// relative to the working directory).
    pub web_dir: std::path::PathBuf,
    /// `EXPORT_PAGE_MESSAGES` (default 100, at most 500): messages fetched
    /// per page while an export streams (memory held per export; a page
    /// also stops at 4 MB of text).
    pub export_page_messages: u32,
}

impl Config {
    pub fn from_env(env: &mut Env) -> Self {
        let public_url = env.string("PUBLIC_URL", "http://localhost:3000").trim_end_matches('/').to_owned();
        let ws_queue_frames = env.parse("WS_QUEUE_FRAMES", 1024usize);
        if ws_queue_frames == 0 {
            env.invalid("WS_QUEUE_FRAMES", "must be at least 1");
        }
        let mut allowed_origins = Vec::new();
        for origin in env.string("ALLOWED_ORIGINS", "").split(',').map(str::trim).filter(|o| !o.is_empty()) {
            match normalize_origin(origin) {
                Some(o) => allowed_origins.push(o),
                None => env.invalid("ALLOWED_ORIGINS", format!("{origin:?} is not an origin like https://chat.example.com")),
            }
        }
        let service_token = env.string(SERVICE_TOKEN, "");
        if service_token.is_empty() {
            tracing::warn!("SERVICE_TOKEN is not set: svc-auth records the gateway's address, not the client's, on sign-ins");
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
            allowed_origins,
            service_token,
            web_dir: env.string("WEB_DIR", "web/dist").into(),
            export_page_messages: {
                let n = env.parse("EXPORT_PAGE_MESSAGES", 100u32);
                if !(1..=500).contains(&n) {
                    env.invalid("EXPORT_PAGE_MESSAGES", "must be 1 to 500");
                }
                n
            },
        }
    }
}

/// `scheme://host[:port]` in lowercase without a trailing `/`, if `origin`
/// is an http(s) origin (no path, query or credentials).
pub fn normalize_origin(origin: &str) -> Option<String> {
    let o = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    let (scheme, authority) = o.split_once("://")?;
    let ok = matches!(scheme, "http" | "https")
        && !authority.is_empty()
        && !authority.contains(['/', '?', '#', '@', ' ', ','])
        && authority.parse::<http::uri::Authority>().is_ok();
    ok.then_some(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_checked_and_normalized() {
        assert_eq!(normalize_origin("HTTPS://Chat.Example.com/").as_deref(), Some("https://chat.example.com"));
        assert_eq!(normalize_origin("http://localhost:3000").as_deref(), Some("http://localhost:3000"));
        for bad in ["*", "chat.example.com", "ftp://x", "https://", "https://x/path", "https://u@x"] {
            assert_eq!(normalize_origin(bad), None, "{bad}");
        }
        let mut env = Env::from_map([("ALLOWED_ORIGINS".to_owned(), "https://a.example, nope".to_owned())].into());
        let c = Config::from_env(&mut env);
        assert_eq!(c.allowed_origins, ["https://a.example"]);
        assert!(env.finish().is_err(), "the bad entry is reported");
    }
}
