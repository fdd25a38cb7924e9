//! Every query of svc-notify's own tables but the jobs' (`push.rs`,
//! `digest.rs` keep theirs beside the work they do). Rows are read with the
//! caller's id in the filter: someone else's notification, setting or
//! subscription does not exist for them.

pub mod notifications;
pub mod push_subscriptions;
pub mod settings;
