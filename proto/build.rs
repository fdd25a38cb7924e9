//! Compiles `proto/ocomms/**/*.proto` with protox (no system `protoc` needed)
//! and generates tonic clients and servers, a file descriptor set (with
//! comments and options: server reflection serves it and the gateway reads
//! its REST annotations), and `http_routes!`, the typed list of the RPCs
//! the gateway forwards REST requests to (see `src/rest.rs`).

use std::fmt::Write as _;
use std::path::PathBuf;

#[path = "src/rest.rs"]
#[allow(dead_code)]
mod rest;

const PROTOS: &[&str] = &[
    "proto/ocomms/auth/v1/auth.proto",
    "proto/ocomms/messaging/v1/messaging.proto",
    "proto/ocomms/presence/v1/presence.proto",
    "proto/ocomms/files/v1/files.proto",
    "proto/ocomms/scheduler/v1/scheduler.proto",
    "proto/ocomms/notify/v1/notify.proto",
    "proto/ocomms/gateway/v1/events.proto",
];

/// `GetVapidPublicKey` → `get_vapid_public_key`, as tonic names methods.
fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    println!("cargo:rerun-if-changed=src/rest.rs");
    let mut compiler = protox::Compiler::new(["proto"])?;
    compiler.include_source_info(true).include_imports(true);
    compiler.open_files(PROTOS)?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("ocomms_descriptor.bin"), compiler.encode_file_descriptor_set())?;

    // The REST routes: checked here, so a wrong annotation fails the build.
    let pool = compiler.descriptor_pool();
    let routes = rest::routes(&pool)?;
    let mut list = String::new();
    for route in routes.iter().filter(|r| !r.options.custom) {
        let service = route.method.parent_service();
        let file = service.parent_file();
        let package = file.package_name();
        let domain = package
            .strip_prefix("ocomms.")
            .and_then(|p| p.strip_suffix(".v1"))
            .ok_or_else(|| format!("{}: not an ocomms.<domain>.v1 service", service.full_name()))?;
        let ty = |m: prost_reflect::MessageDescriptor| format!("$crate::{domain}::v1::{}", m.name());
        writeln!(
            list,
            "            ({domain}, {}, {}, {}, {:?}),",
            snake(route.method.name()),
            ty(route.method.input()),
            ty(route.method.output()),
            route.grpc_path()
        )?;
    }
    let code = format!(
        "/// Calls `$m! {{ (client, method, Request, Response, \"/grpc/path\"), … }}` with\n\
         /// every RPC that has a `google.api.http` route not marked `custom`.\n\
         #[macro_export]\nmacro_rules! http_routes {{\n    ($m:ident) => {{\n        $m! {{\n{list}        }}\n    }};\n}}\n"
    );
    std::fs::write(out.join("http_routes.rs"), code)?;

    // Rust for our own packages only (google.* come from prost-types or are
    // only options).
    let mut fds = compiler.file_descriptor_set();
    fds.file.retain(|f| f.package().starts_with("ocomms."));
    tonic_prost_build::configure()
        // Messages double as the JSON bodies of the gateway's REST API:
        // camelCase, every field optional on input (services validate).
        .message_attribute(".ocomms", "#[derive(serde::Serialize, serde::Deserialize)] #[serde(rename_all = \"camelCase\", default)]")
        .compile_fds(fds)?;
    Ok(())
}
