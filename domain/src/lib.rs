//! What several OComms services share of the domain, so that none of them
//! copies it and the runtime (mechanisms only) need not know it:
//!
//! - [`ids`]: the ids of places other services refer to (a channel, a
//!   conversation, a message), owned by svc-messaging;
//! - [`membership`]: workspace roles, a member's membership as svc-auth
//!   states it, and the rules every service applies to it (who is an admin,
//!   a guest's channels, a locked guest, who may export whose data);
//! - [`mention`]: why someone is told of a message (`MentionKind`), the
//!   vocabulary svc-messaging's `message.mentioned` job shares with
//!   svc-notify.
//!
//! Each service keeps its own entities' ids and rules in its `domain.rs`.

pub mod ids;
pub mod membership;
pub mod mention;

pub use ids::{ChannelId, ConversationId, FileId, MessageId};
pub use membership::{Membership, Role};
pub use mention::MentionKind;
