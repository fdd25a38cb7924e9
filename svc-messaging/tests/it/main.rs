//! svc-messaging against a real PostgreSQL (a fresh database per test) and
//! a real svc-auth, through their gRPC APIs.

mod channels;
mod features;
mod helpers;
mod jobs;
mod mentions;
mod messages;
