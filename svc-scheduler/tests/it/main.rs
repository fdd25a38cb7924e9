//! svc-scheduler against real PostgreSQL, RabbitMQ, svc-auth and
//! svc-messaging, through its gRPC API; the crash test runs the service's
//! own binary and kills it.

mod api;
mod bench;
mod crash;
mod engine;
mod helpers;
