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
export STORAGE_QUOTA_BYTES=$((2 * 1024 * 1024 * 1024))
# shellcheck source=scripts/bench-stack.sh
. "$(dirname "$0")/bench-stack.sh"
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
