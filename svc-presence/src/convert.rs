//! Presence as the protos carry it.

use chrono::{DateTime, Utc};
use ocomms_proto::presence::v1 as pb;
use ocomms_runtime::ids::UserId;
use ocomms_runtime::time::opt_rfc3339;

use crate::domain::Status;

pub fn presence(user: UserId, status: Status, at: Option<DateTime<Utc>>) -> pb::Presence {
    pb::Presence { user_id: user.to_string(), status: status.as_str().to_owned(), updated_at: opt_rfc3339(at) }
}
