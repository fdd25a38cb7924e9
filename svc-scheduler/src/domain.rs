//! The rules of scheduling, without IO: ids, statuses, what a valid time,
//! zone and recurrence are, and when a recurring reminder fires next.

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use ocomms_runtime::{ServiceError, ServiceResult};

ocomms_runtime::typed_id! {
    /// A scheduled message.
    ScheduledMessageId;
    /// A reminder.
    ReminderId;
}

/// How far in the past a "future" time may be (clients' clocks drift): such
/// a message is sent at once.
pub const CLOCK_SKEW: Duration = Duration::seconds(60);
/// How far ahead something may be scheduled.
pub const HORIZON: Duration = Duration::days(366);
/// Messages: the same limit as svc-messaging's.
pub const MAX_CONTENT_CHARS: usize = 40_000;
/// Scheduled messages one user may have waiting.
pub const MAX_PENDING: i64 = 1000;
/// A reminder's own text.
pub const MAX_REMINDER_TEXT_CHARS: usize = 1_000;

use ocomms_runtime::text_enum;

text_enum!(
    /// Seed 4.2: pending → processing → sent | failed; pending → cancelled.
    ScheduledStatus { Pending = "pending", Processing = "processing", Sent = "sent", Failed = "failed", Cancelled = "cancelled" }
);
text_enum!(
    /// pending → fired (or back to pending when recurring) ; snoozed → fired;
    /// any → completed | cancelled.
    ReminderStatus { Pending = "pending", Fired = "fired", Snoozed = "snoozed", Completed = "completed", Cancelled = "cancelled" }
);
text_enum!(
    /// A recurring reminder fires again a day or a week later, at the same
    /// local time.
    Recurrence { Daily = "daily", Weekly = "weekly" }
);

/// An IANA zone name (default UTC), or 400.
pub fn timezone(raw: Option<&str>) -> ServiceResult<Tz> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(Tz::UTC),
        Some(name) => name.parse::<Tz>().map_err(|_| {
            ServiceError::validation("timezone", format!("unknown time zone {name:?}: use an IANA name such as Europe/Paris"))
        }),
    }
}

/// A due time given by a client: in the future (within [`CLOCK_SKEW`]) and
/// within [`HORIZON`].
pub fn due_time(field: &str, raw: &str, now: DateTime<Utc>) -> ServiceResult<DateTime<Utc>> {
    let at = ocomms_runtime::time::parse(field, raw)?;
    if at < now - CLOCK_SKEW {
        return Err(ServiceError::validation(field, "must be in the future"));
    }
    if at > now + HORIZON {
        return Err(ServiceError::validation(field, "must be within a year"));
    }
    Ok(at)
}

/// The content of a scheduled message: within the message limit, not blank
/// unless it carries attachments.
pub fn content(raw: &str, has_attachments: bool) -> ServiceResult<String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() && !has_attachments {
        return Err(ServiceError::validation("content", "must not be empty"));
    }
    if raw.chars().count() > MAX_CONTENT_CHARS {
        return Err(ServiceError::validation("content", format!("must be at most {MAX_CONTENT_CHARS} characters")));
    }
    Ok(raw.to_owned())
}

/// A reminder's text (optional; blank is none).
pub fn reminder_text(raw: Option<&str>) -> ServiceResult<Option<String>> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        Some(t) if t.chars().count() > MAX_REMINDER_TEXT_CHARS => {
            Err(ServiceError::validation("text", format!("must be at most {MAX_REMINDER_TEXT_CHARS} characters")))
        }
        other => Ok(other.map(str::to_owned)),
    }
}

pub fn recurrence(raw: Option<&str>) -> ServiceResult<Option<Recurrence>> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(r) => Recurrence::parse(r).map(Some).ok_or_else(|| ServiceError::validation("recurrence", "must be daily or weekly")),
    }
}

/// The local time of day of `at` in `tz`: what a recurring reminder keeps.
pub fn local_time(at: DateTime<Utc>, tz: Tz) -> NaiveTime {
    at.with_timezone(&tz).time()
}

/// The instant of a local date and time in `tz`. In a daylight-saving gap
/// (02:30 on the night clocks jump from 02:00 to 03:00) it is the same
/// wall-clock time shifted past the gap; in a fold (01:30 happening twice)
/// the first one.
fn resolve_local(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => {
            // Gaps are at most a few hours: the first valid minute after.
            let mut probe = local;
            for _ in 0..(24 * 60) {
                probe += Duration::minutes(1);
                if let Some(t) = tz.from_local_datetime(&probe).earliest() {
                    return t.with_timezone(&Utc);
                }
            }
            Utc.from_utc_datetime(&local)
        }
    }
}

