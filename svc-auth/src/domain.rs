//! Identity rules, free of IO: validation, the lockout algorithm (seed 5.3),
//! roles, and token generation.

use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, Utc};
use ocomms_runtime::{ServiceError, ServiceResult};

ocomms_runtime::typed_id! {
    /// An invitation to a workspace (by email or by link, a guest's too).
    InviteId;
    /// A request to join a workspace that takes requests.
    JoinRequestId;
    /// An entry of the audit log.
    AuditLogId;
}
use rand::RngCore;

pub const MIN_PASSWORD_LEN: usize = 10;
pub const MAX_PASSWORD_LEN: usize = 256;
pub const SESSION_DAYS: i64 = 30;
/// A session used within this many days of expiry is extended (sliding).
pub const SESSION_RENEW_DAYS: i64 = 15;
pub const INVITE_DAYS: i64 = 7;
/// Audit log entries: 100 by default, at most 500.
pub const AUDIT_PAGE: ocomms_runtime::paging::PageSize = ocomms_runtime::paging::PageSize::new(100, 500);

/// Seed 5.3: 5 failures lock the account. Attempts are counted before the
/// password is checked (`store::users::reserve_attempt`), so at most this
/// many are ever checked before the lock, however many arrive at once.
pub const MAX_FAILED_ATTEMPTS: i32 = 5;
/// An attempt counted but never answered (the process died while checking
/// it) stops holding its place after this long.
pub const STALE_ATTEMPT_SECS: i32 = 60;
/// Seed 5.3: waits before verifying, by failures so far (counting the
/// attempts still being checked).
const DELAYS_MS: [u64; 5] = [0, 1000, 2000, 5000, 10_000];
/// Seed 5.3: lock durations by how many locks came before.
const LOCK_SECS: [i64; 3] = [15 * 60, 30 * 60, 60 * 60];

/// The wait before checking a password, after `failed` failures.
pub fn attempt_delay(failed: i32) -> Duration {
    let i = usize::try_from(failed.max(0)).unwrap_or(0).min(DELAYS_MS.len() - 1);
    Duration::from_millis(DELAYS_MS[i])
}

/// What a failed attempt does to the lockout state.
#[derive(Debug, PartialEq, Eq)]
pub enum FailureOutcome {
    /// Count it; not locked yet.
    Count { failed_attempts: i32 },
    /// Lock until the given time; failures reset, lock count grows.
    Lock { until: DateTime<Utc>, lockout_count: i32 },
}

pub fn on_failure(failed_attempts: i32, lockout_count: i32, now: DateTime<Utc>) -> FailureOutcome {
    let attempts = failed_attempts + 1;
    if attempts >= MAX_FAILED_ATTEMPTS {
        let i = usize::try_from(lockout_count.max(0)).unwrap_or(0).min(LOCK_SECS.len() - 1);
        FailureOutcome::Lock { until: now + chrono::Duration::seconds(LOCK_SECS[i]), lockout_count: lockout_count + 1 }
    } else {
        FailureOutcome::Count { failed_attempts: attempts }
    }
}

/// Trims and lower-cases an email after checking its shape.
pub fn normalize_email(email: &str) -> ServiceResult<String> {
    let email = email.trim();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.contains(char::is_whitespace)
                && email.matches('@').count() == 1
        });
    if !valid {
        return Err(ServiceError::validation("email", "must be a valid email address"));
    }
    Ok(email.to_lowercase())
}

/// The password policy: 10 to 256 characters, not the email.
pub fn check_password(field: &str, password: &str, email_normalized: &str) -> ServiceResult<()> {
    let len = password.chars().count();
    if len < MIN_PASSWORD_LEN {
        return Err(ServiceError::validation(field, format!("must be at least {MIN_PASSWORD_LEN} characters")));
    }
    if len > MAX_PASSWORD_LEN {
        return Err(ServiceError::validation(field, format!("must be at most {MAX_PASSWORD_LEN} characters")));
    }
    if password.trim().to_lowercase() == email_normalized {
        return Err(ServiceError::validation(field, "must not be your email address"));
    }
    Ok(())
}

