#!/usr/bin/env bash
# Memory under concurrent uploads: starts `ocomms up` (a release binary) on
# fresh databases with local storage, signs one user up, uploads N files of
# 25 MB at once through the gateway (curl, multipart), and prints the
# process's RSS before, its peak, and the answers by status.
#
#   bash scripts/bench-upload-rss.sh [path/to/ocomms] [N]
#
# Needs PostgreSQL on 127.0.0.1:5432 (trust) and curl. Drops its databases
# and its upload directory.
set -euo pipefail
BIN=${1:-${CARGO_TARGET_DIR:-/var/tmp/ocomms-target}/release/ocomms}
N=${2:-10}
PORT=${BENCH_PORT:-3991}
NAME="ocomms_uploadbench_$$"
DATA=$(mktemp -d)
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$NAME" GATEWAY_ADDR="127.0.0.1:$PORT" DATA_DIR="$DATA"
export UPLOAD_DIR="$DATA/uploads" STORAGE_QUOTA_BYTES=$((2 * 1024 * 1024 * 1024)) RATE_LIMIT_ENABLED=false RUST_LOG=warn
for s in AUTH MESSAGING PRESENCE FILES SCHEDULER NOTIFY; do export "${s}_GRPC_ADDR=127.0.0.1:0"; done
"$BIN" up >"$DATA/log" 2>&1 &
PID=$!
cleanup() {
  kill "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
  for s in auth messaging presence files scheduler notify; do
    psql -h 127.0.0.1 -U postgres -d postgres -qc "drop database if exists ${NAME}_$s with (force)" >/dev/null 2>&1 || true
  done
  rm -rf "$DATA"
}
trap cleanup EXIT
B="http://127.0.0.1:$PORT"
for _ in $(seq 1 300); do curl -sf "$B/api/health" >/dev/null 2>&1 && break; sleep 0.2; done
rss() { awk '/^VmRSS/ {print $2}' "/proc/$PID/status"; }
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$PID/status"; }
TOKEN=$(curl -sf -XPOST "$B/api/auth/sign-up/email" -H 'content-type: application/json' \
  -d '{"email":"up@example.com","password":"correct horse battery","name":"Up"}' | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
# A 25 MB PDF (just under the limit).
{ printf '%%PDF-1.7\n'; head -c $((25 * 1024 * 1024 - 9)) /dev/urandom; } >"$DATA/big.pdf"
# One upload first, so that everything lazily allocated is in the baseline.
curl -sf -o /dev/null -H "authorization: Bearer $TOKEN" -F "file=@$DATA/big.pdf" "$B/api/upload/attachment"
base=$(rss)
echo "before: rss $((base / 1024)) MB (after one warm-up upload), peak so far $(( $(hwm) / 1024 )) MB"
start=$(date +%s.%N)
seq "$N" | xargs -P "$N" -I{} curl -s -o /dev/null -w '%{http_code}\n' -H "authorization: Bearer $TOKEN" \
  -F "file=@$DATA/big.pdf;filename=f{}.pdf" "$B/api/upload/attachment" | sort | uniq -c | sed 's/^/  answers: /'
end=$(date +%s.%N)
peak=$(hwm)
echo "$N concurrent 25 MB uploads took $(echo "$end - $start" | bc) s"
echo "after: rss $(( $(rss) / 1024 )) MB, peak $((peak / 1024)) MB: at most $(( (peak - base) / 1024 / N )) MB more per upload"
