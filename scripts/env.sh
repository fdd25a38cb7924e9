# Build settings shared by the scripts: the target directory outside the
# clone (so CI reuses builds), and the mold linker when installed.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/ocomms-target}"
if [ -z "${RUSTFLAGS:-}" ]; then
  if ! command -v mold >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    (apt-get install -y -qq mold >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq mold >/dev/null 2>&1; }) || true
  fi
  if command -v mold >/dev/null; then export RUSTFLAGS="-C link-arg=-fuse-ld=mold"; fi
fi
# Incremental compilation has hit compiler crashes (ICE, unstable
# fingerprints) on this code base with rustc 1.95; CI builds without it.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
