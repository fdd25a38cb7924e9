//! The thin runtime every OComms service shares, so that what each of them
//! needs once is written once and called (never copied):
//!
//! - [`config`]: reading configuration from the environment, reporting every
//!   bad variable at once; [`service`]: the variables every service shares
//!   and `service_main!`;
//! - [`telemetry`]: tracing setup (plain or JSON logs, OTLP traces);
//!   [`metrics`]: Prometheus;
//! - [`db`]: creating, migrating and pooling a service's own database, and
//!   per-test databases cloned from a migrated template;
//! - [`grpc`]: serving a tonic service with health and reflection, graceful
//!   shutdown, and connecting clients; `grpc_service!`, which resolves each
//!   call's caller once;
//! - [`identity`]: turning the caller's token into a [`identity::Principal`]
//!   through svc-auth, cached briefly and dropped on revocation;
//! - [`error`]: the error type services answer with, its codes, and its
//!   mapping to `tonic::Status` (and back, for the gateway);
//! - [`events`]: the real-time event bus (Redis pub/sub, or in-process);
//!   [`jobs`]: the outbox, its relay and the broker (RabbitMQ or in-process);
//! - [`ids`] and [`time`]: typed ids and RFC 3339 times as the protos carry
//!   them; [`net`]: which addresses the server may contact for a user;
//! - [`testing`]: services on port 0 with fresh databases.
//!
//! Domain logic never lives here: it belongs to its service, or to
//! `ocomms-domain` when several services share it.

pub mod config;
pub mod db;
pub mod error;
pub mod events;
pub mod grpc;
pub mod identity;
pub mod ids;
pub mod jobs;
pub mod metrics;
pub mod net;
pub mod paging;
pub mod service;
pub mod telemetry;
pub mod testing;
pub mod time;

pub use error::{ErrorCode, OrTaken, ServiceError, ServiceResult};
