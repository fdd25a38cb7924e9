#!/usr/bin/env bash
# The send-path load benchmark (docs/benchmarks.md): starts `ocomms up` (a
# release binary) on fresh databases, then runs the load generator against
# it with the CPU of `ocomms` and of PostgreSQL measured over the window.
# Extra arguments go to the load generator (--rate, --seconds, --clients,
# --channels, --warmup).
#
#   cargo build --release --bin ocomms --bin loadgen
#   bash scripts/bench-load.sh --rate 200 --seconds 20
#
# Needs PostgreSQL on 127.0.0.1:5432 (trust) and curl. Drops its databases.
set -euo pipefail
T=${CARGO_TARGET_DIR:-/var/tmp/ocomms-target}/release
BIN=${OCOMMS_BIN:-$T/ocomms}
PORT=${BENCH_PORT:-3991}
NAME="ocomms_loadbench_$$"
# shellcheck source=scripts/bench-stack.sh
. "$(dirname "$0")/bench-stack.sh"
echo "ocomms up: pid $PID, rss $(( $(rss) / 1024 )) MB idle"
"$T/loadgen" --base "$B" --pid "$PID" --pg-cpu "$@"
echo "ocomms rss after: $(( $(rss) / 1024 )) MB, peak $(( $(hwm) / 1024 )) MB"
