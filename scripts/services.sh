#!/usr/bin/env bash
# Makes sure PostgreSQL, Redis and RabbitMQ run on 127.0.0.1, installing the
# Debian packages when missing. Idempotent: does nothing when all are up.
set -euo pipefail

log() { echo "services: $*" >&2; }
apt_updated=0
need_pkg() {
  if [ "$apt_updated" = 0 ]; then apt-get update -qq >/dev/null; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
SUDO_PG=""
if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1; then SUDO_PG="runuser -u postgres --"; fi

# PostgreSQL
if ! port_open 5432; then
  if ! command -v pg_ctlcluster >/dev/null; then log "installing postgresql"; need_pkg postgresql; fi
  ver=$(ls /etc/postgresql | sort -n | tail -1)
  log "starting postgresql $ver"
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start || pg_ctlcluster "$ver" main start
  for _ in $(seq 1 50); do port_open 5432 && break; sleep 0.2; done
fi
if ! psql -h 127.0.0.1 -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
  # A fresh Debian cluster asks for passwords on TCP: trust loopback, as on
  # our development machines.
  hba=$($SUDO_PG psql -Atqc 'show hba_file')
  log "trusting loopback connections in $hba"
  sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  $SUDO_PG psql -qc 'select pg_reload_conf()' >/dev/null
fi

# Redis
if ! port_open 6379; then
  if ! command -v redis-server >/dev/null; then log "installing redis"; need_pkg redis-server; fi
  log "starting redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 50); do port_open 6379 && break; sleep 0.1; done
fi

# RabbitMQ
if ! port_open 5672; then
  if ! command -v rabbitmq-server >/dev/null; then log "installing rabbitmq"; need_pkg rabbitmq-server; fi
  log "starting rabbitmq"
  rabbitmq-server -detached || true
  rabbitmqctl await_startup >/dev/null 2>&1 || true
  for _ in $(seq 1 150); do port_open 5672 && break; sleep 0.2; done
fi

for p in 5432 6379 5672; do port_open "$p" || { log "port $p is still closed"; exit 1; }; done
log "postgresql, redis and rabbitmq are up"
