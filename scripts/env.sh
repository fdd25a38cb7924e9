# shellcheck shell=bash
# Build settings shared by the scripts (sourced). Checks that cargo is there
# and sets the target directory outside the clone (so CI reuses builds);
# use_mold, called after scripts/services.sh (which installs mold when the
# distribution has it), links with mold.
# rustup puts cargo in ~/.cargo/bin, which non-login shells may not have.
if ! command -v cargo >/dev/null && [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]; then
  export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi
if ! command -v cargo >/dev/null; then
  if [ "$(id -u)" = 0 ] && [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
    echo "cargo is not on root's PATH: run this as $SUDO_USER, without sudo (the scripts use sudo themselves to install and start services)" >&2
  else
    echo "cargo not found: install a Rust toolchain (https://rustup.rs), then open a new shell" >&2
  fi
  exit 1
fi
if [ -z "${CARGO_TARGET_DIR:-}" ]; then
  CARGO_TARGET_DIR=/var/tmp/ocomms-target
  # Another user's builds there: keep ours apart.
  if [ -e "$CARGO_TARGET_DIR" ] && [ ! -w "$CARGO_TARGET_DIR" ]; then CARGO_TARGET_DIR="$CARGO_TARGET_DIR-$(id -un)"; fi
fi
export CARGO_TARGET_DIR
use_mold() {
  if [ -z "${RUSTFLAGS:-}" ] && command -v mold >/dev/null; then export RUSTFLAGS="-C link-arg=-fuse-ld=mold"; fi
}
# Incremental compilation has hit compiler crashes (ICE, unstable
# fingerprints) on this code base with rustc 1.95; CI builds without it.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
