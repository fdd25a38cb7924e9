#!/usr/bin/env bash
# The fresh-machine check (issue 16): the README's commands on a minimal
# Debian 12 where nothing is installed, run as root and as a user with sudo.
#
#   bash scripts/fresh-machine-check.sh          setup check (CI, a few minutes)
#   bash scripts/fresh-machine-check.sh --full   release check (adds the builds, an hour or more)
#
# Each scenario gets a fresh Debian 12 root (debootstrap minbase + sudo and
# ca-certificates: no PostgreSQL, Redis, RabbitMQ, compiler or psql), run with
# chroot in its own network, PID, mount and UTS namespaces. The network
# namespace has its own loopback, so the host's PostgreSQL, Redis and RabbitMQ
# are not seen (slirp4netns --disable-host-loopback), and outbound access to
# the package mirrors through slirp4netns, so scripts/services.sh installs the
# packages itself, as on a real machine. Nothing touches the host's services,
# network configuration or firewall; everything started inside dies with the
# PID namespace, and the mounts with the mount namespace.
#
# Setup check, two roots:
#   A  root; packages start their services when installed (init-style):
#      services.sh from nothing, again (must do nothing), then all services
#      stopped and services.sh as the sudo user (must start them), again.
#   B  a user with passwordless sudo; packages do not start services
#      (policy-rc.d, as in container images): services.sh from nothing, again.
#   After each run: psql `select 1` over 127.0.0.1 as postgres without a
#   password (and a UTF8 cluster), Redis PING, an AMQP handshake on 5672.
# --full adds root C: the user, with the host's Rust toolchain mounted
#   read-only (~/.rustup, ~/.cargo/bin; crates downloaded afresh), runs
#   `bash scripts/up.sh` from nothing (until /api/health answers 200), then
#   `bash scripts/test.sh`.
#
# Needs root (runs itself with sudo otherwise), Linux namespaces, and network
# access to deb.debian.org; installs debootstrap and slirp4netns on the host
# when missing. Caches the base root and the downloaded packages under
# /var/tmp/ocomms-fresh-machine (FRESH_CACHE). Exit 77: cannot run here.
set -euo pipefail
# shellcheck disable=SC2317 # functions called through step and the traps

FULL=0
for a in "$@"; do
  case "$a" in
    --full) FULL=1 ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: $0 [--full]" >&2; exit 2 ;;
  esac
done
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "fresh-machine-check: needs root or sudo" >&2; exit 77; }
  exec sudo -n --preserve-env=FRESH_CACHE,FRESH_MIRROR,FRESH_UP_TIMEOUT bash "$0" "$@"
fi

REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${FRESH_CACHE:-/var/tmp/ocomms-fresh-machine}
MIRROR=${FRESH_MIRROR:-http://deb.debian.org/debian}
BASE=$CACHE/bookworm-minbase-v2.tar # bump the version when the recipe changes
HOSTNAME_IN=fresh-debian
# Whose toolchain --full mounts: the user who called sudo, else root.
TC_HOME=$HOME
if [ -n "${SUDO_USER:-}" ]; then TC_HOME=$(getent passwd "$SUDO_USER" | cut -d: -f6); fi
TC_RUSTUP=${RUSTUP_HOME:-$TC_HOME/.rustup}
TC_BIN=${CARGO_HOME:-$TC_HOME/.cargo}/bin
if [ $FULL = 1 ] && { [ ! -d "$TC_RUSTUP/toolchains" ] || [ ! -x "$TC_BIN/cargo" ]; }; then
  echo "fresh-machine-check: --full mounts a rustup toolchain: none in $TC_RUSTUP and $TC_BIN" >&2
  exit 2
fi

say() { echo "fresh-machine-check: $*" >&2; }
now() { date +%s.%N; }
T0=$(now)
secs() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

mkdir -p "$CACHE/apt-archives/partial"
exec 9>"$CACHE/lock" # (closed for the long-lived children below: 9>&-)
flock -n 9 || {
  say "another check is running; waiting up to 15 minutes"
  flock -w 900 9 || { say "another check still holds the lock: cannot check now"; exit 77; }
}
WORK=$(mktemp -d "$CACHE/run.XXXXXX")
TIMINGS=$WORK/timings.tsv
: >"$TIMINGS"
NS=ocomms-fresh-$$
SLIRP=""
SESSION=""

# Host-side steps: label, command...
step() {
  local label=$1 t0 rc=0 dt
  shift
  t0=$(now)
  say "== $label"
  "$@" || rc=$?
  dt=$(secs "$t0")
  printf 'host\t%s\t%s\t%s\n' "$label" "$dt" "$([ $rc = 0 ] && echo ok || echo FAILED)" >>"$TIMINGS"
  say "-- $label: ${dt}s$([ $rc = 0 ] || echo " FAILED (exit $rc)")"
  return $rc
}

kill_rooted_in() { # every process whose root directory is under $1
  local p r left=0
  for p in /proc/[0-9]*; do
    r=$(readlink "$p/root" 2>/dev/null) || continue
    case "$r" in "$1"/*) kill -KILL "${p#/proc/}" 2>/dev/null && left=1 ;; esac
  done
  return $left
}

unmount_under() {
  if grep -qF " $1/" /proc/self/mountinfo; then
    say "unmounting leftovers under $1"
    grep -F " $1/" /proc/self/mountinfo | awk '{ print $5 }' | sort -r | xargs -r -n1 umount -l
  fi
}

cleanup() {
  local rc=$?
  set +e
  # unshare ignores SIGTERM while it waits; SIGKILL takes the namespace's
  # PID 1 with it (--kill-child), and so every process inside.
  if [ -n "$SESSION" ]; then kill -KILL "$SESSION" 2>/dev/null; wait "$SESSION" 2>/dev/null; fi
  if [ -n "$SLIRP" ]; then kill "$SLIRP" 2>/dev/null; wait "$SLIRP" 2>/dev/null; fi
  ip netns del "$NS" 2>/dev/null
  kill_rooted_in "$WORK" || { sleep 0.5; say "killed processes left in $WORK"; }
  unmount_under "$WORK"
  rm -rf --one-file-system "$WORK"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# Leftovers of a check that was killed (SIGKILL skips the trap).
for ns in $(ip netns list 2>/dev/null | awk '/^ocomms-fresh-/ { print $1 }'); do
  kill -0 "${ns#ocomms-fresh-}" 2>/dev/null && continue
  say "removing the network namespace $ns left by a killed check"
  for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
  for p in /proc/[0-9]*; do # its slirp4netns
    if tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q "^slirp4netns .*/run/netns/$ns "; then kill -KILL "${p#/proc/}" 2>/dev/null || true; fi
  done
  ip netns del "$ns" 2>/dev/null || true
done
for d in "$CACHE"/run.*; do
  [ -d "$d" ] && [ "$d" != "$WORK" ] || continue
  kill_rooted_in "$d" || sleep 0.5
  unmount_under "$d"
  rm -rf --one-file-system "$d"
done

# Host prerequisites ----------------------------------------------------------------
host_tools() {
  local missing=()
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v slirp4netns >/dev/null || missing+=(slirp4netns)
  command -v ip >/dev/null || missing+=(iproute2)
  if [ ${#missing[@]} -gt 0 ]; then
    command -v apt-get >/dev/null || { say "missing ${missing[*]} and no apt-get"; return 77; }
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq "${missing[@]}" >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; } ||
      return 1
  fi
  unshare --net --pid --fork --mount --uts true 2>/dev/null || { say "cannot create namespaces here"; return 77; }
  [ -c /dev/net/tun ] || { say "no /dev/net/tun for slirp4netns"; return 77; }
}
step "host tools (debootstrap, slirp4netns)" host_tools || exit $?

# The base root: debootstrap once, then a tarball in the cache -------------------------
build_base() {
  local b=$WORK/base
  nice -n 10 debootstrap --variant=minbase --include=sudo,ca-certificates bookworm "$b" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
    { tail -n 20 "$WORK/debootstrap.log" >&2; return 1; }
  cat >"$b/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
  # Package lists as after an installation (services.sh updates them again),
  # and dpkg without fsync, as in Debian's container images: the same
  # installs, a minute faster.
  chroot "$b" apt-get update -qq >/dev/null 2>&1 || { say "apt-get update failed in the base root"; return 1; }
  echo force-unsafe-io >"$b/etc/dpkg/dpkg.cfg.d/unsafe-io"
  rm -f "$b"/var/cache/apt/archives/*.deb "$b/etc/hostname" "$b/etc/resolv.conf"
  tar --numeric-owner -C "$b" -cf "$BASE.tmp" . && mv "$BASE.tmp" "$BASE" || return 1
  for f in "$CACHE"/bookworm-minbase-v*.tar; do [ "$f" = "$BASE" ] || rm -f "$f"; done
  rm -rf --one-file-system "$b"
}
# Rebuilt monthly; apt-get update inside brings the rest up to date.
if [ -f "$BASE" ] && [ -z "$(find "$BASE" -mtime +30)" ]; then
  say "base root: $BASE ($(date -r "$BASE" +%F))"
else
  step "debootstrap bookworm minbase (cached in $CACHE)" build_base
fi

# The isolated network: own loopback, outbound access through slirp4netns ------------------
net_up() {
  # (Functions run by step are in a `||` context, where set -e does not
  # apply: they check each command themselves.)
  ip netns add "$NS" && ip netns exec "$NS" ip link set lo up || return 1
  slirp4netns --configure --mtu=65520 --disable-host-loopback --netns-type=path \
    "/run/netns/$NS" tap0 >"$WORK/slirp4netns.log" 2>&1 9>&- &
  SLIRP=$!
  local i
  for ((i = 0; i < 100; i++)); do
    ip netns exec "$NS" ip -o -4 addr show dev tap0 2>/dev/null | grep -q inet && return 0
    kill -0 "$SLIRP" 2>/dev/null || break
    sleep 0.1
  done
  cat "$WORK/slirp4netns.log" >&2
  return 1
}
step "network namespace with outbound access" net_up
if ! step "deb.debian.org reachable from it" ip netns exec "$NS" bash -c "(exec 3<>/dev/tcp/deb.debian.org/80) 2>/dev/null"; then
  say "deb.debian.org:80 is not reachable from the namespace: cannot check here"
  exit 77
fi

# A fresh machine -------------------------------------------------------------------
prepare_root() { # name, policy (start|nostart)
  local r=$WORK/$1
  mkdir "$r" || return 1
  # The setup roots (under 1 GB) in memory when there is room: deleting them
  # from a busy disk took longer than the check itself. C's builds need the disk.
  if [ "$1" != C ] && [ "$(awk '/MemAvailable/ { print int($2 / 1048576) }' /proc/meminfo)" -ge 6 ]; then
    mount -t tmpfs -o size=4g,mode=755 ocomms-fresh "$r" || return 1
  fi
  tar --numeric-owner -C "$r" -xf "$BASE" || return 1
  echo "$HOSTNAME_IN" >"$r/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' "$HOSTNAME_IN" >"$r/etc/hosts"
  echo "nameserver 10.0.2.3" >"$r/etc/resolv.conf" # slirp4netns's DNS
  echo "LANG=C.UTF-8" >"$r/etc/default/locale"
  # The host's own certificate authorities (a proxy's, a company's): part of
  # the network this machine is on, needed for https (crates.io) through it.
  if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
    cp /usr/local/share/ca-certificates/*.crt "$r/usr/local/share/ca-certificates/" &&
      chroot "$r" update-ca-certificates >/dev/null 2>&1 || return 1
  fi
  chroot "$r" useradd -m -s /bin/bash dev || return 1
  echo "dev ALL=(ALL:ALL) NOPASSWD: ALL" >"$r/etc/sudoers.d/dev" && chmod 0440 "$r/etc/sudoers.d/dev" || return 1
  case "$2" in
    # Without an init system packages start nothing (invoke-rc.d blocks);
    # allowing it and giving a runlevel makes them start their services on
    # install through their init scripts, as on a machine with an init.
    start)
      printf '#!/bin/sh\nexit 0\n' >"$r/usr/sbin/policy-rc.d" && printf '#!/bin/sh\necho N 2\n' >"$r/usr/sbin/runlevel" &&
        chmod 755 "$r/usr/sbin/policy-rc.d" "$r/usr/sbin/runlevel" || return 1
      ;;
    # Container images forbid it explicitly.
    nostart) printf '#!/bin/sh\nexit 101\n' >"$r/usr/sbin/policy-rc.d" && chmod 755 "$r/usr/sbin/policy-rc.d" || return 1 ;;
  esac
  # The clone: the working tree's files (tracked and new, not ignored).
  mkdir "$r/home/dev/ocomms" || return 1
  git -c safe.directory="$REPO" -C "$REPO" ls-files -co --exclude-standard -z |
    tar -C "$REPO" --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -C "$r/home/dev/ocomms" -xf - || return 1
  [ -f "$r/home/dev/ocomms/scripts/services.sh" ] || { say "could not copy the working tree of $REPO"; return 1; }
  chroot "$r" chown -R dev:dev /home/dev/ocomms || return 1
  mkdir "$r/ocomms-check" && write_inside >"$r/ocomms-check/inside.sh"
}

# Runs inside.sh in root $1 (scenario $2) in fresh PID, mount and UTS
# namespaces within the isolated network; all its processes die with it.
run_session() {
  local r=$WORK/$1 tc=""
  if [ "$2" = C ]; then tc="$TC_RUSTUP:$TC_BIN"; fi
  nice -n 10 ip netns exec "$NS" unshare --pid --fork --kill-child --mount --uts -- bash -c '
    set -e
    r=$1 cache=$2 tc=$3 host=$4
    shift 4
    mount -t proc proc "$r/proc"
    mount -t sysfs -o ro sysfs "$r/sys"
    mount --rbind /dev "$r/dev"
    mount -t tmpfs -o mode=1777 tmpfs "$r/dev/shm"
    mount -t tmpfs -o mode=755 tmpfs "$r/run"
    mkdir -m 1777 "$r/run/lock"
    mount --bind "$cache/apt-archives" "$r/var/cache/apt/archives"
    if [ -n "$tc" ]; then
      mkdir -p "$r/home/dev/.rustup" "$r/home/dev/.cargo/bin"
      mount --bind "${tc%%:*}" "$r/home/dev/.rustup"
      mount -o remount,bind,ro "$r/home/dev/.rustup"
      mount --bind "${tc#*:}" "$r/home/dev/.cargo/bin"
      mount -o remount,bind,ro "$r/home/dev/.cargo/bin"
      chroot "$r" chown dev:dev /home/dev/.cargo
    fi
    echo "$host" >/proc/sys/kernel/hostname
    exec chroot "$r" /usr/bin/env -i HOME=/root TERM=dumb \
      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      FRESH_UP_TIMEOUT="${FRESH_UP_TIMEOUT:-7200}" /bin/bash /ocomms-check/inside.sh "$@"
  ' _ "$r" "$CACHE" "$tc" "$HOSTNAME_IN" "$2" 9>&- &
  SESSION=$!
  local rc=0
  wait "$SESSION" || rc=$?
  SESSION=""
  cat "$r/ocomms-check/timings.tsv" >>"$TIMINGS" 2>/dev/null || true
  return $rc
}

# The script run inside the chroot, as PID 1 of its namespace.
write_inside() {
  cat <<'INSIDE'
#!/bin/bash
set -euo pipefail
SCEN=$1
T=/ocomms-check/timings.tsv
now() { date +%s.%N; }
step() { # label, command...
  local label=$1 t0 rc=0 dt
  shift
  t0=$(now)
  echo "== [$SCEN] $label" >&2
  "$@" || rc=$?
  dt=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
  printf '%s\t%s\t%s\t%s\n' "$SCEN" "$label" "$dt" "$([ $rc = 0 ] && echo ok || echo FAILED)" >>"$T"
  echo "-- [$SCEN] $label: ${dt}s$([ $rc = 0 ] || echo " FAILED (exit $rc)")" >&2
  return $rc
}
# A login-like environment: root's, or the sudo user's (no sbin on PATH).
as_root() { env -i HOME=/root USER=root LOGNAME=root SHELL=/bin/bash TERM=dumb \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin bash -c "cd /home/dev/ocomms && $1"; }
as_dev() { runuser -u dev -- env -i HOME=/home/dev USER=dev LOGNAME=dev SHELL=/bin/bash TERM=dumb \
  LANG=C.UTF-8 PATH=/usr/local/bin:/usr/bin:/bin bash -c "cd ~/ocomms && $1"; }

services() { # who, first|again
  local out=/ocomms-check/services.out
  "as_$1" 'bash scripts/services.sh' 2>&1 | tee "$out" >&2
  [ "${PIPESTATUS[0]}" = 0 ] || return 1
  if [ "$2" = again ] && grep -E 'installing|updating|starting|creating|trusting' "$out" >&2; then
    echo "not idempotent: the second run changed something" >&2
    return 1
  fi
}

verify() {
  local pg hex line
  pg=$(psql -w -h 127.0.0.1 -U postgres -d postgres -Atc "select 1, current_setting('server_encoding')") || return 1
  [ "$pg" = "1|UTF8" ] || { echo "psql answered '$pg', wanted 1|UTF8" >&2; return 1; }
  exec 3<>/dev/tcp/127.0.0.1/6379 || return 1
  printf 'PING\r\n' >&3
  IFS= read -r -t 5 line <&3 || true
  exec 3>&-
  [ "$line" = $'+PONG\r' ] || { echo "redis answered '$line'" >&2; return 1; }
  # AMQP 0-9-1 protocol header; the server answers with Connection.Start.
  exec 3<>/dev/tcp/127.0.0.1/5672 || return 1
  printf 'AMQP\x00\x00\x09\x01' >&3
  hex=$(timeout 10 head -c 11 <&3 | od -An -tx1 | tr -s ' \n' ' ')
  exec 3>&-
  case "$hex" in
    " 01 00 00 "*" 00 0a 00 0a ") ;;
    *) echo "no AMQP Connection.Start on 5672 (got '$hex')" >&2; return 1 ;;
  esac
  echo "postgresql: select 1 ok (UTF8); redis: PONG; rabbitmq: AMQP Connection.Start" >&2
}

daemons() {
  local f c
  for f in /proc/[0-9]*/comm; do
    IFS= read -r c 2>/dev/null <"$f" || continue
    case "$c" in postgres | redis-server | beam.smp | epmd | erl_child_setup | inet_gethost | heart) echo "$c" ;; esac
  done
}
stop_all() { # as after a reboot without init: nothing running
  local i
  kill -TERM -1 2>/dev/null || true
  for ((i = 0; i < 300; i++)); do [ -z "$(daemons)" ] && break; sleep 0.1; done
  if [ -n "$(daemons)" ]; then kill -KILL -1 2>/dev/null || true; sleep 1; fi
  for p in 5432 6379 5672; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "port $p still open" >&2; return 1; fi
  done
}

http_ok() { # path on 127.0.0.1:3000 answers 200
  local line
  exec 3<>/dev/tcp/127.0.0.1/3000 || return 1
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$1" >&3
  IFS= read -r -t 10 line <&3 || true
  exec 3>&-
  [[ "$line" == "HTTP/1."?" 200"* ]]
}
up_until_healthy() {
  local up deadline=$((SECONDS + FRESH_UP_TIMEOUT))
  setsid bash -c 'exec runuser -u dev -- env -i HOME=/home/dev USER=dev LOGNAME=dev SHELL=/bin/bash TERM=dumb LANG=C.UTF-8 PATH=/usr/local/bin:/usr/bin:/bin bash -c "cd ~/ocomms && exec bash scripts/up.sh"' \
    >/ocomms-check/up.log 2>&1 </dev/null &
  up=$!
  while ! http_ok /api/health 2>/dev/null; do
    if ! kill -0 "$up" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
      tail -n 40 /ocomms-check/up.log >&2
      kill -TERM -- "-$up" 2>/dev/null || true
      return 1
    fi
    sleep 5
  done
  grep -A 12 'OComms is up' /ocomms-check/up.log >&2 || tail -n 20 /ocomms-check/up.log >&2
  kill -TERM -- "-$up" 2>/dev/null || true
  for ((i = 0; i < 300; i++)); do kill -0 "$up" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$up" 2>/dev/null || true
}
tests() {
  as_dev 'bash scripts/test.sh' >/ocomms-check/test.log 2>&1 || {
    grep -E '^test result|FAILED|panicked|^error' /ocomms-check/test.log | tail -n 40 >&2
    tail -n 40 /ocomms-check/test.log >&2
    return 1
  }
  grep -E '^test result' /ocomms-check/test.log | awk '{ p += $4; f += $6; i += $8 } END { printf "tests: %d passed, %d failed, %d ignored\n", p, f, i }' >&2
}

case "$SCEN" in
  A)
    step "root: services.sh from nothing (packages start services)" services root first
    step "verify" verify
    step "root: services.sh again" services root again
    step "verify" verify
    step "stop every service" stop_all
    step "sudo user: services.sh, services installed but stopped" services dev first
    step "verify" verify
    step "sudo user: services.sh again" services dev again
    step "verify" verify
    ;;
  B)
    step "sudo user: services.sh from nothing (policy-rc.d: no service started)" services dev first
    step "verify" verify
    step "sudo user: services.sh again" services dev again
    step "verify" verify
    ;;
  C)
    step "sudo user: cargo --version (host toolchain)" as_dev 'cargo --version 2>/dev/null || ~/.cargo/bin/cargo --version'
    step "sudo user: bash scripts/up.sh from nothing, until /api/health is 200" up_until_healthy
    step "sudo user: bash scripts/test.sh" tests
    ;;
