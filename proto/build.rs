//! Compiles `proto/ocomms/**/*.proto` with protox (no system `protoc` needed)
//! and generates tonic clients and servers plus a file descriptor set for
//! server reflection.

use std::path::PathBuf;

const PROTOS: &[&str] = &[
    "proto/ocomms/auth/v1/auth.proto",
    "proto/ocomms/messaging/v1/messaging.proto",
    "proto/ocomms/presence/v1/presence.proto",
    "proto/ocomms/files/v1/files.proto",
    "proto/ocomms/scheduler/v1/scheduler.proto",
    "proto/ocomms/notify/v1/notify.proto",
    "proto/ocomms/gateway/v1/events.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let fds = protox::compile(PROTOS, ["proto"])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let descriptor = out.join("ocomms_descriptor.bin");
    std::fs::write(&descriptor, prost::Message::encode_to_vec(&fds))?;
    tonic_prost_build::configure()
        // Messages double as the JSON bodies of the gateway's REST API:
        // camelCase, every field optional on input (services validate).
        .message_attribute(".ocomms", "#[derive(serde::Serialize, serde::Deserialize)] #[serde(rename_all = \"camelCase\", default)]")
        .compile_fds(fds)?;
    Ok(())
}
