#!/usr/bin/env bash
# Makes sure this machine has what the README's commands need: PostgreSQL,
# Redis and RabbitMQ answering on 127.0.0.1 (5432, 6379, 5672, PostgreSQL
# trusting user postgres there), the psql client, a C compiler for the build
# (cc), python3 when the web client's Node.js must be fetched, and, when
# the distribution has it, the mold linker. Missing Debian or
# Ubuntu packages are installed and stopped services started, with sudo when
# not run as root. Idempotent: when everything is there and up it only checks,
# in a fraction of a second.
set -euo pipefail

log() { echo "services: $*" >&2; }
die() { log "error: $*"; exit 1; }
# The daemons and pg_* tools live in sbin, not on an ordinary user's PATH.
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
have() { command -v "$1" >/dev/null 2>&1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # port, tenths of a second
  local i
  for ((i = 0; i < $2; i++)); do port_open "$1" && return 0; sleep 0.1; done
  port_open "$1"
}
with_systemd() { [ -d /run/systemd/system ]; }

if [ "$(id -u)" = 0 ]; then
  SUDO=()
  as_user() { local u=$1; shift; (cd / && runuser -u "$u" -- "$@"); }
else
  SUDO=(sudo)
  as_user() { local u=$1; shift; (cd / && sudo -u "$u" -- "$@"); }
fi
need_root() {
  if [ "$(id -u)" != 0 ] && ! have sudo; then
    die "$1 needs root: run this as root, or install sudo and give $(id -un) sudo rights"
  fi
}

