//! Every read and write of svc-presence: `live` (the live statuses, in
//! Redis or process memory) and `last_seen` (its database: the last status
//! each user set).

pub mod last_seen;
pub mod live;
