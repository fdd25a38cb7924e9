//! The `ocomms` command, built alongside the e2e tests (Cargo gives
//! integration tests the path of their own package's binaries only), so
//! that the multi-process tests run exactly what `ocomms serve` runs.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    ocomms::cli::run(std::env::args().collect()).await
}
