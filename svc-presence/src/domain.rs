//! Presence rules without IO.

use chrono::{DateTime, Utc};
use ocomms_runtime::{ServiceError, ServiceResult};

/// Users asked about in one call, at most.
pub const MAX_USERS_PER_ASK: usize = 500;

/// What a member says of themselves (seed 3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Active,
    Away,
    Offline,
}

impl Status {
    pub fn parse(s: &str) -> ServiceResult<Self> {
        match s.trim() {
            "active" => Ok(Self::Active),
            "away" => Ok(Self::Away),
            "offline" => Ok(Self::Offline),
            _ => Err(ServiceError::validation("status", "must be active, away or offline")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Away => "away",
            Self::Offline => "offline",
        }
    }
}

/// A user's presence: their live status while it lasts; once it expired
/// (they closed every client), offline, since the last status they set.
pub fn presence_of(live: Option<(Status, DateTime<Utc>)>, last_seen: Option<DateTime<Utc>>) -> (Status, Option<DateTime<Utc>>) {
    match live {
        Some((status, at)) => (status, Some(at)),
        None => (Status::Offline, last_seen),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_what_is_shown_once_live_presence_expires() {
        for s in [Status::Active, Status::Away, Status::Offline] {
            assert_eq!(Status::parse(s.as_str()).expect("valid"), s);
        }
        assert!(Status::parse("busy").is_err());
        let (then, now) = (Utc::now() - chrono::Duration::hours(1), Utc::now());
        assert_eq!(presence_of(Some((Status::Away, now)), Some(then)), (Status::Away, Some(now)));
        assert_eq!(presence_of(None, Some(then)), (Status::Offline, Some(then)));
        assert_eq!(presence_of(None, None), (Status::Offline, None));
    }
}
