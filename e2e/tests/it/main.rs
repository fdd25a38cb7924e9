//! End-to-end: the whole stack on free ports (fresh databases), driven
//! through the gateway with real HTTP and WebSocket clients, and through
//! each service's gRPC port.

mod auth;
mod auth_attacks;
mod changes;
mod contract;
mod edge_attacks;
mod emails;
mod errors;
mod export;
mod fanout;
mod files;
mod guests;
mod journey;
mod limits;
mod membership;
mod messaging;
mod notifications;
mod ops;
mod overload;
mod people;
mod previews;
mod scheduling;
mod stream;
mod support;
mod topology;
mod traces;
mod web_client;