/// A display name: 1 to 100 characters once trimmed.
pub fn check_name(field: &str, name: &str, max: usize) -> ServiceResult<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ServiceError::validation(field, "is required"));
    }
    if name.chars().count() > max {
        return Err(ServiceError::validation(field, format!("must be at most {max} characters")));
    }
    if name.chars().any(char::is_control) {
        return Err(ServiceError::validation(field, "must not contain control characters"));
    }
    Ok(name.to_owned())
}

/// A workspace slug: 3 to 40 of `a-z 0-9 -`, starting and ending with a
/// letter or digit.
pub fn check_slug(slug: &str) -> ServiceResult<String> {
    let s = slug.trim();
    let ok = (3..=40).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    if !ok {
        return Err(ServiceError::validation(
            "slug",
            "must be 3-40 characters of a-z, 0-9 and '-', starting and ending with a letter or digit",
        ));
    }
    Ok(s.to_owned())
}

ocomms_runtime::text_enum!(
    /// How people join a workspace (seed 2.2): by invite only, by a
    /// request an admin decides, or freely.
    JoinPolicy { Invite = "invite", Request = "request", Open = "open" }
);

ocomms_runtime::text_enum!(
    /// A join request: pending until an admin approves or rejects it.
    JoinRequestStatus { Pending = "pending", Approved = "approved", Rejected = "rejected" }
);

/// A join policy from a request (default: invite only), or 400.
pub fn check_join_policy(p: Option<&str>) -> ServiceResult<JoinPolicy> {
    match p.map(str::trim).filter(|p| !p.is_empty()) {
        None => Ok(JoinPolicy::Invite),
        Some(p) => JoinPolicy::parse(p).ok_or_else(|| ServiceError::validation("joinPolicy", "must be invite, request or open")),
    }
}

/// An invite's uses and lifetime: defaults 1 use for an email invite and
/// unlimited for a link, 168 hours; at most 1000 uses and 720 hours.
pub fn invite_limits(max_uses: Option<i32>, hours: Option<i32>, for_email: bool) -> ServiceResult<(Option<i32>, i32)> {
    let uses = match max_uses {
        None => for_email.then_some(1),
        Some(n) if (1..=1000).contains(&n) => Some(n),
        Some(_) => return Err(ServiceError::validation("maxUses", "must be between 1 and 1000")),
    };
    let hours = match hours {
        None => 24 * INVITE_DAYS as i32,
        Some(h) if (1..=720).contains(&h) => h,
        Some(_) => return Err(ServiceError::validation("expiresInHours", "must be between 1 and 720")),
    };
    Ok((uses, hours))
}

/// Workspace roles: shared with every service that asks for memberships.
pub use ocomms_domain::Role;

/// The role an invite gives: member (the default) or admin; owners are
/// made by a role change, never by an invite.
pub fn invitable_role(role: Option<&str>) -> ServiceResult<Role> {
    match role.map(str::trim).filter(|s| !s.is_empty()).map(Role::parse) {
        None => Ok(Role::Member),
        Some(Some(r @ (Role::Member | Role::Admin))) => Ok(r),
        Some(_) => Err(ServiceError::validation("role", "must be member or admin")),
    }
}