esac
INSIDE
}

scenario() { # root name, policy, description
  local rc=0
  step "fresh root $1 ($3)" prepare_root "$1" "$2" || return 1
  run_session "$1" "$1" || rc=1
  remove_root() { if mountpoint -q "$1"; then umount "$1" || umount -l "$1"; fi; rm -rf --one-file-system "$1"; }
  step "remove root $1" remove_root "${WORK:?}/$1"
  return $rc
}

status=0
scenario A start "root, then a sudo user; packages start services" || status=1
if [ $status = 0 ]; then scenario B nostart "a sudo user; policy-rc.d" || status=1; fi
if [ $status = 0 ] && [ $FULL = 1 ]; then scenario C nostart "a sudo user; host Rust toolchain; README commands" || status=1; fi
total=$(secs "$T0")

{
  echo "fresh-machine check $([ $FULL = 1 ] && echo --full || echo setup): $([ $status = 0 ] && echo PASSED || echo FAILED)"
  echo "date: $(date)"
  echo "host: $(uname -n), $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)"
  echo "scripts: $(git -c safe.directory="$REPO" -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)"
  echo
  printf '%-6s %-78s %8s  %s\n' where step seconds result
  awk -F'\t' '{ printf "%-6s %-78s %8s  %s\n", $1, $2, $3, $4 }' "$TIMINGS"
  printf '%-6s %-78s %8s\n' total "" "$total"
} | tee "$CACHE/last-result.txt" >&2
exit $status
