//! Rate limits (seed 5.5 and its appendix), checked at the edge before any
//! service is called, for REST and gRPC-web alike (`Bucket::of` knows both
//! forms of each limited call).
//!
//! | bucket | limit | key |
//! |---|---|---|
//! | sign-in | 5 / min | client address |
//! | sign-up | 3 / min | client address |
//! | password reset | 3 / min | client address |
//! | messages (REST, socket, gRPC-web) | 10 / min | account: the user, over all their sessions |
//! | typing indicators (socket) | 30 / min, then dropped silently | account |
//! | everything else | 100 / min | account when signed in, else address |
//!
//! "Account" is the user svc-auth resolves the caller's token to (through
//! the identity cache). A token that does not resolve earns nothing of its
//! own: the request counts against its client address, so that inventing
//! tokens never buys fresh allowances. The sign-in, sign-up and reset
//! buckets are keyed by address whatever the request carries.
//!
//! One gateway keeps the counters in memory (governor, GCRA); several share
//! them through Redis (a counter per key and window), so a client cannot
//! multiply its allowance by spreading over replicas. `RATE_LIMIT_ENABLED=false`
//! turns limits off (load tests); account lockout is separate and never off.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ocomms_runtime::ErrorCode;

use crate::error::ApiError;

/// A limit bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    SignIn,
    SignUp,
    PasswordReset,
    Messages,
    /// Typing indicators: over the limit they are dropped silently (seed 5.8).
    Typing,
    Upload,
    /// GDPR exports: heavy, and rarely needed.
    Export,
    Default,
}

impl Bucket {
    pub fn limit(self) -> (u32, Duration) {
        match self {
            Self::SignIn => (5, Duration::from_secs(60)),
            Self::SignUp | Self::PasswordReset => (3, Duration::from_secs(60)),
            Self::Messages => (10, Duration::from_secs(60)),
            Self::Typing => (30, Duration::from_secs(60)),
            Self::Upload => (20, Duration::from_secs(3600)),
            Self::Export => (10, Duration::from_secs(3600)),
            Self::Default => (100, Duration::from_secs(60)),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::SignIn => "signin",
            Self::SignUp => "signup",
            Self::PasswordReset => "reset",
            Self::Messages => "msg",
            Self::Typing => "typing",
            Self::Upload => "upload",
            Self::Export => "export",
            Self::Default => "default",
        }
    }

    /// The bucket of a request: a REST route, or the gRPC(-web) method
    /// that does the same thing.
    pub fn of(method: &http::Method, path: &str) -> Self {
        if method != http::Method::POST {
            return Self::Default;
        }
        match path {
            "/api/auth/sign-in/email" | "/ocomms.auth.v1.AuthService/SignIn" => Self::SignIn,
            "/api/auth/sign-up/email" | "/ocomms.auth.v1.AuthService/SignUp" => Self::SignUp,
            "/api/auth/forget-password"
            | "/api/auth/reset-password"
            | "/ocomms.auth.v1.AuthService/ForgetPassword"
            | "/ocomms.auth.v1.AuthService/ResetPassword" => Self::PasswordReset,
            // A scheduled message is a message sent later: same allowance.
            "/ocomms.messaging.v1.MessagingService/SendMessage"
            | "/api/scheduled-messages"
            | "/ocomms.scheduler.v1.SchedulerService/CreateScheduledMessage" => Self::Messages,
            "/api/upload/attachment" | "/api/upload/avatar" | "/api/upload/emoji" | "/ocomms.files.v1.FilesService/Upload" => Self::Upload,
            "/api/admin/export"
            | "/ocomms.auth.v1.AuthService/ExportUser"
            | "/ocomms.messaging.v1.MessagingService/ExportMessages"
            | "/ocomms.files.v1.FilesService/ExportFiles"
            | "/ocomms.notify.v1.NotifyService/ExportSettings"
            | "/ocomms.scheduler.v1.SchedulerService/ExportScheduling" => Self::Export,
            p if p.ends_with("/messages") && (p.starts_with("/api/channels/") || p.starts_with("/api/conversations/")) => Self::Messages,
            _ => Self::Default,
        }
    }

    /// Whether a signed-in caller spends their account's allowance here
    /// (else the client address's, always).
    pub fn per_account(self) -> bool {
        matches!(self, Self::Messages | Self::Typing | Self::Upload | Self::Export | Self::Default)
    }
}

/// The key of a signed-in user's allowances: the same for every session and
/// socket of theirs.
pub fn user_key(user: ocomms_runtime::ids::UserId) -> String {
    format!("user:{user}")
}

/// The key of a client address's allowances.
pub fn addr_key(ip: &str) -> String {
    format!("addr:{ip}")
}

enum Store {
    Off,
    Local(Vec<(Bucket, Arc<DefaultKeyedRateLimiter<String>>)>),
    Redis { conn: redis::aio::ConnectionManager, prefix: String },
}

#[derive(Clone)]
pub struct Limiter {
    store: Arc<Store>,
}

const BUCKETS: [Bucket; 8] = [
    Bucket::SignIn,
    Bucket::SignUp,
    Bucket::PasswordReset,
    Bucket::Messages,
    Bucket::Typing,
    Bucket::Upload,
    Bucket::Export,
    Bucket::Default,
];

impl Limiter {
    pub fn off() -> Self {
        Self { store: Arc::new(Store::Off) }
    }

