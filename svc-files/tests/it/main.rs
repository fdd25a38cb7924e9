//! svc-files against real PostgreSQL, RabbitMQ, svc-auth and svc-messaging,
//! storing in a local directory and in an S3-compatible server that checks
//! signatures (s3s-fs, started by the tests).

mod helpers;
mod storage;
mod uploads;
