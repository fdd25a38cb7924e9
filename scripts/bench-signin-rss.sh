#!/usr/bin/env bash
# Memory under a burst of sign-ins: starts `ocomms up` (a release binary) on
# fresh databases, signs N users up, sends N sign-ins at once (one per
# account), and prints the process's RSS before and after and the answers
# by status.
#
#   bash scripts/bench-signin-rss.sh [path/to/ocomms] [N]
#
# Needs PostgreSQL on 127.0.0.1:5432 (trust) and curl. Drops its databases.
set -euo pipefail
BIN=${1:-${CARGO_TARGET_DIR:-/var/tmp/ocomms-target}/release/ocomms}
N=${2:-200}
PORT=${BENCH_PORT:-3990}
NAME="ocomms_rssbench_$$"
# shellcheck source=scripts/bench-stack.sh
. "$(dirname "$0")/bench-stack.sh"
echo "idle: rss $(( $(rss) / 1024 )) MB"
# N accounts, signed up a few at a time.
seq "$N" | xargs -P 4 -I{} curl -sf -o /dev/null -XPOST "$B/api/auth/sign-up/email" -H 'content-type: application/json' \
  -d '{"email":"bench{}@example.com","password":"correct horse battery","name":"Bench {}"}'
echo "after $N sign-ups (4 at a time): rss $(( $(rss) / 1024 )) MB"
start=$(date +%s.%N)
# Then N sign-ins at once, one per account.
seq "$N" | xargs -P "$N" -I{} curl -s -o /dev/null -w '%{http_code}\n' -XPOST "$B/api/auth/sign-in/email" \
  -H 'content-type: application/json' -d '{"email":"bench{}@example.com","password":"correct horse battery"}' \
  | sort | uniq -c | sed 's/^/  answers: /'
end=$(date +%s.%N)
echo "$N concurrent sign-ins took $(echo "$end - $start" | bc) s"
echo "after: rss $(( $(rss) / 1024 )) MB, peak $(( $(hwm) / 1024 )) MB"
sleep 2
echo "2 s later: rss $(( $(rss) / 1024 )) MB"