    pub fn local() -> Self {
        let limiters: Vec<_> = BUCKETS
            .iter()
            .map(|b| {
                let (n, per) = b.limit();
                let n = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
                let quota = Quota::with_period(per / n.get()).map(|q| q.allow_burst(n)).unwrap_or_else(|| Quota::per_minute(n));
                (*b, Arc::new(RateLimiter::keyed(quota)))
            })
            .collect();
        // Forget keys that have been idle, so memory stays bounded.
        let weak: Vec<_> = limiters.iter().map(|(_, l)| Arc::downgrade(l)).collect();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(60)).await;
                let mut alive = false;
                for l in weak.iter().filter_map(std::sync::Weak::upgrade) {
                    l.retain_recent();
                    l.shrink_to_fit();
                    alive = true;
                }
                if !alive {
                    return;
                }
            }
        });
        Self { store: Arc::new(Store::Local(limiters)) }
    }

    pub fn redis(conn: redis::aio::ConnectionManager, prefix: &str) -> Self {
        Self { store: Arc::new(Store::Redis { conn, prefix: prefix.to_owned() }) }
    }

    /// Limits are turned off (`RATE_LIMIT_ENABLED=false`): no need to work
    /// out whose allowance a request spends.
    pub fn is_off(&self) -> bool {
        matches!(*self.store, Store::Off)
    }

    /// Ok, or RATE_LIMIT_EXCEEDED with `retryAfter` (seconds).
    pub async fn check(&self, bucket: Bucket, key: &str) -> Result<(), ApiError> {
        let retry = match &*self.store {
            Store::Off => None,
            Store::Local(list) => {
                let Some((_, l)) = list.iter().find(|(b, _)| *b == bucket) else { return Ok(()) };
                l.check_key(&key.to_owned()).err().map(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
            }
            Store::Redis { conn, prefix } => {
                let (limit, window) = bucket.limit();
                let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
                let slot = now.as_secs() / window.as_secs();
                let redis_key = format!("{prefix}:rl:{}:{key}:{slot}", bucket.name());
                let mut c = conn.clone();
                let counted: redis::RedisResult<(i64,)> = redis::pipe()
                    .atomic()
                    .cmd("INCR")
                    .arg(&redis_key)
                    .cmd("EXPIRE")
                    .arg(&redis_key)
                    .arg(window.as_secs() * 2)
                    .ignore()
                    .query_async(&mut c)
                    .await;
                match counted {
                    Ok((n,)) if n > i64::from(limit) => Some(Duration::from_secs((slot + 1) * window.as_secs()) - now),
                    Ok(_) => None,
                    // Redis down: do not turn an outage into a lockout of everyone.
                    Err(e) => {
                        tracing::warn!(error = %e, "rate limit store unavailable; allowing");
                        None
                    }
                }
            }
        };
        match retry {
            None => Ok(()),
            Some(wait) => {
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                Err(ApiError::new(ErrorCode::RateLimited, "Too many requests. Please try again later.")
                    .with_details(serde_json::json!({ "retryAfter": secs.max(1) })))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_follow_the_seed_table() {
        let post = http::Method::POST;
        assert_eq!(Bucket::of(&post, "/api/auth/sign-in/email"), Bucket::SignIn);
        assert_eq!(Bucket::of(&post, "/api/auth/sign-up/email"), Bucket::SignUp);
        assert_eq!(Bucket::of(&post, "/api/channels/x/messages"), Bucket::Messages);
        assert_eq!(Bucket::of(&post, "/api/conversations/x/messages"), Bucket::Messages);
        assert_eq!(Bucket::of(&http::Method::GET, "/api/channels/x/messages"), Bucket::Default);
        assert_eq!(Bucket::SignIn.limit().0, 5);
        // gRPC-web calls spend the same allowances as their REST routes.
        assert_eq!(Bucket::of(&post, "/ocomms.auth.v1.AuthService/SignIn"), Bucket::SignIn);
        assert_eq!(Bucket::of(&post, "/ocomms.auth.v1.AuthService/SignUp"), Bucket::SignUp);
        assert_eq!(Bucket::of(&post, "/ocomms.auth.v1.AuthService/ForgetPassword"), Bucket::PasswordReset);
        assert_eq!(Bucket::of(&post, "/ocomms.auth.v1.AuthService/ResetPassword"), Bucket::PasswordReset);
        assert_eq!(Bucket::of(&post, "/ocomms.messaging.v1.MessagingService/SendMessage"), Bucket::Messages);
        assert_eq!(Bucket::of(&post, "/ocomms.auth.v1.AuthService/GetSession"), Bucket::Default);
        assert!(!Bucket::SignIn.per_account() && Bucket::Messages.per_account());
        assert_ne!(user_key(ocomms_runtime::ids::UserId::new()), addr_key("127.0.0.1"));
    }

    #[tokio::test]
    async fn local_limits_allow_the_quota_then_refuse_with_a_retry_time() {
        let l = Limiter::local();
        for _ in 0..3 {
            l.check(Bucket::SignUp, "1.2.3.4").await.expect("within quota");
        }
        let e = l.check(Bucket::SignUp, "1.2.3.4").await.expect_err("fourth in a minute");
        assert_eq!(e.code, ErrorCode::RateLimited);
        let retry = e.details.expect("details")["retryAfter"].as_u64().expect("secs");
        assert!((1..=60).contains(&retry), "{retry}");
        l.check(Bucket::SignUp, "5.6.7.8").await.expect("another address has its own allowance");
    }
}
