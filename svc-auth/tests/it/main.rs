//! svc-auth against a real PostgreSQL (a fresh database per test), through
//! its real gRPC API.

mod accounts;
mod helpers;
mod two_factor;
mod workspaces;
