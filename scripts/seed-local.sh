#!/usr/bin/env bash
# Prepares a local edge state folder: applies the D1 migrations and loads the compiled rule bundle
# into KV, exactly as an operator would remotely. Used by `make dev` and by the tests (each test
# run passes its own fresh folder).
#   scripts/seed-local.sh STATE_DIR [BUNDLE_JSON]
set -euo pipefail
cd "$(dirname "$0")/.."
state=${1:?usage: seed-local.sh STATE_DIR [BUNDLE_JSON]}
bundle=${2:-.build/bundle.json}
wrangler=node_modules/.bin/wrangler
export WRANGLER_SEND_METRICS=false

# CI=true answers wrangler's "ok to proceed?" so this also runs without a terminal.
CI=true "$wrangler" d1 migrations apply handoff --local --persist-to "$state" >/dev/null
version=$(node -e 'process.stdout.write(require(require("path").resolve(process.argv[1])).version)' "$bundle")
for key in "bundle/$version" bundle/active; do
  "$wrangler" kv key put --local --persist-to "$state" --binding CONFIG "$key" --path "$bundle" >/dev/null
done
echo "seeded $state with the migrations and bundle $version"
