#!/usr/bin/env bash
# The test command: starts what the tests need (services, the built web
# client, Chromium, schemathesis and grpcurl), then runs every test of the workspace (unit,
# per-service integration against real PostgreSQL, e2e, the web client in
# headless Chromium), the web client's own unit tests (Vitest), the
# deployment files (scripts/deploy-check.sh) and the image, built and run
# with podman (scripts/image-check.sh).
# Extra arguments go to `cargo test` (e.g. `scripts/test.sh -p svc-auth`),
# and then only those run.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/env.sh
. scripts/env.sh
bash scripts/services.sh
# The web client (built) and Chromium: for the whole suite, or the e2e tests.
if [ $# -eq 0 ] || [[ " $* " == *" ocomms-e2e "* ]] || [[ " $* " == *"--workspace"* ]]; then
  # shellcheck source=scripts/web.sh
  . scripts/web.sh
  build_web
  ensure_chromium
  # schemathesis and grpcurl for the contract tests (e2e/tests/it/contract.rs).
  # shellcheck source=scripts/api-tools.sh
  . scripts/api-tools.sh
  ensure_api_tools
fi
use_mold
# Databases left by interrupted runs (per-test copies and their templates),
# once they are three hours old (a database's age is its PG_VERSION file's):
# another test run on this machine (CI beside a local run) keeps its own.
psql -w -h 127.0.0.1 -U postgres -d postgres -Atqc \
  "select datname from pg_database
    where (datname like 'ocomms\_t\_%' or datname like 'ocomms\_tpl\_%')
      and coalesce((pg_stat_file('base/' || oid || '/PG_VERSION', true)).modification, 'epoch') < now() - interval '3 hours'" |
  while read -r db; do psql -w -h 127.0.0.1 -U postgres -d postgres -qc "drop database if exists \"$db\" with (force)" >/dev/null; done
if [ $# -gt 0 ]; then exec cargo test "$@"; fi
cargo test --workspace
npm --prefix web test --silent
# The deployment (Helm chart, k8s/, Tiltfile, Dockerfile), checked offline.
bash scripts/deploy-check.sh
# The image: built FROM scratch with the Dockerfile's runtime settings (no
# registry here), run with podman, checked to serve and to stop cleanly.
bash scripts/image-check.sh
