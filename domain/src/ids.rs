//! Ids of the places svc-messaging owns, which svc-files (attachments),
//! svc-scheduler (scheduled messages, reminders) and svc-notify
//! (notification settings) refer to.

ocomms_runtime::typed_id! {
    /// A channel (svc-messaging).
    ChannelId;
    /// A DM or group DM (svc-messaging).
    ConversationId;
    /// A message (svc-messaging).
    MessageId;
}
