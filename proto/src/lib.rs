//! The gRPC contracts of OComms, one package per service (`ocomms.<domain>.v1`).
//!
//! The `.proto` files under `proto/proto/ocomms/` are the source of truth;
//! this crate includes what `build.rs` generated from them, the routing keys
//! of the jobs services exchange (`<service>::v1::jobs`), the descriptor pool,
//! and [`rest`], the reader of the REST annotations (no service logic). Generated messages derive
//! serde (camelCase) because the gateway uses them as its REST JSON bodies.
//! Times travel as RFC 3339 UTC strings, ids as UUID strings.

#![allow(clippy::all, clippy::unwrap_used)]

pub mod auth {
    pub mod v1 {
        tonic::include_proto!("ocomms.auth.v1");

        /// Routing keys of svc-auth's jobs read by other services; the
        /// payload of each is the message named beside it, in its JSON form.
        pub mod jobs {
            /// [`super::MemberRemovedJob`]: someone left or was removed from a
            /// workspace; svc-messaging drops their channel memberships there.
            pub const MEMBER_REMOVED: &str = "member.removed";
        }
    }
}
pub mod messaging {
    pub mod v1 {
        tonic::include_proto!("ocomms.messaging.v1");

        /// Routing keys of svc-messaging's jobs read by other services; the
        /// payload of each is the message named beside it, in its JSON form.
        pub mod jobs {
            /// [`super::MessageDeletedJob`], consumed by svc-files.
            pub const MESSAGE_DELETED: &str = "message.deleted";
            /// [`super::MessageLinksJob`], consumed by svc-files.
            pub const MESSAGE_LINKS: &str = "message.links";
            /// [`super::MessageMentionedJob`], consumed by svc-notify.
            pub const MESSAGE_MENTIONED: &str = "message.mentioned";
        }
    }
}
pub mod presence {
    pub mod v1 {
        tonic::include_proto!("ocomms.presence.v1");
    }
}
pub mod files {
    pub mod v1 {
        tonic::include_proto!("ocomms.files.v1");

        /// Routing keys of svc-files' jobs; the payload of each is the
        /// message named beside it, in its JSON form.
        pub mod jobs {
            /// [`super::FileExpireJob`], consumed by svc-files.
            pub const EXPIRE: &str = "file.expire";
            /// [`super::FileThumbnailJob`], consumed by svc-files.
            pub const THUMBNAIL: &str = "file.thumbnail";
        }
    }
}
pub mod scheduler {
    pub mod v1 {
        tonic::include_proto!("ocomms.scheduler.v1");

        /// Routing keys of svc-scheduler's jobs; the payload of each is the
        /// message named beside it, in its JSON form.
        pub mod jobs {
            /// [`super::SendDueJob`], consumed by svc-scheduler.
            pub const SEND: &str = "scheduler.send";
            /// [`super::ReminderFiredJob`], consumed by svc-notify.
            pub const REMINDER_FIRED: &str = "reminder.fired";
            /// [`super::ScheduledFailedJob`], consumed by svc-notify.
            pub const SCHEDULED_FAILED: &str = "scheduled.failed";
        }
    }
}
pub mod notify {
    pub mod v1 {
        tonic::include_proto!("ocomms.notify.v1");

        /// Routing keys of svc-notify's jobs; the payload of each is the
        /// message named beside it, in its JSON form.
        pub mod jobs {
            /// [`super::PushJob`], consumed by svc-notify.
            pub const PUSH: &str = "notify.push";
        }
    }
}

/// Encoded `FileDescriptorSet` of every OComms proto and what they import,
/// with comments and options: for server reflection and [`descriptor_pool`].
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/ocomms_descriptor.bin"));

pub mod rest;

include!(concat!(env!("OUT_DIR"), "/http_routes.rs"));

/// Every OComms proto, with its comments and options, to read at run time
/// (the gateway's REST routes and OpenAPI document, see [`rest`]).
pub fn descriptor_pool() -> &'static prost_reflect::DescriptorPool {
    static POOL: std::sync::OnceLock<prost_reflect::DescriptorPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| prost_reflect::DescriptorPool::decode(FILE_DESCRIPTOR_SET).expect("build.rs wrote a valid descriptor set"))
}
pub mod gateway {
    pub mod v1 {
        tonic::include_proto!("ocomms.gateway.v1");
    }
}