# Packages --------------------------------------------------------------------
pg_servers() { { ls -d /usr/lib/postgresql/*/bin/postgres 2>/dev/null || true; } | sed 's|/usr/lib/postgresql/||; s|/bin/postgres||' | sort -V; }
pg_cluster() { # version and name of the local cluster on port 5432 (with status $1)
  { pg_lsclusters -h 2>/dev/null || true; } | awk -v s="${1:-}" '$3 == 5432 && (s == "" || $4 == s) { print $1, $2; exit }'
}
pkgs=()
installed=0 # then give services the packages start a moment to open their port
port_open 5432 || { have pg_lsclusters && [ -n "$(pg_servers)" ]; } || pkgs+=(postgresql)
have psql || pkgs+=(postgresql-client)
port_open 6379 || have redis-server || pkgs+=(redis-server)
port_open 5672 || have rabbitmq-server || pkgs+=(rabbitmq-server)
have cc || pkgs+=(gcc libc6-dev)
# The web client's build needs Node.js >= 20.19; without it scripts/web.sh
# fetches one with python3 (Debian 12's own nodejs is 18).
node_new_enough() { have node && node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a===20&&b>=19)?0:1)' 2>/dev/null; }
if ! node_new_enough; then
  have python3 || pkgs+=(python3)
  [ -f /etc/ssl/certs/ca-certificates.crt ] || pkgs+=(ca-certificates)
fi
# mold alone: only as root (a user's sudo may ask for a password every run).
mold_only=0
if [ ${#pkgs[@]} = 0 ] && [ "$(id -u)" = 0 ] && ! have mold && have apt-cache && apt-cache show mold >/dev/null 2>&1; then
  mold_only=1
fi
if [ ${#pkgs[@]} -gt 0 ] || [ "$mold_only" = 1 ]; then
  have apt-get || die "missing: ${pkgs[*]}; without apt-get, install them by hand"
  need_root "installing ${pkgs[*]:-mold}"
  # Waits for a running apt (unattended-upgrades on a fresh machine) instead
  # of failing on its lock; keeps existing configuration files.
  apt=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a
    apt-get -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef
    -o Dpkg::Options::=--force-confold -y -qq)
  log "updating the package lists"
  if [ ${#pkgs[@]} -gt 0 ]; then
    "${apt[@]}" update >/dev/null
    log "installing ${pkgs[*]}"
    "${apt[@]}" install --no-install-recommends "${pkgs[@]}" >/dev/null
    installed=20
  else
    "${apt[@]}" update >/dev/null || true
  fi
  # mold is optional (faster linking): never fail for it.
  if ! have mold && apt-cache show mold >/dev/null 2>&1; then
    log "installing mold"
    "${apt[@]}" install --no-install-recommends mold >/dev/null || log "mold not installed; linking with cc"
  fi
fi

# PostgreSQL --------------------------------------------------------------------
if ! wait_port 5432 $installed; then
  cluster=$(pg_cluster)
  if [ -z "$cluster" ]; then
    ver=$(pg_servers | tail -1)
    [ -n "$ver" ] || die "no PostgreSQL server installed"
    name=main
    if [ -d "/etc/postgresql/$ver/main" ]; then name=ocomms; fi
    need_root "creating a PostgreSQL cluster"
    log "creating PostgreSQL cluster $ver/$name on port 5432"
    "${SUDO[@]}" pg_createcluster -p 5432 "$ver" "$name" >/dev/null
    cluster="$ver $name"
  fi
  read -r ver name <<<"$cluster"
  need_root "starting PostgreSQL"
  log "starting postgresql $ver/$name"
  # pg_ctlcluster hands over to systemd when it runs, and runs the server as
  # the cluster's owner.
  "${SUDO[@]}" pg_ctlcluster "$ver" "$name" start ||
    "${SUDO[@]}" pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start ||
    die "postgresql $ver/$name did not start (see /var/log/postgresql/postgresql-$ver-$name.log)"
  wait_port 5432 100 || die "postgresql $ver/$name started but 127.0.0.1:5432 stays closed"
fi
pg_err=""
pg_ok() {
  local i
  for ((i = 0; i < 50; i++)); do
    pg_err=$(psql -w -h 127.0.0.1 -p 5432 -U postgres -d postgres -Atqc 'select 1' 2>&1 >/dev/null) && return 0
    case "$pg_err" in
      *"starting up"* | *"shutting down"* | *"Connection refused"*) sleep 0.2 ;;
      *) return 1 ;;
    esac
  done
  return 1
}
if ! pg_ok; then
  # A fresh Debian cluster asks for passwords on TCP: trust loopback, as on
  # our development machines.
  cluster=$(pg_cluster online)
  [ -n "$cluster" ] || die "PostgreSQL on 127.0.0.1:5432 refuses user postgres ($pg_err) and is not a local cluster this script can configure"
  need_root "configuring PostgreSQL"
  hba=$(as_user postgres psql -p 5432 -d postgres -Atqc 'show hba_file')
  marker="# OComms (scripts/services.sh): trust loopback connections"
  if "${SUDO[@]}" grep -qF "$marker" "$hba"; then
    die "PostgreSQL refuses user postgres ($pg_err) although $hba trusts loopback"
  fi
  log "trusting loopback connections in $hba"
  # Only the postgres user, only over loopback: other roles keep their rules.
  as_user postgres sed -i "1i $marker\nhost all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust" "$hba"
  as_user postgres psql -p 5432 -d postgres -qc 'select pg_reload_conf()' >/dev/null
  pg_ok || die "PostgreSQL still refuses user postgres: $pg_err"
fi

# Redis -------------------------------------------------------------------------
if ! wait_port 6379 $installed; then
  log "starting redis"
  if with_systemd; then
    need_root "starting Redis"
    "${SUDO[@]}" systemctl start redis-server
  else
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  fi
  wait_port 6379 100 || die "redis started but 127.0.0.1:6379 stays closed"
fi

# RabbitMQ ------------------------------------------------------------------------
if ! wait_port 5672 $installed; then
  need_root "starting RabbitMQ"
  # The node is named rabbit@<host name>: a host name that does not resolve
  # (some containers and fresh VMs) stops it, so use localhost there.
  host=$(uname -n)
  if ! getent hosts "${host%%.*}" >/dev/null && ! grep -qs '^ *NODENAME=' /etc/rabbitmq/rabbitmq-env.conf; then
    log "host name ${host%%.*} does not resolve: naming the RabbitMQ node rabbit@localhost"
    echo 'NODENAME=rabbit@localhost' | "${SUDO[@]}" tee -a /etc/rabbitmq/rabbitmq-env.conf >/dev/null
  fi
  log "starting rabbitmq"
  if with_systemd; then
    "${SUDO[@]}" systemctl start rabbitmq-server || true
  else
    # Fails harmlessly when a node is already booting (started by the package).
    "${SUDO[@]}" rabbitmq-server -detached >/dev/null 2>&1 || true
  fi
  "${SUDO[@]}" rabbitmqctl -q await_startup >/dev/null 2>&1 || true
  if ! wait_port 5672 300; then
    "${SUDO[@]}" sh -c 'tail -n 20 /var/log/rabbitmq/*.log' >&2 || true
    die "rabbitmq did not open 127.0.0.1:5672"
  fi
fi

for p in 5432 6379 5672; do port_open "$p" || die "port $p is still closed"; done
log "postgresql, redis and rabbitmq are up"
