# shellcheck shell=bash
# Sourced by the memory benchmarks: starts `ocomms up` ($BIN, a release
# binary) on fresh databases named after $NAME, on port $PORT, with its data
# in a temporary $DATA; removes all of it on exit. Defines B (the base URL),
# PID, and rss/hwm (the process's current and peak RSS in kB).
DATA=$(mktemp -d)
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$NAME" GATEWAY_ADDR="127.0.0.1:$PORT" DATA_DIR="$DATA"
export RATE_LIMIT_ENABLED=false RUST_LOG=warn UPLOAD_DIR="$DATA/uploads"
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
