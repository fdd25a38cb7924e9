//! Times as the protos carry them: RFC 3339 UTC strings, millisecond precision.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::ServiceError;

pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn opt_rfc3339(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(rfc3339)
}

/// Parses a client-supplied time; a malformed one is a validation error
/// naming `field`.
pub fn parse(field: &str, s: &str) -> Result<DateTime<Utc>, ServiceError> {
    DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| ServiceError::validation(field, "must be an RFC 3339 time, e.g. 2026-01-31T09:00:00Z"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let t = parse("at", "2026-03-01T10:20:30.123+02:00").expect("valid");
        assert_eq!(rfc3339(t), "2026-03-01T08:20:30.123Z");
        assert!(parse("at", "yesterday").is_err());
    }
}
