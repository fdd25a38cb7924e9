//! svc-notify's rules without IO: request values checked once, at the edge.

use ocomms_runtime::{ServiceError, ServiceResult};

ocomms_runtime::typed_id! {
    /// A notification in someone's bell.
    NotificationId;
    /// A browser's Web Push subscription.
    PushSubscriptionId;
}

ocomms_runtime::text_enum!(
    /// How much of a channel reaches a user (`channel_notification_settings.level`).
    Level { All = "all", Mentions = "mentions", None = "none" }
);

impl Level {
    /// A level from a request, or 400.
    pub fn from_request(s: &str) -> ServiceResult<Self> {
        Self::parse(s).ok_or_else(|| ServiceError::validation("level", "must be all, mentions or none"))
    }
}

ocomms_runtime::text_enum!(
    /// What a notification is about (`notifications.type`).
    NotificationKind {
        Mention = "mention",
        Channel = "channel",
        Here = "here",
        ThreadReply = "thread_reply",
        Dm = "dm",
        Reminder = "reminder",
        ScheduledFailed = "scheduled_failed",
    }
);

impl NotificationKind {
    /// The kinds that are also emailed (the digest of unread mentions and
    /// DMs).
    pub const EMAILED: [Self; 2] = [Self::Mention, Self::Dm];

    pub fn emailed(self) -> bool {
        Self::EMAILED.contains(&self)
    }
}

impl From<ocomms_domain::MentionKind> for NotificationKind {
    /// How a message reached someone, as their notification says it (a
    /// group's mention is a mention).
    fn from(k: ocomms_domain::MentionKind) -> Self {
        use ocomms_domain::MentionKind as M;
        match k {
            M::Mention | M::Group => Self::Mention,
            M::Here => Self::Here,
            M::Channel => Self::Channel,
            M::ThreadReply => Self::ThreadReply,
            M::Dm => Self::Dm,
        }
    }
}

/// A page of notifications: 50 by default, at most 200.
pub const PAGE: ocomms_runtime::paging::PageSize = ocomms_runtime::paging::PageSize::new(50, 200);

/// The email digest interval: 0 (off) to 1440 minutes.
pub fn digest_minutes(minutes: Option<u32>) -> ServiceResult<u32> {
    match minutes {
        None => Err(ServiceError::validation("digestMinutes", "required")),
        Some(m) if m > 1440 => Err(ServiceError::validation("digestMinutes", "must be 0 (off) to 1440")),
        Some(m) => Ok(m),
    }
}

/// A browser's push keys (`PushSubscription.toJSON().keys`): a P-256 point
/// and a 16-byte secret, base64url.
pub fn check_push_keys(p256dh: &str, auth: &str) -> ServiceResult<()> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let point = b64.decode(p256dh.trim_end_matches('=')).unwrap_or_default();
    if web_push_native::p256::PublicKey::from_sec1_bytes(&point).is_err() {
        return Err(ServiceError::validation("subscription.keys.p256dh", "must be a P-256 public key, base64url"));
    }
    if b64.decode(auth.trim_end_matches('=')).map(|a| a.len()).unwrap_or_default() != 16 {
        return Err(ServiceError::validation("subscription.keys.auth", "must be 16 bytes, base64url"));
    }
    Ok(())
}

/// An endpoint to unsubscribe: given, at most 2048 characters; answered
/// with the form it is stored in too (as the URL parser writes it).
pub fn unsubscribe_endpoint(endpoint: &str) -> ServiceResult<[String; 2]> {
    if endpoint.is_empty() || endpoint.len() > 2048 {
        return Err(ServiceError::validation("endpoint", "required, at most 2048 characters"));
    }
    let normalized = url::Url::parse(endpoint).map(|u| u.to_string()).unwrap_or_else(|_| endpoint.to_owned());
    Ok([endpoint.to_owned(), normalized])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_checked_at_the_edge() {
        assert!(digest_minutes(None).is_err());
        assert_eq!(digest_minutes(Some(0)).expect("off"), 0);
        assert!(digest_minutes(Some(1441)).is_err());
        for l in ["all", "mentions", "none"] {
            assert_eq!(Level::from_request(l).expect("level").as_str(), l);
        }
        assert!(Level::from_request("loud").is_err());
        assert!(check_push_keys("nope", "nope").is_err());
        assert!(unsubscribe_endpoint("").is_err());
        assert_eq!(unsubscribe_endpoint("https://push.example.com/a b").expect("ok")[1], "https://push.example.com/a%20b");
    }

    #[test]
    fn notification_kinds_from_mentions_and_what_is_emailed() {
        use ocomms_domain::MentionKind;
        assert_eq!(NotificationKind::from(MentionKind::Group), NotificationKind::Mention);
        assert_eq!(NotificationKind::from(MentionKind::Dm), NotificationKind::Dm);
        let emailed: Vec<_> = NotificationKind::ALL.iter().filter(|k| k.emailed()).collect();
        assert_eq!(emailed, [&NotificationKind::Mention, &NotificationKind::Dm]);
    }
}
