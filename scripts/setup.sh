#!/usr/bin/env bash
# Installs what Handoff's build and tests need, at pinned versions, skipping whatever is already
# there. Safe to run again and again: a warm machine passes through in about a second.
#   scripts/setup.sh            toolchain and npm packages (enough for `make dev`)
#   scripts/setup.sh --browser  also Debian's chromium and chromium-driver, and schemathesis in a
#                               virtualenv of its own (for `make test`)
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=0.2.130   # must equal the wasm-bindgen pin in Cargo.toml
WORKER_BUILD_VERSION=0.8.7
SCHEMATHESIS_VERSION=4.32.5    # the API contract's fuzzer (tests/contract.test.mjs)

say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
for component in clippy rustfmt; do
  if ! rustup component list --installed | grep -q "^$component"; then
    say "adding $component"
    rustup component add "$component"
  fi
done

installed() { cargo install --list | grep -qx "$1 v$2:"; }
if ! installed wasm-bindgen-cli "$WASM_BINDGEN_VERSION"; then
  # Not --locked: its lock file pins a dependency the registry no longer resolves.
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 10 minutes, once)"
  cargo install --force wasm-bindgen-cli --version "=$WASM_BINDGEN_VERSION"
fi
if ! installed worker-build "$WORKER_BUILD_VERSION"; then
  say "installing worker-build $WORKER_BUILD_VERSION (about 10 minutes, once)"
  cargo install --force worker-build --version "=$WORKER_BUILD_VERSION" --locked
fi

# npm ci only when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages from package-lock.json"
  npm ci --no-audit --no-fund --loglevel=error
  touch node_modules/.package-lock.json
fi

if [ "${1:-}" = "--browser" ]; then
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    say "installing Debian's chromium and chromium-driver"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium chromium-driver >/dev/null
  fi
  # schemathesis, pinned, in a virtualenv per version outside the checkout, so that every clone on
  # this machine shares it (tests/contract.test.mjs runs it from there).
  st_home="${XDG_CACHE_HOME:-$HOME/.cache}/handoff/schemathesis-$SCHEMATHESIS_VERSION"
  if [ ! -x "$st_home/bin/st" ] || ! "$st_home/bin/python" -c "import schemathesis, sys; sys.exit(schemathesis.__version__ != '$SCHEMATHESIS_VERSION')" 2>/dev/null; then
    if ! python3 -c "import venv, ensurepip" 2>/dev/null; then
      say "installing Debian's python3-venv"
      as_root apt-get update -qq
      DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq python3-venv >/dev/null
    fi
    say "installing schemathesis $SCHEMATHESIS_VERSION (once)"
    rm -rf "$st_home"
    python3 -m venv "$st_home"
    "$st_home/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
  fi
fi
