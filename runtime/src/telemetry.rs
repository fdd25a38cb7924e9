//! Tracing set-up: structured logs to stderr, plain or JSON
//! (`LOG_FORMAT=json`), filtered by `RUST_LOG` (default `info`).

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls are no-ops, so tests
/// and the launcher (which hosts every service) may call it freely.
pub fn init() {
    // lapin logs a whole returned job (its payload: message excerpts) at
    // WARN; the relay already reports it without the payload.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info"))
        .add_directive("lapin::returned_messages=error".parse().expect("a valid directive"));
    let json = std::env::var("LOG_FORMAT").map(|v| v.eq_ignore_ascii_case("json")).unwrap_or(false);
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
}

/// Tracing for tests, only when `TEST_LOG` is set.
pub fn init_for_tests() {
    if std::env::var_os("TEST_LOG").is_some() {
        init();
    }
}
