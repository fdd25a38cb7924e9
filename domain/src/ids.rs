//! Ids several services refer to: the places svc-messaging owns, which
//! svc-files (attachments), svc-scheduler (scheduled messages, reminders)
//! and svc-notify (notification settings) refer to; and svc-files' files,
//! which scheduled messages carry.

ocomms_runtime::typed_id! {
    /// A channel (svc-messaging).
    ChannelId;
    /// A DM or group DM (svc-messaging).
    ConversationId;
    /// A message (svc-messaging).
    MessageId;
    /// An uploaded file (svc-files), which messages and scheduled messages
    /// carry as attachments.
    FileId;
}
