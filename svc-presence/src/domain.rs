//! Presence rules without IO.

use chrono::{DateTime, Utc};
use ocomms_runtime::{ServiceError, ServiceResult};

/// Users asked about in one call, at most.
pub const MAX_USERS_PER_ASK: usize = 500;

ocomms_runtime::text_enum!(
    /// What a member says of themselves (seed 3.4).
    Status { Active = "active", Away = "away", Offline = "offline" }
);

impl Status {
    /// A status from a request, or 400.
    pub fn from_request(s: &str) -> ServiceResult<Self> {
        Self::parse(s.trim()).ok_or_else(|| ServiceError::validation("status", "must be active, away or offline"))
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
        for s in Status::ALL {
            assert_eq!(Status::from_request(&format!(" {s} ")).expect("valid"), *s);
        }
        assert!(Status::from_request("busy").is_err());
        let (then, now) = (Utc::now() - chrono::Duration::hours(1), Utc::now());
        assert_eq!(presence_of(Some((Status::Away, now)), Some(then)), (Status::Away, Some(now)));
        assert_eq!(presence_of(None, Some(then)), (Status::Offline, Some(then)));
        assert_eq!(presence_of(None, None), (Status::Offline, None));
    }
}
