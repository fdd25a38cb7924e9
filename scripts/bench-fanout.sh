#!/usr/bin/env bash
# Fan-out to one channel of N online members, and RSS per idle socket
# (docs/benchmarks.md): starts `ocomms up` (a release binary) on fresh
# databases and runs e2e's fanoutbench against it. Extra arguments go to
# fanoutbench (--members, --extra, --messages).
#
#   cargo build --release --bin ocomms --bin fanoutbench
#   bash scripts/bench-fanout.sh --members 10000 --extra 9000
#
# Needs PostgreSQL on 127.0.0.1:5432 (trust) and curl. Drops its databases.
# Sockets are file descriptors on both ends: the open-file limit
# (`ulimit -n`) bounds --members + --extra.
set -euo pipefail
T=${CARGO_TARGET_DIR:-/var/tmp/ocomms-target}/release
BIN=${OCOMMS_BIN:-$T/ocomms}
PORT=${BENCH_PORT:-3992}
NAME="ocomms_fanoutbench_$$"
# shellcheck source=scripts/bench-stack.sh
. "$(dirname "$0")/bench-stack.sh"
"$T/fanoutbench" --base "$B" --pid "$PID" --db-prefix "$DATABASE_URL" "$@"
