//! svc-messaging's queries (diesel-async), on a pooled connection or inside
//! an open transaction alike.

pub mod channels;
pub mod conversations;
pub mod groups;
pub mod messages;
pub mod notes;
