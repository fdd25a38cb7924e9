//! `ocomms`: see `ocomms help` (and [`ocomms::cli`]).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    ocomms::cli::run(std::env::args().collect()).await
}