/// A random secret (256 bits, URL-safe base64): session, invite and reset
/// tokens. Only its SHA-256 is stored.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockout_follows_the_seed() {
        let now = Utc::now();
        assert_eq!(on_failure(0, 0, now), FailureOutcome::Count { failed_attempts: 1 });
        assert_eq!(on_failure(3, 0, now), FailureOutcome::Count { failed_attempts: 4 });
        let mins = |o| match o {
            FailureOutcome::Lock { until, lockout_count } => ((until - now).num_minutes(), lockout_count),
            other => panic!("expected a lock, got {other:?}"),
        };
        assert_eq!(mins(on_failure(4, 0, now)), (15, 1));
        assert_eq!(mins(on_failure(4, 1, now)), (30, 2));
        assert_eq!(mins(on_failure(4, 2, now)), (60, 3));
        assert_eq!(mins(on_failure(4, 9, now)), (60, 10));
        assert_eq!(attempt_delay(0), Duration::ZERO);
        assert_eq!(attempt_delay(2), Duration::from_secs(2));
        assert_eq!(attempt_delay(40), Duration::from_secs(10));
    }

    #[test]
    fn validates_emails_passwords_slugs() {
        assert_eq!(normalize_email("  Ann@Example.COM ").expect("valid"), "ann@example.com");
        for bad in ["", "ann", "ann@", "@x.io", "a b@x.io", "a@b", "a@@b.io"] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
        assert!(check_password("password", "short", "a@b.io").is_err());
        assert!(check_password("password", "ann@example.com", "ann@example.com").is_err());
        assert!(check_password("password", "correct horse battery", "a@b.io").is_ok());
        assert!(check_slug("acme-co").is_ok());
        for bad in ["ab", "-acme", "acme-", "Acme", "ac me", &"a".repeat(41)] {
            assert!(check_slug(bad).is_err(), "{bad}");
        }
        assert!(check_join_policy(None).is_ok());
        assert!(check_join_policy(Some("anyone")).is_err());
    }

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Owner.is_admin() && Role::Admin.is_admin() && !Role::Member.is_admin());
        assert_eq!(Role::parse("admin"), Some(Role::Admin));
        assert_eq!(invitable_role(None).expect("default"), Role::Member);
        assert_eq!(invitable_role(Some(" admin ")).expect("admin"), Role::Admin);
        assert!(invitable_role(Some("owner")).is_err(), "no invite makes an owner");
        assert!(invitable_role(Some("root")).is_err());
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn tokens_are_long_and_distinct() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
    }
}

/// Whether `actor` may give `target` (now `current`) the role `to`.
/// An optional free-text profile field: trimmed, empty clears it.
pub fn optional_text(field: &str, value: Option<&str>, max: usize) -> ServiceResult<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) if v.chars().count() > max => Err(ServiceError::validation(field, format!("must be at most {max} characters"))),
        Some(v) if v.chars().any(|c| c.is_control() && c != '\n') => {
            Err(ServiceError::validation(field, "must not contain control characters"))
        }
        Some(v) => Ok(Some(v.to_owned())),
    }
}

/// An IANA time zone name shape (`Europe/Paris`, `UTC`, `America/Argentina/Buenos_Aires`).
pub fn check_timezone(value: Option<&str>) -> ServiceResult<Option<String>> {
    let tz = optional_text("timezone", value, 64)?;
    if let Some(t) = &tz
        && !t.chars().all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c))
    {
        return Err(ServiceError::validation("timezone", "must be an IANA time zone such as Europe/Paris"));
    }
    Ok(tz)
}

/// An avatar URL: http(s) or a path on this server.
pub fn check_avatar_url(value: Option<&str>) -> ServiceResult<Option<String>> {
    let url = optional_text("avatarUrl", value, 2048)?;
    if let Some(u) = &url
        && !(u.starts_with("https://") || u.starts_with("http://") || u.starts_with('/'))
    {
        return Err(ServiceError::validation("avatarUrl", "must be an http(s) URL or a path on this server"));
    }
    Ok(url)
}

#[cfg(test)]
mod role_tests {
    use super::*;

    #[test]
    fn profile_fields() {
        assert_eq!(optional_text("title", Some("  "), 10).expect("ok"), None);
        assert!(optional_text("title", Some("x".repeat(11).as_str()), 10).is_err());
        assert!(check_timezone(Some("Europe/Paris")).is_ok());
        assert!(check_timezone(Some("Paris; DROP")).is_err());
        assert!(check_avatar_url(Some("javascript:alert(1)")).is_err());
        assert!(check_avatar_url(Some("/api/files/1")).is_ok());
    }
}
