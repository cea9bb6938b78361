#!/usr/bin/env bash
# Builds the browser form module: handoff-form for wasm32, wasm-bindgen's ES module glue, and
# wasm-opt -Oz, into www/form/ (served by the Worker as static assets). The glue is minified with
# the esbuild that comes with wrangler (pinned in package-lock.json): the browser downloads it too.
# wasm-opt runs -Oz until nothing changes (--converge) and drops the custom sections no browser
# reads (debug names, producers, target features): see docs/BENCHMARKS.md for what each saved.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet -p handoff-form --target wasm32-unknown-unknown --release
# Built aside and moved into www/form/ only when every step has succeeded: a step that fails (a
# missing wasm-opt) must not leave a newer, unoptimized module there, which make would then take
# for up to date.
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
wasm-bindgen --target web --no-typescript --out-dir "$out" --out-name handoff_form \
  "${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/release/handoff_form.wasm"
node_modules/binaryen/bin/wasm-opt -Oz --converge --strip-debug --strip-producers --strip-target-features \
  "$out/handoff_form_bg.wasm" -o "$out/handoff_form_bg.wasm"
node_modules/.bin/esbuild "$out/handoff_form.js" --minify --format=esm --log-level=warning \
  --outfile="$out/handoff_form.js" --allow-overwrite
mkdir -p www/form
mv "$out/handoff_form_bg.wasm" "$out/handoff_form.js" www/form/
