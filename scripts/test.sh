#!/usr/bin/env bash
# The test command: starts what the tests need, then runs every test of the
# workspace (unit, per-service integration against real PostgreSQL, e2e).
# Extra arguments go to `cargo test` (e.g. `scripts/test.sh -p svc-auth`).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/env.sh
. scripts/env.sh
bash scripts/services.sh
use_mold
# Databases left by interrupted runs (per-test copies and their templates).
psql -w -h 127.0.0.1 -U postgres -d postgres -Atqc \
  "select datname from pg_database where datname like 'ocomms\_t\_%' or datname like 'ocomms\_tpl\_%'" |
  while read -r db; do psql -w -h 127.0.0.1 -U postgres -d postgres -qc "drop database if exists \"$db\" with (force)" >/dev/null; done
if [ $# -eq 0 ]; then set -- --workspace; fi
exec cargo test "$@"
