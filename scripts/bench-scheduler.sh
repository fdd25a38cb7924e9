#!/usr/bin/env bash
# Benchmark: 10,000 scheduled messages due in the same minute (release build,
# real PostgreSQL and RabbitMQ); prints how late the last one is sent and
# the CPU it costs. Results go to docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/env.sh
. scripts/env.sh
bash scripts/services.sh
use_mold
SCHEDULER_BENCH_MESSAGES=${SCHEDULER_BENCH_MESSAGES:-10000} cargo test --release -p svc-scheduler --test it bench -- --nocapture 2>&1 | grep -E "BENCH|test result|panicked"
