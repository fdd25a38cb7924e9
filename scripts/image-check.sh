#!/usr/bin/env bash
# Builds the container image the Dockerfile describes, as far as this
# machine allows, runs it with podman and checks that it serves.
#
# No container registry is reachable here, so the Dockerfile's base images
# (rust, node, distroless) cannot be pulled. Instead: an image FROM scratch
# holding what the Dockerfile's runtime stage holds (the `ocomms` binary,
# the libraries it links, CA certificates, the built web client) with the
# runtime stage's own settings (ENV, WORKDIR, USER, EXPOSE, STOPSIGNAL,
# ENTRYPOINT, CMD) copied from the Dockerfile, so they cannot drift. Then:
#   podman run (read-only root filesystem, non-root, host network), the
#   stack answers /api/health, serves the web client, takes a sign-up; and
#   `podman stop` (SIGTERM) ends it with exit code 0.
#
#   bash scripts/image-check.sh [path/to/ocomms]   (default: the e2e build's
#                                                   ocomms-node, which is ocomms)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$ROOT/scripts/env.sh"
BIN="${1:-${CARGO_TARGET_DIR:-/var/tmp/ocomms-target}/debug/ocomms-node}"
say() { echo "image-check: $*"; }
[ -x "$BIN" ] || { say "no binary at $BIN (cargo build -p ocomms-e2e --bins, or pass a path)"; exit 1; }
[ -f "$ROOT/web/dist/index.html" ] || { say "web/dist is missing (scripts/web.sh build_web)"; exit 1; }

if ! command -v podman > /dev/null || ! command -v runc > /dev/null; then
  say "installing podman, buildah and runc (Debian)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q > /dev/null
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q podman buildah runc > /dev/null
fi

WORK="$(mktemp -d /tmp/ocomms-image.XXXXXX)"
NAME="ocomms-image-check-$$"
TAG="localhost/ocomms:check-$$"
DB="ocomms_image_$$"
cleanup() {
  podman rm -f "$NAME" > /dev/null 2>&1 || true
  podman rmi -f "$TAG" > /dev/null 2>&1 || true
  for s in auth messaging presence files scheduler notify; do
    psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS ${DB}_$s" > /dev/null 2>&1 || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- the image's contents --------------------------------------------------
R="$WORK/rootfs"
mkdir -p "$R/usr/local/bin" "$R/app/web" "$R/etc/ssl/certs" "$R/data" "$R/tmp"
cp "$BIN" "$R/usr/local/bin/ocomms"
ldd "$BIN" | awk '/=> \// {print $3} /^\s*\/.*ld-linux/ {print $1}' | while read -r lib; do
  mkdir -p "$R$(dirname "$lib")"
  cp -L "$lib" "$R$lib"
done
cp /etc/ssl/certs/ca-certificates.crt "$R/etc/ssl/certs/"
cp -r "$ROOT/web/dist/." "$R/app/web/"

# The runtime stage's settings, taken from the Dockerfile itself.
python3 - "$ROOT/Dockerfile" > "$WORK/Containerfile" <<'EOF'
import sys
lines = open(sys.argv[1]).read().replace("\\\n", " ").splitlines()
start = next(i for i, l in enumerate(lines) if l.startswith("FROM ") and " AS runtime" in l)
keep = ("ENV ", "WORKDIR ", "USER ", "EXPOSE ", "STOPSIGNAL ", "ENTRYPOINT ", "CMD ")
print("FROM scratch")
print("COPY rootfs/ /")
for l in lines[start + 1:]:
    if l.startswith("FROM "):
        break
    if l.startswith(keep):
        print(" ".join(l.split()))
EOF
say "Containerfile (runtime stage of the Dockerfile, FROM scratch):"
sed 's/^/  /' "$WORK/Containerfile"

printf '[containers]\ndefault_ulimits = []\n' > "$WORK/containers.conf"
export CONTAINERS_CONF="$WORK/containers.conf"
P=(podman --runtime runc --cgroup-manager cgroupfs)
"${P[@]}" build -q -t "$TAG" "$WORK" > /dev/null
size=$(podman image inspect "$TAG" --format '{{.Size}}')
say "built $TAG ($((size / 1024 / 1024)) MB, debug binary)"

# --- run it ----------------------------------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
GW=$(free_port)
envs=(-e "GATEWAY_ADDR=127.0.0.1:$GW" -e "DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB" -e "RUST_LOG=warn")
for s in AUTH MESSAGING PRESENCE FILES SCHEDULER NOTIFY; do
  envs+=(-e "${s}_GRPC_ADDR=127.0.0.1:$(free_port)")
done
# /data is a volume (a PersistentVolume or emptyDir under Kubernetes).
mkdir -m 0777 "$WORK/data"
"${P[@]}" run -d --name "$NAME" --network host --read-only -v "$WORK/data:/data" --tmpfs /tmp:rw,mode=1777 \
  "${envs[@]}" "$TAG" > /dev/null
user=$(podman inspect "$NAME" --format '{{.Config.User}}')
say "running as user $user, read-only root filesystem"
[ "$user" != "" ] && [ "$user" != "root" ] && [ "$user" != "0" ] || { say "FAIL: the image runs as root"; exit 1; }

for _ in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$GW/api/health" > "$WORK/health.json" 2> /dev/null; then break; fi
  if [ "$(podman inspect "$NAME" --format '{{.State.Running}}')" != "true" ]; then
    say "FAIL: the container stopped:"; podman logs "$NAME" 2>&1 | tail -20; exit 1
  fi
  sleep 0.5
done
grep -q '"status":"ok"' "$WORK/health.json" || { say "FAIL: not healthy: $(cat "$WORK/health.json" 2>/dev/null)"; podman logs "$NAME" 2>&1 | tail -20; exit 1; }
say "healthy: $(cat "$WORK/health.json")"
curl -fsS "http://127.0.0.1:$GW/" | grep -q '<div id="app"' || { say "FAIL: the web client is not served"; exit 1; }
code=$(curl -s -o "$WORK/signup.json" -w '%{http_code}' -H 'content-type: application/json' \
  -d '{"email":"image@example.com","password":"correct horse battery","name":"Image"}' \
  "http://127.0.0.1:$GW/api/auth/sign-up/email")
[ "$code" = 200 ] || { say "FAIL: sign-up answered $code: $(cat "$WORK/signup.json")"; exit 1; }
say "serves the web client and signs up a user"

podman stop -t 30 "$NAME" > /dev/null
exit_code=$(podman inspect "$NAME" --format '{{.State.ExitCode}}')
[ "$exit_code" = 0 ] || { say "FAIL: stopped with exit code $exit_code"; podman logs "$NAME" 2>&1 | tail -20; exit 1; }
say "OK: stopped by SIGTERM with exit code 0"
