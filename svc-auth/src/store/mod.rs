//! svc-auth's queries (diesel-async). Functions take a connection so they
//! work on a pooled connection or inside an open transaction alike.

pub mod audit;
pub mod profiles;
pub mod sessions;
pub mod two_factor;
pub mod users;
pub mod workspaces;
