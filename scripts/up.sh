#!/usr/bin/env bash
# Runs the whole system: PostgreSQL (and Redis, RabbitMQ) started if needed,
# then `ocomms up` (gateway on :3000, services on :50051-50056).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
bash scripts/services.sh
use_mold
exec cargo run --release --bin ocomms -- up
