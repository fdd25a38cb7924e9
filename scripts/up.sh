#!/usr/bin/env bash
# Runs the whole system: PostgreSQL (and Redis, RabbitMQ) started if needed,
# the web client built when its sources changed (scripts/web.sh), then
# `ocomms up` (gateway on :3000 serving the client at /, services on
# :50051-50056).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
bash scripts/services.sh
# shellcheck source=scripts/web.sh
. scripts/web.sh
# Without a web client the API still runs: say why, and go on.
build_web || echo "up: the web client could not be built (see above); / will say so, the API runs" >&2
use_mold
exec cargo run --release --bin ocomms -- up