/// When a recurring reminder fires after `fired` (its occurrence): the next
/// day (or week) at `local` time in `tz`, strictly after `now` (an
/// occurrence missed while the service was down is skipped, not replayed).
pub fn next_occurrence(fired: DateTime<Utc>, recurrence: Recurrence, tz: Tz, local: NaiveTime, now: DateTime<Utc>) -> DateTime<Utc> {
    let step = match recurrence {
        Recurrence::Daily => 1,
        Recurrence::Weekly => 7,
    };
    let mut date: NaiveDate = fired.with_timezone(&tz).date_naive();
    loop {
        date += Duration::days(step);
        let at = resolve_local(tz, date.and_time(local));
        if at > now && at > fired {
            return at;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("time").with_timezone(&Utc)
    }

    #[test]
    fn daily_keeps_the_local_time_across_daylight_saving() {
        let paris: Tz = "Europe/Paris".parse().expect("tz");
        let nine = NaiveTime::from_hms_opt(9, 0, 0).expect("time");
        // 2026-03-29: Paris moves from UTC+1 to UTC+2.
        let before = t("2026-03-28T08:00:00Z");
        assert_eq!(local_time(before, paris), nine);
        let next = next_occurrence(before, Recurrence::Daily, paris, nine, before);
        assert_eq!(next, t("2026-03-29T07:00:00Z"), "09:00 in Paris, now UTC+2");
        // And back in October.
        let oct = t("2026-10-24T07:00:00Z");
        assert_eq!(next_occurrence(oct, Recurrence::Daily, paris, nine, oct), t("2026-10-25T08:00:00Z"));
    }

    #[test]
    fn weekly_moves_seven_local_days() {
        let ny: Tz = "America/New_York".parse().expect("tz");
        let at = t("2026-03-02T14:00:00Z"); // Monday 09:00 EST
        let local = local_time(at, ny);
        // The week DST starts (2026-03-08): still Monday 09:00, now EDT.
        assert_eq!(next_occurrence(at, Recurrence::Weekly, ny, local, at), t("2026-03-09T13:00:00Z"));
    }

    #[test]
    fn a_time_in_the_gap_moves_past_it_and_comes_back_the_next_day() {
        let paris: Tz = "Europe/Paris".parse().expect("tz");
        let half_past_two = NaiveTime::from_hms_opt(2, 30, 0).expect("time");
        let fired = t("2026-03-28T01:30:00Z"); // 02:30 on the 28th
        let gap_day = next_occurrence(fired, Recurrence::Daily, paris, half_past_two, fired);
        assert_eq!(gap_day, t("2026-03-29T01:00:00Z"), "03:00 CEST, the first minute after the gap");
        assert_eq!(next_occurrence(gap_day, Recurrence::Daily, paris, half_past_two, gap_day), t("2026-03-30T00:30:00Z"));
    }

    #[test]
    fn missed_occurrences_are_skipped() {
        let fired = t("2026-01-01T09:00:00Z");
        let now = t("2026-01-05T10:00:00Z");
        let nine = NaiveTime::from_hms_opt(9, 0, 0).expect("time");
        assert_eq!(next_occurrence(fired, Recurrence::Daily, Tz::UTC, nine, now), t("2026-01-06T09:00:00Z"));
    }

    #[test]
    fn validation() {
        let now = t("2026-06-01T12:00:00Z");
        assert!(due_time("scheduledFor", "2026-06-01T11:59:30Z", now).is_ok(), "clock skew tolerated");
        assert!(due_time("scheduledFor", "2026-06-01T11:50:00Z", now).is_err());
        assert!(due_time("scheduledFor", "2027-07-01T12:00:00Z", now).is_err());
        assert!(due_time("scheduledFor", "tomorrow", now).is_err());
        assert!(timezone(Some("Mars/Olympus")).is_err());
        assert_eq!(timezone(None).expect("utc"), Tz::UTC);
        assert!(recurrence(Some("hourly")).is_err());
        assert_eq!(recurrence(Some("weekly")).expect("ok"), Some(Recurrence::Weekly));
        assert!(content("   ", false).is_err());
        assert!(content("", true).is_ok(), "a file alone");
        assert!(content(&"x".repeat(MAX_CONTENT_CHARS + 1), false).is_err());
    }
}
